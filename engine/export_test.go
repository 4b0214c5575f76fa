package engine

// Fetch and Render, for the tests of package engine_test.
var (
	Fetch  = fetch
	Render = render
)

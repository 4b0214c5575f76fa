package inject

import (
	"maps"
	"slices"
	"testing"

	"github.com/ecs-secret-injector/injector/plan"
)

// Every format the planner accepts has a renderer, and no renderer is for a
// format the planner refuses.
func TestRenderersMatchFormats(t *testing.T) {
	got := slices.Sorted(maps.Keys(renderers))
	if want := plan.Formats(); !slices.Equal(got, want) {
		t.Fatalf("renderers %v, planner formats %v", got, want)
	}
}

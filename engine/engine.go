// Package engine runs a plan: once (one-shot mode, Once), or first and
// then whenever a value changes (refresh mode, Refresher), and describes
// what a run would call without calling (Describe, for `injector
// validate` and `injector policy`).
//
// Every generation takes the same path: fetch what the plan needs in two
// rounds (first every value that needs no SSE-C key, the keys among them,
// then the S3 objects read with one), render every file, and write them as
// one generation while the writer's preparation, which needs no value,
// runs during the fetch. The data flows one way:
// plan -> fetch -> render -> write -> report.
package engine

import (
	"context"
	"errors"

	"github.com/ecs-secret-injector/injector/sources"
)

// ErrRender is wrapped by every error turning values into file content.
var ErrRender = errors.New("render failed")

// Fetcher fetches values; *sources.Fetcher is one.
type Fetcher interface {
	Fetch(ctx context.Context, reqs []sources.Request) (sources.Values, error)
}

// Source fetches values and checks their versions (refresh mode);
// *sources.Fetcher is one.
type Source interface {
	Fetcher
	Versions(ctx context.Context, reqs []sources.Request) (sources.Versions, error)
}

package engine

import (
	"context"
	"errors"

	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/sources"
	"github.com/ecs-secret-injector/injector/writer"
)

// root is where generations go: the output root and the files' mode
// and owner.
type root struct {
	dir  string
	opts writer.Options
}

// publish makes one generation of p's files and writes it under the root,
// the first one and every later one alike: get returns the values (it
// fetches them), every file is rendered from them and all are written as
// one generation (writer.Begin and Commit). The writer's preparation (the
// root's lock, what killed runs left, the new generation's directory and
// the directories of the files whose paths the plan fixes) needs no value,
// so it runs while get fetches. When same reports the rendered files equal
// to those readers already see (same may be nil), the preparation is undone
// and nothing is written: written is false. p must have no in-place output
// (Once writes that one). On error what readers see is unchanged; the error
// wraps sources.ErrFetch, ErrRender or writer.ErrWrite.
func (t root) publish(ctx context.Context, p plan.Plan, get func(context.Context) (sources.Values, error),
	same func([]writer.File) bool) (values sources.Values, files []writer.File, written bool, err error) {
	bctx, stopBegin := context.WithCancel(ctx)
	defer stopBegin()
	type begun struct {
		x   *writer.Txn
		err error
	}
	ready := make(chan begun, 1)
	go func() {
		x, err := writer.Begin(bctx, t.dir, t.opts, fixedPaths(p)...)
		ready <- begun{x, err}
	}()
	// undo stops a Begin still waiting for the lock, and undoes one that
	// is done.
	undo := func() error {
		stopBegin()
		if b := <-ready; b.err == nil {
			return b.x.Abort()
		}
		return nil
	}
	values, err = get(ctx)
	if err == nil {
		files, err = render(ctx, p, values)
	}
	if err != nil {
		return nil, nil, false, errors.Join(err, undo())
	}
	if same != nil && same(files) {
		// Nothing to write: what the preparation did, or failed to do, is
		// of no account.
		_ = undo()
		return values, files, false, nil
	}
	b := <-ready
	if b.err != nil {
		return nil, nil, false, b.err
	}
	if err := b.x.Commit(ctx, files); err != nil {
		return nil, nil, false, err
	}
	return values, files, true, nil
}

// fixedPaths returns the paths of the files p writes whatever the values
// are: those of its single-file outputs (a directory output's files depend
// on the value).
func fixedPaths(p plan.Plan) []string {
	var paths []string
	for _, o := range p.Outputs {
		if !o.Format.Dir() {
			paths = append(paths, o.Path)
		}
	}
	return paths
}

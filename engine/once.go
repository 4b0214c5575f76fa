package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/sources"
	"github.com/ecs-secret-injector/injector/writer"
)

// Report says what a run wrote.
type Report struct {
	Fetched int      // values fetched
	Files   []string // paths written, relative to the output root
}

// Once carries out p under dir (one-shot mode): as one generation of
// files, or, for an in-place output (ecs-config), by replacing that one
// file (writer.Update, which reads the file to merge into while it holds
// its directory). On error what readers see under dir is unchanged; the
// error wraps sources.ErrFetch, ErrRender or writer.ErrWrite.
func Once(ctx context.Context, p plan.Plan, f Fetcher, dir string, opts writer.Options, log *slog.Logger) (Report, error) {
	if out, ok := inPlace(p); ok {
		return update(ctx, p, out, f, dir, opts, log)
	}
	values, files, err := first(ctx, p, f, root{dir, opts}, log)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Fetched: len(values)}
	for _, f := range files {
		rep.Files = append(rep.Files, f.Path)
	}
	return rep, nil
}

// first publishes the first generation of p: every value fetched, every
// file written, each one logged.
func first(ctx context.Context, p plan.Plan, f Fetcher, t root, log *slog.Logger) (sources.Values, []writer.File, error) {
	values, files, _, err := t.publish(ctx, p, func(ctx context.Context) (sources.Values, error) {
		return fetchAll(ctx, p, f, log)
	}, nil)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range files {
		log.Info("wrote", "path", f.Path, "bytes", len(f.Data))
	}
	return values, files, nil
}

// update replaces the in-place output out of p under dir.
func update(ctx context.Context, p plan.Plan, out plan.Output, f Fetcher, dir string, opts writer.Options, log *slog.Logger) (Report, error) {
	values, err := fetchAll(ctx, p, f, log)
	if err != nil {
		return Report{}, err
	}
	err = writer.Update(ctx, dir, out.Path, maxFileBytes(p), opts.With(out.Perm), func(existing []byte) ([]byte, error) {
		files, err := renderOutput(ctx, out, newSelector(values), existing, maxFileBytes(p))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrRender, out.Path, err)
		}
		return files[0].Data, nil
	})
	if errors.Is(err, writer.ErrTooLarge) {
		return Report{}, fmt.Errorf("%w: %w (INJECTOR_MAX_VALUE_BYTES)", ErrRender, err)
	}
	if err != nil {
		return Report{}, err
	}
	log.Info("wrote", "path", out.Path, "layout", "in place")
	return Report{Fetched: len(values), Files: []string{out.Path}}, nil
}

// fetchAll fetches every value p needs.
func fetchAll(ctx context.Context, p plan.Plan, f Fetcher, log *slog.Logger) (sources.Values, error) {
	values, err := fetch(ctx, p.Fetches, f, nil)
	if err != nil {
		return nil, err
	}
	log.Debug("fetched", "values", len(values))
	return values, nil
}

// inPlace returns p's output if it is an in-place one (ecs-config), which
// the plan allows only alone.
func inPlace(p plan.Plan) (plan.Output, bool) {
	if len(p.Outputs) == 1 && p.Outputs[0].Format.InPlace() {
		return p.Outputs[0], true
	}
	return plan.Output{}, false
}

// Package inject runs one injection: it fetches what a plan needs, renders
// the files and writes them all at once. The data flows one way:
// plan -> fetch -> render -> write -> report.
package inject

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"

	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/sources"
	"github.com/ecs-secret-injector/injector/writer"
)

// ErrRender is wrapped by every error turning values into file content.
var ErrRender = errors.New("render failed")

// Fetcher fetches values; *sources.Fetcher is one.
type Fetcher interface {
	Fetch(ctx context.Context, reqs []sources.Request) (sources.Values, error)
}

// Report says what an injection wrote.
type Report struct {
	Fetched int      // values fetched
	Files   []string // paths written, relative to the output root
}

// Run carries out p under dir: as one generation of files (Generation),
// or, for an in-place output (ecs-config), by replacing that one file
// (writer.Update, which reads the file to merge into while it holds its
// directory). On error what readers see under dir is unchanged; the error
// wraps sources.ErrFetch, ErrRender or writer.ErrWrite.
func Run(ctx context.Context, p plan.Plan, f Fetcher, dir string, opts writer.Options, log *slog.Logger) (Report, error) {
	if out, ok := inPlace(p); ok {
		return update(ctx, p, out, f, dir, opts, log)
	}
	values, files, err := Generation(ctx, p, f, dir, opts, log)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Fetched: len(values)}
	for _, f := range files {
		rep.Files = append(rep.Files, f.Path)
	}
	return rep, nil
}

// Generation fetches every value p needs, renders p's files and writes
// them under dir as one generation (writer.Begin and Commit), logging each
// file written. The writer's preparation (the root's lock, what killed runs
// left, the new generation's directory and the directories of the files
// whose paths the plan fixes) needs no value, so it runs while the values
// are fetched. It returns the values and the files, for a caller that
// renders again later (refresh mode). p must have no in-place output
// (Render). On error what readers see under dir is unchanged; the error
// wraps sources.ErrFetch, ErrRender or writer.ErrWrite.
func Generation(ctx context.Context, p plan.Plan, f Fetcher, dir string, opts writer.Options, log *slog.Logger) (sources.Values, []writer.File, error) {
	bctx, stopBegin := context.WithCancel(ctx)
	defer stopBegin()
	type begun struct {
		x   *writer.Txn
		err error
	}
	ready := make(chan begun, 1)
	go func() {
		x, err := writer.Begin(bctx, dir, opts, fixedPaths(p)...)
		ready <- begun{x, err}
	}()
	values, files, err := fetchRender(ctx, p, f, log)
	if err != nil {
		// Stop a Begin still waiting for the lock, and undo one that is done.
		stopBegin()
		if b := <-ready; b.err == nil {
			err = errors.Join(err, b.x.Abort())
		}
		return nil, nil, err
	}
	b := <-ready
	if b.err != nil {
		return nil, nil, b.err
	}
	if err := b.x.Commit(ctx, files); err != nil {
		return nil, nil, err
	}
	for _, f := range files {
		log.Info("wrote", "path", f.Path, "bytes", len(f.Data))
	}
	return values, files, nil
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

// fetchRender fetches every value p needs and renders p's files.
func fetchRender(ctx context.Context, p plan.Plan, f Fetcher, log *slog.Logger) (sources.Values, []writer.File, error) {
	values, err := fetchAll(ctx, p, f, log)
	if err != nil {
		return nil, nil, err
	}
	files, err := Render(ctx, p, values)
	if err != nil {
		return nil, nil, err
	}
	return values, files, nil
}

// update replaces the in-place output out of p under dir.
func update(ctx context.Context, p plan.Plan, out plan.Output, f Fetcher, dir string, opts writer.Options, log *slog.Logger) (Report, error) {
	values, err := fetchAll(ctx, p, f, log)
	if err != nil {
		return Report{}, err
	}
	err = writer.Update(ctx, dir, out.Path, maxFileBytes(p), opts, func(existing []byte) ([]byte, error) {
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
	values, err := Fetch(ctx, p.Fetches, f, nil)
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

func maxFileBytes(p plan.Plan) int64 {
	if p.MaxFileBytes <= 0 {
		return plan.DefaultMaxFileBytes
	}
	return p.MaxFileBytes
}

// Render renders every output of p from values, which must hold every
// value p fetches; each file is bounded by p.MaxFileBytes, and rendering
// stops when ctx ends (between outputs, and inside templates and
// long lists of credentials). Each value keys are selected from is decoded
// once. An in-place output (ecs-config), which merges into the file
// already there, is rendered by Run under writer.Update instead. The error
// wraps ErrRender.
func Render(ctx context.Context, p plan.Plan, values sources.Values) ([]writer.File, error) {
	var files []writer.File
	sel := newSelector(values)
	for _, out := range p.Outputs {
		if err := stopped(ctx); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrRender, out.Path, err)
		}
		fs, err := renderOutput(ctx, out, sel, nil, maxFileBytes(p))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrRender, out.Path, err)
		}
		files = append(files, fs...)
	}
	return files, nil
}

// Fetch fetches the values of fetches, in two rounds when S3 objects need
// SSE-C keys: first the keys (with all else that needs none), then those
// objects. A key that fetches does not fetch is read from known (refresh
// mode fetches only what changed; known may be nil).
func Fetch(ctx context.Context, fetches []plan.Fetch, f Fetcher, known sources.Values) (sources.Values, error) {
	first, second := Rounds(fetches)
	reqs := make([]sources.Request, 0, len(first))
	for _, pf := range first {
		reqs = append(reqs, NewRequest(pf, nil))
	}
	values := sources.Values{}
	if len(reqs) > 0 {
		var err error
		if values, err = f.Fetch(ctx, reqs); err != nil {
			return nil, err
		}
	}
	if len(second) == 0 {
		return values, nil
	}
	keys := values
	if len(known) > 0 {
		keys = maps.Clone(known)
		maps.Copy(keys, values)
	}
	keyed := make([]sources.Request, 0, len(second))
	for _, pf := range second {
		r, err := Request(pf, keys)
		if err != nil {
			return nil, err
		}
		keyed = append(keyed, r)
	}
	more, err := f.Fetch(ctx, keyed)
	if err != nil {
		return nil, err
	}
	if values == nil {
		values = make(sources.Values, len(more))
	}
	for t, v := range more {
		values[t] = v
	}
	return values, nil
}

// Rounds splits fetches into the two rounds Fetch makes: first every value
// that needs no SSE-C key (the keys among them), then the S3 objects read
// with one.
func Rounds(fetches []plan.Fetch) (first, second []plan.Fetch) {
	for _, pf := range fetches {
		if pf.SSECustomerKey != nil {
			second = append(second, pf)
		} else {
			first = append(first, pf)
		}
	}
	return first, second
}

// NewRequest is the request that fetches (or checks) pf, with key as its
// SSE-C key (nil for none). It is the one place a sources.Request is made
// from a plan.Fetch.
func NewRequest(pf plan.Fetch, key []byte) sources.Request {
	return sources.Request{Target: pf.Target, AllowUnencrypted: pf.AllowUnencrypted, AllowEmpty: pf.AllowEmpty, SSECustomerKey: key,
		Role: sources.Role{ARN: pf.RoleARN, ExternalID: pf.ExternalID}, FailoverRegion: pf.FailoverRegion}
}

// Request is the request that fetches (or checks) pf; an SSE-C key is
// read from values. The error is a *sources.Error naming pf.
func Request(pf plan.Fetch, values sources.Values) (sources.Request, error) {
	var key []byte
	if pf.SSECustomerKey != nil {
		var err error
		if key, err = sseKey(*pf.SSECustomerKey, values); err != nil {
			return sources.Request{}, &sources.Error{Ref: pf.Target.String(), Err: err}
		}
	}
	return NewRequest(pf, key), nil
}

// sseKey decodes the base64 SSE-C key that r selects.
func sseKey(r ref.Ref, values sources.Values) ([]byte, error) {
	v, err := r.Extract(values[r.Target].Bytes())
	if err != nil {
		return nil, fmt.Errorf("sseCustomerKey: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(v)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("sseCustomerKey %s must hold a base64-encoded 256-bit key", r.Raw)
	}
	return key, nil
}

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

// Run carries out p under dir. On error nothing new is left under dir; the
// error wraps sources.ErrFetch, ErrRender or writer.ErrWrite.
func Run(ctx context.Context, p plan.Plan, f Fetcher, dir string, opts writer.Options, log *slog.Logger) (Report, error) {
	values, err := fetch(ctx, p.Fetches, f)
	if err != nil {
		return Report{}, err
	}
	log.Debug("fetched", "values", len(values))
	var files []writer.File
	maxBytes := p.MaxFileBytes
	if maxBytes <= 0 {
		maxBytes = plan.DefaultMaxFileBytes
	}
	for _, out := range p.Outputs {
		fs, err := renderOutput(ctx, out, values, dir, maxBytes)
		if errors.Is(err, writer.ErrWrite) {
			// The output root refused a read (to merge into a file), as
			// it would refuse the write.
			return Report{}, fmt.Errorf("%s: %w", out.Path, err)
		}
		if err != nil {
			return Report{}, fmt.Errorf("%w: %s: %w", ErrRender, out.Path, err)
		}
		files = append(files, fs...)
	}
	if err := writer.Write(ctx, dir, files, opts); err != nil {
		return Report{}, err
	}
	rep := Report{Fetched: len(values)}
	for _, f := range files {
		rep.Files = append(rep.Files, f.Path)
		log.Info("wrote", "path", f.Path, "bytes", len(f.Data))
	}
	return rep, nil
}

// fetch fetches everything in two rounds when S3 objects need SSE-C keys:
// first the keys (with all else that needs none), then those objects.
func fetch(ctx context.Context, fetches []plan.Fetch, f Fetcher) (sources.Values, error) {
	var first, second []plan.Fetch
	for _, pf := range fetches {
		if pf.SSECustomerKey != nil {
			second = append(second, pf)
		} else {
			first = append(first, pf)
		}
	}
	reqs := make([]sources.Request, 0, len(first))
	for _, pf := range first {
		reqs = append(reqs, sources.Request{Target: pf.Target, AllowUnencrypted: pf.AllowUnencrypted})
	}
	values, err := f.Fetch(ctx, reqs)
	if err != nil || len(second) == 0 {
		return values, err
	}
	keyed := make([]sources.Request, 0, len(second))
	for _, pf := range second {
		key, err := sseKey(*pf.SSECustomerKey, values)
		if err != nil {
			return nil, &sources.Error{Ref: pf.Target.String(), Err: err}
		}
		keyed = append(keyed, sources.Request{Target: pf.Target, AllowUnencrypted: pf.AllowUnencrypted, SSECustomerKey: key})
	}
	more, err := f.Fetch(ctx, keyed)
	if err != nil {
		return nil, err
	}
	for t, v := range more {
		values[t] = v
	}
	return values, nil
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

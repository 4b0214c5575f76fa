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

// Run carries out p under dir: as one generation of files (writer.Write),
// or, for an in-place output (ecs-config), by replacing that one file
// (writer.Update). On error what readers see under dir is unchanged; the
// error wraps sources.ErrFetch, ErrRender or writer.ErrWrite.
func Run(ctx context.Context, p plan.Plan, f Fetcher, dir string, opts writer.Options, log *slog.Logger) (Report, error) {
	values, err := fetch(ctx, p.Fetches, f)
	if err != nil {
		return Report{}, err
	}
	log.Debug("fetched", "values", len(values))
	maxBytes := p.MaxFileBytes
	if maxBytes <= 0 {
		maxBytes = plan.DefaultMaxFileBytes
	}
	rep := Report{Fetched: len(values)}
	if len(p.Outputs) == 1 && p.Outputs[0].Format.InPlace() {
		// The plan allows no other output beside it.
		out := p.Outputs[0]
		err := writer.Update(ctx, dir, out.Path, opts, func(existing []byte) ([]byte, error) {
			files, err := renderOutput(ctx, out, values, existing, maxBytes)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrRender, out.Path, err)
			}
			return files[0].Data, nil
		})
		if err != nil {
			return Report{}, err
		}
		rep.Files = []string{out.Path}
		log.Info("wrote", "path", out.Path, "layout", "in place")
		return rep, nil
	}
	var files []writer.File
	for _, out := range p.Outputs {
		fs, err := renderOutput(ctx, out, values, nil, maxBytes)
		if err != nil {
			return Report{}, fmt.Errorf("%w: %s: %w", ErrRender, out.Path, err)
		}
		files = append(files, fs...)
	}
	if err := writer.Write(ctx, dir, files, opts); err != nil {
		return Report{}, err
	}
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

package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecs-secret-injector/injector/formats"
	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/sources"
	"github.com/ecs-secret-injector/injector/writer"
)

// selector reads what references select from the fetched values, decoding
// each value a JSON key or pointer selects from once (a render selecting
// many keys of one secret would otherwise decode it once per key).
type selector struct {
	values  sources.Values
	objects map[ref.Target]*ref.Object
}

func newSelector(values sources.Values) *selector {
	return &selector{values: values, objects: map[ref.Target]*ref.Object{}}
}

// extract is r.Extract of r's value.
func (s *selector) extract(r ref.Ref) ([]byte, error) {
	if !r.Selects() {
		return s.values[r.Target].Bytes(), nil
	}
	o, ok := s.objects[r.Target]
	if !ok {
		o = ref.DecodeObject(s.values[r.Target].Bytes())
		s.objects[r.Target] = o
	}
	return r.Select(o)
}

func maxFileBytes(p plan.Plan) int64 {
	if p.MaxFileBytes <= 0 {
		return plan.DefaultMaxFileBytes
	}
	return p.MaxFileBytes
}

// render renders every output of p from values, which must hold every
// value p fetches; each file is bounded by p.MaxFileBytes, and rendering
// stops when ctx ends (between outputs, and inside templates and
// long lists of credentials). Each value keys are selected from is decoded
// once. An in-place output (ecs-config), which merges into the file
// already there, is rendered by Once under writer.Update instead. The error
// wraps ErrRender.
func render(ctx context.Context, p plan.Plan, values sources.Values) ([]writer.File, error) {
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

// stopped is the error of a render that ctx ended before it was done.
func stopped(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	cause := context.Cause(ctx)
	if errors.Is(cause, context.DeadlineExceeded) {
		return fmt.Errorf("stopped at INJECTOR_TIMEOUT: %w", cause)
	}
	return fmt.Errorf("stopped: %w", cause)
}

// renderOutput turns one planned output into the files it writes, each at
// most maxBytes long. existing is the current content of an in-place
// output's file (ecs-config merges into it).
func renderOutput(ctx context.Context, out plan.Output, values *selector, existing []byte, maxBytes int64) ([]writer.File, error) {
	f, ok := formats.Lookup(out.Format)
	if !ok {
		return nil, fmt.Errorf("unknown format %q", out.Format)
	}
	src := formats.Source{Ctx: ctx, Path: out.Path, Template: out.Template, ReadsPath: out.ReadsPath(),
		Existing: existing, MaxBytes: maxBytes, Inputs: make(map[string][]byte, len(out.Inputs))}
	for _, in := range out.Inputs {
		v, err := values.extract(in.Ref)
		if err != nil {
			return nil, err
		}
		src.Inputs[in.Name] = v
	}
	for _, c := range out.Credentials {
		if err := stopped(ctx); err != nil {
			return nil, err
		}
		v, err := values.extract(c.Input.Ref)
		if err != nil {
			return nil, err
		}
		src.Logins = append(src.Logins, formats.Login{Registry: c.Registry, Email: c.Email, Ref: c.Input.Ref.Raw, Value: v})
	}
	rendered, err := f.Render(src)
	if err != nil {
		return nil, err
	}
	files := make([]writer.File, len(rendered))
	for i, r := range rendered {
		if int64(len(r.Data)) > maxBytes {
			return nil, fmt.Errorf("rendered file %s is %d bytes, more than the %d-byte limit (INJECTOR_MAX_VALUE_BYTES)", r.Path, len(r.Data), maxBytes)
		}
		files[i] = writer.File{Path: r.Path, Data: r.Data, Perm: out.Perm}
	}
	return files, nil
}

package inject

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/render"
	"github.com/ecs-secret-injector/injector/sources"
	"github.com/ecs-secret-injector/injector/writer"
)

// source is what a renderer reads: the output, its inputs' values, the
// bound on each file and, for formats that merge into a file already there
// (in place), that file's current content.
type source struct {
	ctx      context.Context
	out      plan.Output
	values   *selector
	existing []byte
	maxBytes int64
}

// inputs returns the bytes each input selects, by input name.
func (s source) inputs() (map[string][]byte, error) {
	inputs := make(map[string][]byte, len(s.out.Inputs))
	for _, in := range s.out.Inputs {
		v, err := s.values.extract(in.Ref)
		if err != nil {
			return nil, err
		}
		inputs[in.Name] = v
	}
	return inputs, nil
}

// selector reads what references select from the fetched values, decoding
// each value a JSON key is selected from once (a render selecting many
// keys of one secret would otherwise decode it once per key).
type selector struct {
	values  sources.Values
	objects map[ref.Target]*ref.Object
}

func newSelector(values sources.Values) *selector {
	return &selector{values: values, objects: map[ref.Target]*ref.Object{}}
}

// extract is r.Extract of r's value.
func (s *selector) extract(r ref.Ref) ([]byte, error) {
	if r.JSONKey == "" {
		return s.values[r.Target].Bytes(), nil
	}
	o, ok := s.objects[r.Target]
	if !ok {
		o = ref.DecodeObject(s.values[r.Target].Bytes())
		s.objects[r.Target] = o
	}
	return r.Select(o)
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

// renderer turns one planned output into file content.
type renderer func(s source) ([]writer.File, error)

// renderers is the registry of formats' renderers: one line per format of
// plan.Formats (a test checks they match).
var renderers = map[plan.Format]renderer{
	plan.Raw: oneFile(func(in map[string][]byte, _ source) ([]byte, error) { return in["value"], nil }),
	plan.Dotenv: oneFile(func(in map[string][]byte, s source) ([]byte, error) {
		if s.out.ReadsPath() {
			return render.DotenvPath(in["value"])
		}
		return render.Dotenv(in["value"])
	}),
	plan.Template: oneFile(func(in map[string][]byte, s source) ([]byte, error) {
		return render.Template(s.ctx, s.out.Template, in, s.maxBytes)
	}),
	plan.Explode:          explode,
	plan.DockerCfg:        registryFile(func(c []render.Credential, _ source) ([]byte, error) { return render.DockerCfg(c) }),
	plan.DockerConfigJSON: registryFile(func(c []render.Credential, _ source) ([]byte, error) { return render.DockerConfigJSON(c) }),
	plan.ECSConfig:        registryFile(ecsConfig),
}

// renderOutput turns one planned output into the files it writes, each at
// most maxBytes long. existing is the current content of an in-place
// output's file (ecs-config merges into it).
func renderOutput(ctx context.Context, out plan.Output, values *selector, existing []byte, maxBytes int64) ([]writer.File, error) {
	r, ok := renderers[out.Format]
	if !ok {
		return nil, fmt.Errorf("unknown format %q", out.Format)
	}
	files, err := r(source{ctx: ctx, out: out, values: values, existing: existing, maxBytes: maxBytes})
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if int64(len(f.Data)) > maxBytes {
			return nil, fmt.Errorf("rendered file %s is %d bytes, more than the %d-byte limit (INJECTOR_MAX_VALUE_BYTES)", f.Path, len(f.Data), maxBytes)
		}
	}
	return files, nil
}

// oneFile is a renderer of one file from the output's inputs.
func oneFile(fn func(inputs map[string][]byte, s source) ([]byte, error)) renderer {
	return func(s source) ([]writer.File, error) {
		inputs, err := s.inputs()
		if err != nil {
			return nil, err
		}
		data, err := fn(inputs, s)
		return []writer.File{{Path: s.out.Path, Data: data}}, err
	}
}

func explode(s source) ([]writer.File, error) {
	inputs, err := s.inputs()
	if err != nil {
		return nil, err
	}
	explode := render.Explode
	if s.out.ReadsPath() {
		explode = render.ExplodePath
	}
	parts, err := explode(inputs["value"])
	if err != nil {
		return nil, err
	}
	files := make([]writer.File, len(parts))
	for i, p := range parts {
		files[i] = writer.File{Path: path.Join(s.out.Path, p.Path), Data: p.Data}
	}
	return files, nil
}

// registryFile is a renderer of one registry credentials document.
func registryFile(fn func(creds []render.Credential, s source) ([]byte, error)) renderer {
	return func(s source) ([]writer.File, error) {
		creds, err := credentials(s.ctx, s.out, s.values)
		if err != nil {
			return nil, err
		}
		data, err := fn(creds, s)
		return []writer.File{{Path: s.out.Path, Data: data}}, err
	}
}

// ecsConfig merges the credentials into the ecs.config already at the
// output's path (writer.Update reads it while it holds its directory).
func ecsConfig(creds []render.Credential, s source) ([]byte, error) {
	return render.ECSConfig(s.existing, creds)
}

func credentials(ctx context.Context, out plan.Output, values *selector) ([]render.Credential, error) {
	creds := make([]render.Credential, 0, len(out.Credentials))
	for _, c := range out.Credentials {
		if err := stopped(ctx); err != nil {
			return nil, err
		}
		v, err := values.extract(c.Input.Ref)
		if err != nil {
			return nil, err
		}
		cred, err := render.ParseCredential(c.Registry, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Input.Ref.Raw, err)
		}
		cred.Email = c.Email
		creds = append(creds, cred)
	}
	return creds, nil
}

package inject

import (
	"context"
	"fmt"
	"path"

	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/render"
	"github.com/ecs-secret-injector/injector/sources"
	"github.com/ecs-secret-injector/injector/writer"
)

// renderOutput turns one planned output into the files it writes, each at
// most maxBytes long. dir is read only for ecs-config, which merges into the
// file already there.
func renderOutput(ctx context.Context, out plan.Output, values sources.Values, dir string, maxBytes int64) ([]writer.File, error) {
	files, err := renderFiles(ctx, out, values, dir, maxBytes)
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

func renderFiles(ctx context.Context, out plan.Output, values sources.Values, dir string, maxBytes int64) ([]writer.File, error) {
	one := func(data []byte) []writer.File { return []writer.File{{Path: out.Path, Data: data}} }
	switch out.Format {
	case plan.DockerCfg, plan.DockerConfigJSON, plan.ECSConfig:
		creds, err := credentials(out, values)
		if err != nil {
			return nil, err
		}
		var data []byte
		switch out.Format {
		case plan.DockerCfg:
			data, err = render.DockerCfg(creds)
		case plan.DockerConfigJSON:
			data, err = render.DockerConfigJSON(creds)
		default:
			var existing []byte
			if existing, err = writer.ReadFile(dir, out.Path); err != nil {
				return nil, err
			}
			data, err = render.ECSConfig(existing, creds)
		}
		return one(data), err
	}
	inputs := make(map[string][]byte, len(out.Inputs))
	for _, in := range out.Inputs {
		v, err := in.Ref.Extract(values[in.Ref.Target])
		if err != nil {
			return nil, err
		}
		inputs[in.Name] = v
	}
	switch out.Format {
	case plan.Raw:
		return one(inputs["value"]), nil
	case plan.Dotenv:
		data, err := render.Dotenv(inputs["value"])
		return one(data), err
	case plan.Template:
		data, err := render.Template(ctx, out.Template, inputs, maxBytes)
		return one(data), err
	case plan.Explode:
		parts, err := render.Explode(inputs["value"])
		if err != nil {
			return nil, err
		}
		files := make([]writer.File, len(parts))
		for i, p := range parts {
			files[i] = writer.File{Path: path.Join(out.Path, p.Path), Data: p.Data}
		}
		return files, nil
	default:
		return nil, fmt.Errorf("unknown format %q", out.Format)
	}
}

func credentials(out plan.Output, values sources.Values) ([]render.Credential, error) {
	creds := make([]render.Credential, 0, len(out.Credentials))
	for _, c := range out.Credentials {
		v, err := c.Input.Ref.Extract(values[c.Input.Ref.Target])
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

package inject

import (
	"fmt"
	"path"

	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/render"
	"github.com/ecs-secret-injector/injector/sources"
	"github.com/ecs-secret-injector/injector/writer"
)

// renderOutput turns one planned output into the files it writes.
func renderOutput(out plan.Output, values sources.Values) ([]writer.File, error) {
	one := func(data []byte) []writer.File { return []writer.File{{Path: out.Path, Data: data}} }
	switch out.Format {
	case plan.DockerCfg, plan.DockerConfigJSON:
		creds, err := credentials(out, values)
		if err != nil {
			return nil, err
		}
		var data []byte
		if out.Format == plan.DockerCfg {
			data, err = render.DockerCfg(creds)
		} else {
			data, err = render.DockerConfigJSON(creds)
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
		data, err := render.Template(out.Template, inputs)
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

// ecsConfig returns the function that merges out's credentials into the
// ecs.config already there (writer.Update calls it with the file's content
// while it holds the file's directory). Its errors wrap ErrRender.
func ecsConfig(out plan.Output, values sources.Values) (func(existing []byte) ([]byte, error), error) {
	creds, err := credentials(out, values)
	if err != nil {
		return nil, err
	}
	return func(existing []byte) ([]byte, error) {
		data, err := render.ECSConfig(existing, creds)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrRender, out.Path, err)
		}
		return data, nil
	}, nil
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

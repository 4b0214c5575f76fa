package inject

import (
	"fmt"
	"path"

	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/render"
	"github.com/ecs-secret-injector/injector/sources"
	"github.com/ecs-secret-injector/injector/writer"
)

// renderOutput turns one planned output into the files it writes. dir is read only
// for ecs-config, which merges into the file already there.
func renderOutput(out plan.Output, values sources.Values, dir string) ([]writer.File, error) {
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
		v, err := in.Ref.Extract(values[in.Ref.Target].Bytes())
		if err != nil {
			return nil, err
		}
		inputs[in.Name] = v
	}
	switch out.Format {
	case plan.Raw:
		return one(inputs["value"]), nil
	case plan.Dotenv:
		dotenv := render.Dotenv
		if isPath(out) {
			dotenv = render.DotenvPath
		}
		data, err := dotenv(inputs["value"])
		return one(data), err
	case plan.Template:
		data, err := render.Template(out.Template, inputs)
		return one(data), err
	case plan.Explode:
		explode := render.Explode
		if isPath(out) {
			explode = render.ExplodePath
		}
		parts, err := explode(inputs["value"])
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

// isPath reports whether a one-input output reads an SSM path, whose value
// is a JSON object of parameters by relative name: explode and dotenv then
// follow the path's names (render.ExplodePath, render.DotenvPath).
func isPath(out plan.Output) bool {
	return len(out.Inputs) == 1 && out.Inputs[0].Ref.Source == ref.SSMPath
}

func credentials(out plan.Output, values sources.Values) ([]render.Credential, error) {
	creds := make([]render.Credential, 0, len(out.Credentials))
	for _, c := range out.Credentials {
		v, err := c.Input.Ref.Extract(values[c.Input.Ref.Target].Bytes())
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

package ref

import (
	"errors"
	"strings"
)

// parseEnv parses env:NAME, an environment variable of the injector's own
// process. NAME is what ECS accepts as a variable name in `secrets` and
// `environment`: letters, digits and underscores, not starting with a digit.
func parseEnv(s string) (Ref, error) {
	name := strings.TrimPrefix(s, "env:")
	if before, pointer, ok := strings.Cut(name, "#"); ok {
		r, err := parseEnv("env:" + before)
		if err != nil {
			return Ref{}, err
		}
		if err := r.setPointer(pointer); err != nil {
			return Ref{}, err
		}
		return r, nil
	}
	if name == "" {
		return Ref{}, errors.New("empty environment variable name")
	}
	for i, c := range name {
		letter := c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
		if !letter && !(i > 0 && c >= '0' && c <= '9') {
			return Ref{}, errors.New("environment variable name must match [A-Za-z_][A-Za-z0-9_]*")
		}
	}
	return Ref{Target: Target{Source: Env, ID: name}}, nil
}

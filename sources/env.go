package sources

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/secret"
)

// ErrEnv is wrapped by the error for an env: reference whose variable is
// unset or empty.
var ErrEnv = errors.New("environment variable is not set or is empty")

// envSource reads the injector's own environment variables, which ECS fills
// from a container's `secrets` with the execution role: no AWS call, no
// region, no credentials.
type envSource struct{}

func (envSource) usesAWS() bool { return false }

// check fails for a variable that is unset or empty, so that a missing
// value is a configuration error found before anything is fetched or
// written. The error names the variable, never a value.
func (envSource) check(f *Fetcher, t ref.Target) (string, error) {
	if _, err := f.lookupEnv(t); err != nil {
		return "", err
	}
	return "", nil
}

func (envSource) calls(f *Fetcher, _ string, reqs []Request) []call {
	return []call{func(_ context.Context, out *result) error {
		for _, r := range reqs {
			v, err := f.lookupEnv(r.Target)
			if err != nil {
				return &Error{Ref: r.Target.String(), Err: err}
			}
			if err := f.checkSize(r.Target, int64(len(v))); err != nil {
				return err
			}
			out.put(r.Target, secret.New([]byte(v), secret.Version{}))
		}
		return nil
	}}
}

// checks reports every variable at the version its value has (none): the
// environment is fixed when the process starts, so refresh never sees a
// change (Fixed leaves env: targets out of checks altogether).
func (envSource) checks(_ *Fetcher, _ string, reqs []Request) []call {
	return []call{func(_ context.Context, out *result) error {
		for _, r := range reqs {
			out.putVersion(r.Target, secret.Version{})
		}
		return nil
	}}
}

func (f *Fetcher) lookupEnv(t ref.Target) (string, error) {
	var v string
	if f.opts.LookupEnv != nil {
		v, _ = f.opts.LookupEnv(t.ID)
	}
	if v == "" {
		return "", fmt.Errorf("%s: %w", t, ErrEnv)
	}
	return v, nil
}

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

// preflight fails for a variable that is unset or empty, so that a missing
// value is a configuration error found before anything is fetched or
// written. The error names the variable, never a value.
func (envSource) preflight(f *Fetcher, t ref.Target) (string, error) {
	if _, err := f.lookupEnv(t); err != nil {
		return "", err
	}
	return "", nil
}

func (envSource) calls(f *Fetcher, _ scope, reqs []Request) []call {
	return []call{{Call: envCall(reqs), do: func(_ context.Context, out *result) error {
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
	}}}
}

// envCall describes the read of reqs' variables: no API call.
func envCall(reqs []Request) Call {
	ts := make([]ref.Target, len(reqs))
	for i, r := range reqs {
		ts[i] = r.Target
	}
	return Call{Targets: ts, Note: "the injector's own environment, no call"}
}

// fixed: the injector's environment is fixed when it starts.
func (envSource) fixed(ref.Target) bool { return true }

// versionChecks is never asked about an env: target: every one is fixed.
func (envSource) versionChecks(*Fetcher, scope, []Request) []call { return nil }

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

package sources

import (
	"context"

	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/secret"
)

// Change checks: refresh mode asks which version of each value is current
// without fetching a value. Secrets Manager answers DescribeSecret (one call
// per secret: the version id holding the wanted stage), SSM answers
// GetParameters without decryption (one call per 10 names: the Version
// number; String values come back as they are and SecureString values as
// ciphertext, and both are dropped unread), S3 answers HeadObject (ETag and
// version id, no body).

// Versions maps each checked target to its current version. The versions
// compare equal to those of the values Fetch returns (secret.Value.Version)
// exactly when the value is the same version.
type Versions map[ref.Target]secret.Version

// Fixed reports whether a target names a version that can never change
// (its source's fixed): a Secrets Manager version id, an SSM parameter
// version number, an S3 object version id, an environment variable. A
// staging label or an SSM label can move, so it is not fixed.
func Fixed(t ref.Target) bool {
	src, ok := sourceOf[t.Source]
	return ok && src.fixed(t)
}

// Versions asks for the current version of every request's target whose
// version can change (see Fixed; fixed ones are left out) without fetching a
// value. It returns what it learnt even when some checks fail, with an error
// that names each reference that failed.
func (f *Fetcher) Versions(ctx context.Context, reqs []Request) (Versions, error) {
	pl, err := f.plan(changing(reqs), true)
	if err != nil {
		return nil, err
	}
	out := &result{versions: make(Versions, len(reqs))}
	err = f.run(ctx, pl.calls, out)
	f.record(pl.calls, out)
	return out.versions, err
}

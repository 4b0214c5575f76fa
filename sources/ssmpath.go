package sources

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-secret-injector/injector/internal/strictjson"
	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/secret"
)

const opGetParametersByPath = "GetParametersByPath"

// ssmPathSource expands an SSM path (ssm:/app/prod/) to every parameter
// below it, at any depth, with GetParametersByPath (Recursive,
// WithDecryption), following every page.
//
// The value of a path is a JSON object that maps each parameter's name
// relative to the path to its value, keys sorted:
//
//	ssm:/app/prod/ -> {"db/password":"...","db/url":"...","region":"..."}
//
// Its version ID is a digest of every name and version number under the
// path: it changes when any parameter is added, removed or updated.
type ssmPathSource struct{ awsService }

func (ssmPathSource) calls(f *Fetcher, sc scope, reqs []Request) []call {
	client := f.clients.ssm(sc)
	return eachRequest(reqs, func(r Request) call { return f.getParametersByPath(client, r) })
}

// fixed: parameters come and go under a path, and each can change.
func (ssmPathSource) fixed(ref.Target) bool { return false }

// versionChecks learns the path's version (see ssmPathSource) from the same pages
// without decryption: SecureString values come back as ciphertext and are
// dropped unread.
func (ssmPathSource) versionChecks(f *Fetcher, sc scope, reqs []Request) []call {
	client := f.clients.ssm(sc)
	return eachRequest(reqs, func(r Request) call {
		desc := Call{Service: ssmService, Operation: opGetParametersByPath, Targets: []ref.Target{r.Target},
			Note: "recursive, every page, versions only, without decryption"}
		return call{Call: desc, do: func(ctx context.Context, out *result) error {
			var names []string
			err := f.walkPath(ctx, client, r.Target, false, func(name, _ string, p types.Parameter) error {
				names = append(names, name+"@"+strconv.FormatInt(p.Version, 10))
				return nil
			})
			if err != nil {
				return err
			}
			out.putVersion(r.Target, pathVersion(names))
			return nil
		}}
	})
}

func (f *Fetcher) getParametersByPath(client ssmAPI, r Request) call {
	t := r.Target
	desc := Call{Service: ssmService, Operation: opGetParametersByPath, Targets: []ref.Target{t}, KMS: true,
		Note: "recursive, every page, with decryption"}
	return call{Call: desc, do: func(ctx context.Context, out *result) error {
		params := map[string]string{}
		var versions []string
		var size int64
		err := f.walkPath(ctx, client, t, true, func(name, rel string, p types.Parameter) error {
			params[rel] = aws.ToString(p.Value)
			versions = append(versions, name+"@"+strconv.FormatInt(p.Version, 10))
			size += int64(len(rel) + len(aws.ToString(p.Value)))
			return f.checkSize(t, size)
		})
		if err != nil {
			return err
		}
		if len(params) == 0 && !r.AllowEmpty {
			return &Error{Ref: t.String(), Service: ssmService, Operation: opGetParametersByPath,
				Err: errors.New(`no parameter under the path (set "allowEmpty": true to accept none)`)}
		}
		v, err := strictjson.Marshal(params, "")
		if err != nil {
			return valueError(t.String(), "encoding the parameters: %v", err)
		}
		out.put(t, secret.New(v, pathVersion(versions)))
		return nil
	}}
}

// walkPath calls visit for every parameter below the path t names, with its
// full name and its name relative to the path, following every page. Names
// the service answers that are not below the path (/app/production/x for
// /app/prod/) are never part of it. More than MaxPathParameters is an error.
func (f *Fetcher) walkPath(ctx context.Context, client ssmAPI, t ref.Target, decrypt bool, visit func(name, rel string, p types.Parameter) error) error {
	// The prefix every name below the path has; the API wants the path
	// without its trailing slash, except for the root.
	prefix := t.ID
	path := strings.TrimSuffix(prefix, "/")
	if path == "" {
		path = "/"
	}
	pages := ssm.NewGetParametersByPathPaginator(client,
		&ssm.GetParametersByPathInput{Path: aws.String(path), Recursive: aws.Bool(true), WithDecryption: aws.Bool(decrypt)})
	// The values of one page are part of the path's value, within the
	// limit together.
	bound := ssmBound(answerBound(f.opts.MaxValueBytes, parametersBatch))
	seen := map[string]bool{}
	for pages.HasMorePages() {
		resp, err := pages.NextPage(ctx, bound)
		if err != nil {
			return f.answerError(t.String(), []ref.Target{t}, ssmService, opGetParametersByPath, err)
		}
		for _, p := range resp.Parameters {
			name := aws.ToString(p.Name)
			rel, ok := strings.CutPrefix(name, prefix)
			if !ok || rel == "" {
				continue
			}
			if seen[rel] {
				return &Error{Ref: t.String(), Service: ssmService, Operation: opGetParametersByPath,
					Err: fmt.Errorf("parameter %s returned twice", name)}
			}
			seen[rel] = true
			if len(seen) > f.opts.MaxPathParameters {
				return &Error{Ref: t.String(), Service: ssmService, Operation: opGetParametersByPath,
					Err: fmt.Errorf("more than %d parameters under the path (INJECTOR_SSM_PATH_MAX raises the limit)", f.opts.MaxPathParameters)}
			}
			if err := visit(name, rel, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// pathVersion is the version of a path: a digest of every name@version
// below it.
func pathVersion(versions []string) secret.Version {
	slices.Sort(versions)
	sum := sha256.Sum256([]byte(strings.Join(versions, "\n")))
	return secret.Version{ID: hex.EncodeToString(sum[:16])}
}

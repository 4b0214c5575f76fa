package sources

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ecs-secret-injector/injector/secret"
)

const opGetParametersByPath = "GetParametersByPath"

// DefaultMaxPathParameters is how many parameters one SSM path may expand
// to unless Options.MaxPathParameters says otherwise.
const DefaultMaxPathParameters = 1000

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

func (ssmPathSource) calls(f *Fetcher, region string, reqs []Request) []call {
	client := f.clients.ssm(region)
	return eachRequest(reqs, func(r Request) call { return f.getParametersByPath(client, r) })
}

func (f *Fetcher) getParametersByPath(client ssmAPI, r Request) call {
	t := r.Target
	// The prefix every name below the path has; the API wants the path
	// without its trailing slash, except for the root.
	prefix := t.ID
	path := strings.TrimSuffix(prefix, "/")
	if path == "" {
		path = "/"
	}
	return func(ctx context.Context, out *result) error {
		in := &ssm.GetParametersByPathInput{Path: aws.String(path), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true)}
		params := map[string]string{}
		var versions []string
		var size int64
		for {
			resp, err := client.GetParametersByPath(ctx, in)
			if err != nil {
				return callError(t.String(), ssmService, opGetParametersByPath, err)
			}
			for _, p := range resp.Parameters {
				name := aws.ToString(p.Name)
				rel, ok := strings.CutPrefix(name, prefix)
				if !ok || rel == "" {
					// Not below the path (/app/production/x for /app/prod/):
					// never part of it, whatever the service answers.
					continue
				}
				if _, dup := params[rel]; dup {
					return &Error{Ref: t.String(), Service: ssmService, Operation: opGetParametersByPath,
						Err: fmt.Errorf("parameter %s returned twice", name)}
				}
				params[rel] = aws.ToString(p.Value)
				versions = append(versions, name+"@"+strconv.FormatInt(p.Version, 10))
				size += int64(len(rel) + len(aws.ToString(p.Value)))
				if len(params) > f.opts.MaxPathParameters {
					return &Error{Ref: t.String(), Service: ssmService, Operation: opGetParametersByPath,
						Err: fmt.Errorf("more than %d parameters under the path (INJECTOR_SSM_PATH_MAX raises the limit)", f.opts.MaxPathParameters)}
				}
				if err := f.checkSize(t, size); err != nil {
					return err
				}
			}
			if aws.ToString(resp.NextToken) == "" {
				break
			}
			in.NextToken = resp.NextToken
		}
		if len(params) == 0 && !r.AllowEmpty {
			return &Error{Ref: t.String(), Service: ssmService, Operation: opGetParametersByPath,
				Err: errors.New(`no parameter under the path (set "allowEmpty": true to accept none)`)}
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(params); err != nil {
			return valueError(t.String(), "encoding the parameters: %v", err)
		}
		v := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		slices.Sort(versions)
		sum := sha256.Sum256([]byte(strings.Join(versions, "\n")))
		out.put(t, secret.New(v, secret.Version{ID: hex.EncodeToString(sum[:16])}))
		return nil
	}
}

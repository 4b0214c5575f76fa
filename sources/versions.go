package sources

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

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

const (
	opDescribeSecret = "DescribeSecret"
	opHeadObject     = "HeadObject"
)

// Versions maps each checked target to its current version. The versions
// compare equal to those of the values Fetch returns (secret.Value.Version)
// exactly when the value is the same version.
type Versions map[ref.Target]secret.Version

// Fixed reports whether a target names a version that can never change
// (its source's fixed): a Secrets Manager version id, an SSM parameter
// version number, an S3 object version id, an environment variable. A
// staging label or an SSM label can move, so it is not fixed.
func Fixed(t ref.Target) bool {
	src, ok := registry[t.Source]
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
	return out.versions, err
}

// fixed: a version id never moves; a staging label can.
func (secretsManagerSource) fixed(t ref.Target) bool { return t.VersionID != "" }

// fixed: a parameter version number never moves; a label can.
func (ssmSource) fixed(t ref.Target) bool {
	_, sel := ref.SplitSelector(t.ID)
	return sel != "" && strings.Trim(sel, "0123456789") == ""
}

// fixed: an object version id never moves.
func (s3Source) fixed(t ref.Target) bool { return t.VersionID != "" }

func (secretsManagerSource) checks(f *Fetcher, region string, reqs []Request) []call {
	client := f.clients.secretsManager(region)
	return eachRequest(reqs, func(r Request) call { return f.describeSecret(client, r.Target) })
}

func (ssmSource) checks(f *Fetcher, region string, reqs []Request) []call {
	return f.parameterCalls(region, reqs, f.parameterVersions)
}

func (s3Source) checks(f *Fetcher, region string, reqs []Request) []call {
	client := f.clients.s3(region)
	return eachRequest(reqs, func(r Request) call { return headObject(client, r) })
}

// describeSecret finds the version id that holds the target's stage
// (AWSCURRENT unless it pins another). A version staged AWSPENDING while
// AWSCURRENT stays put changes nothing.
func (f *Fetcher) describeSecret(client secretsManagerAPI, t ref.Target) call {
	desc := Call{Service: smService, Operation: opDescribeSecret, Targets: []ref.Target{t}, Note: "version ids and stages, no value"}
	return call{Call: desc, do: func(ctx context.Context, out *result) error {
		resp, err := client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(t.ID)}, f.smBound(1))
		if err != nil {
			return f.answerError(t.String(), []ref.Target{t}, smService, opDescribeSecret, err)
		}
		stage := t.VersionStage
		if stage == "" {
			stage = stageCurrent
		}
		for id, stages := range resp.VersionIdsToStages {
			if slices.Contains(stages, stage) {
				out.putVersion(t, secret.Version{ID: id, Stage: stage})
				return nil
			}
		}
		return &Error{Ref: t.String(), Service: smService, Operation: opDescribeSecret,
			Err: fmt.Errorf("no version of the secret is staged %s", stage)}
	}}
}

// parameterVersions reads the Version of up to 10 parameters in one call,
// without decryption.
func (f *Fetcher) parameterVersions(client ssmAPI, targets []ref.Target) call {
	desc := Call{Service: ssmService, Operation: opGetParameters, Targets: targets, Note: "versions only, without decryption"}
	return call{Call: desc, do: func(ctx context.Context, out *result) error {
		return f.getParameters(ctx, client, targets, false, func(t ref.Target, p types.Parameter, found bool) error {
			if !found {
				return &Error{Ref: t.String(), Service: ssmService, Operation: opGetParameters,
					Code: "InvalidParameters", Err: errors.New("parameter not found or not readable")}
			}
			out.putVersion(t, secret.Version{ID: strconv.FormatInt(p.Version, 10)})
			return nil
		})
	}}
}

// headObject reads an object's ETag and version id. An SSE-C object needs
// its key for that too.
func headObject(client s3API, r Request) call {
	t := r.Target
	desc := Call{Service: s3Service, Operation: opHeadObject, Targets: []ref.Target{t},
		SSECustomerKey: r.SSECustomerKey != nil, Note: "ETag and version id, no body"}
	return call{Call: desc, do: func(ctx context.Context, out *result) error {
		in := &s3.HeadObjectInput{Bucket: aws.String(t.ID), Key: aws.String(t.Key)}
		if r.SSECustomerKey != nil {
			in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = sseCHeaders(r.SSECustomerKey)
		}
		resp, err := client.HeadObject(ctx, in)
		if err != nil {
			return callError(t.String(), s3Service, opHeadObject, err)
		}
		out.putVersion(t, secret.Version{ID: aws.ToString(resp.VersionId), ETag: aws.ToString(resp.ETag)})
		return nil
	}}
}

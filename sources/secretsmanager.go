package sources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/secret"
)

const (
	smService        = "secretsmanager"
	stageCurrent     = "AWSCURRENT"
	opBatchSecret    = "BatchGetSecretValue"
	opGetSecret      = "GetSecretValue"
	opDescribeSecret = "DescribeSecret"
	// secretsBatch is the most secrets one BatchGetSecretValue call takes.
	secretsBatch = 20
)

// secretsManagerSource reads Secrets Manager. By default (calls) each
// secret is read with its own GetSecretValue, all in parallel: that draws on
// the account's GetSecretValue quota, far larger than BatchGetSecretValue's
// (docs/configuration.md, Fetching), which a fleet starting at once would
// exhaust. batchCalls reads unpinned secrets 20 to a
// BatchGetSecretValue call instead, for runs with more calls than fit in
// flight at once (see Fetcher.plan). Either way no secret costs more than
// one call.
type secretsManagerSource struct{ awsService }

func (secretsManagerSource) calls(f *Fetcher, sc scope, reqs []Request) []call {
	client := f.clients.secretsManager(sc)
	return eachRequest(reqs, func(r Request) call { return f.getSecret(client, r.Target) })
}

func (secretsManagerSource) batchCalls(f *Fetcher, sc scope, reqs []Request) []call {
	client := f.clients.secretsManager(sc)
	var calls []call
	var batch []ref.Target
	for _, r := range reqs {
		if r.Target.Pinned() {
			calls = append(calls, f.getSecret(client, r.Target))
		} else {
			batch = append(batch, r.Target)
		}
	}
	for chunk := range slices.Chunk(batch, secretsBatch) {
		calls = append(calls, f.batchGetSecrets(client, chunk))
	}
	return calls
}

// fixed: a version id never moves; a staging label can.
func (secretsManagerSource) fixed(t ref.Target) bool { return t.VersionID != "" }

func (secretsManagerSource) versionChecks(f *Fetcher, sc scope, reqs []Request) []call {
	client := f.clients.secretsManager(sc)
	return eachRequest(reqs, func(r Request) call { return f.describeSecret(client, r.Target) })
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

// batchGetSecrets fetches up to 20 unpinned secrets in one call (more if the
// service pages the answer).
func (f *Fetcher) batchGetSecrets(client secretsManagerAPI, targets []ref.Target) call {
	desc := Call{Service: smService, Operation: opBatchSecret, Targets: targets, KMS: true,
		Note: "up to 20 secrets, each authorized as GetSecretValue"}
	return call{Call: desc, do: func(ctx context.Context, out *result) error {
		ids := make([]string, len(targets))
		for i, t := range targets {
			ids[i] = t.ID
		}
		got := make([]*secret.Value, len(targets))
		var errs []error
		pages := secretsmanager.NewBatchGetSecretValuePaginator(client, &secretsmanager.BatchGetSecretValueInput{SecretIdList: ids})
		for pages.HasMorePages() {
			resp, err := pages.NextPage(ctx, f.smBound(len(ids)))
			if err != nil {
				return f.answerError(strings.Join(ids, ", "), targets, smService, opBatchSecret, err)
			}
			for _, e := range resp.Errors {
				errs = append(errs, &Error{Ref: aws.ToString(e.SecretId), Service: smService, Operation: opBatchSecret,
					Code: aws.ToString(e.ErrorCode), Err: errors.New(aws.ToString(e.ErrorCode) + ": " + aws.ToString(e.Message))})
			}
			for _, v := range resp.SecretValues {
				for i, t := range targets {
					if !secretMatches(t.ID, aws.ToString(v.ARN), aws.ToString(v.Name)) {
						continue
					}
					val, err := f.secretValue(t, v.SecretString, v.SecretBinary, aws.ToString(v.VersionId), v.VersionStages)
					if err != nil {
						return err
					}
					// An answer that gives a secret twice is ambiguous, as a
					// duplicate JSON key is, unless both entries agree.
					if prev := got[i]; prev != nil && !sameValue(*prev, val) {
						return &Error{Ref: t.String(), Service: smService, Operation: opBatchSecret,
							Err: errors.New("returned twice, with different answers")}
					}
					got[i] = &val
				}
			}
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		for i, t := range targets {
			if got[i] == nil {
				return &Error{Ref: t.String(), Service: smService, Operation: opBatchSecret, Err: errors.New("not returned")}
			}
		}
		for i, t := range targets {
			out.put(t, *got[i])
		}
		return nil
	}}
}

// getSecret fetches one secret, at its pinned version id or stage if any.
func (f *Fetcher) getSecret(client secretsManagerAPI, t ref.Target) call {
	desc := Call{Service: smService, Operation: opGetSecret, Targets: []ref.Target{t}, KMS: true, Version: t.Pinned()}
	return call{Call: desc, do: func(ctx context.Context, out *result) error {
		in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(t.ID)}
		if t.VersionID != "" {
			in.VersionId = aws.String(t.VersionID)
		}
		if t.VersionStage != "" {
			in.VersionStage = aws.String(t.VersionStage)
		}
		resp, err := client.GetSecretValue(ctx, in, f.smBound(1))
		if err != nil {
			return f.answerError(t.String(), []ref.Target{t}, smService, opGetSecret, err)
		}
		val, err := f.secretValue(t, resp.SecretString, resp.SecretBinary, aws.ToString(resp.VersionId), resp.VersionStages)
		if err != nil {
			return err
		}
		out.put(t, val)
		return nil
	}}
}

// smBound bounds the answer of a Secrets Manager call that carries up to n
// values (see answerBound).
func (f *Fetcher) smBound(n int) func(*secretsmanager.Options) {
	bound := f.valuesBound(n)
	return func(o *secretsmanager.Options) { o.APIOptions = append(o.APIOptions, addBound(bound)) }
}

// secretValue checks and wraps one secret's answer. The stage recorded is
// the one asked for: the pinned stage, AWSCURRENT when none is pinned, or
// none when a version id is pinned and carries no stage.
func (f *Fetcher) secretValue(t ref.Target, s *string, b []byte, versionID string, stages []string) (secret.Value, error) {
	var val []byte
	switch {
	case s != nil:
		val = []byte(*s)
	case b != nil:
		val = b
	default:
		return secret.Value{}, valueError(t.String(), "secret has neither a string nor a binary value")
	}
	if err := f.checkSize(t, int64(len(val))); err != nil {
		return secret.Value{}, err
	}
	stage := t.VersionStage
	if stage == "" && t.VersionID == "" {
		stage = stageCurrent
	}
	if stage != "" && len(stages) > 0 && !slices.Contains(stages, stage) {
		return secret.Value{}, valueError(t.String(), "answer is version %s, which is not staged %s", versionID, stage)
	}
	return secret.New(val, secret.Version{ID: versionID, Stage: stage}).WithServed(secret.Served{Stages: slices.Clone(stages)}), nil
}

// sameValue reports whether two answers for one secret agree: the same
// version and the same bytes.
func sameValue(a, b secret.Value) bool {
	return a.Version() == b.Version() && bytes.Equal(a.Bytes(), b.Bytes())
}

// secretMatches reports whether a requested secret id (name, full ARN or
// partial ARN without the random suffix) names the returned secret.
func secretMatches(id, arn, name string) bool {
	if id == arn || id == name {
		return true
	}
	const suffix = len("-AbCdEf")
	return strings.HasPrefix(id, "arn:") && len(arn) == len(id)+suffix && strings.HasPrefix(arn, id+"-")
}

package sources

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/ecs-secret-injector/injector/internal/strictjson"
	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/secret"
)

const opListSecrets = "ListSecrets"

// secretsPrefixSource expands a secret prefix (secretsmanager:app/prod/*)
// to every secret whose name starts with it, with BatchGetSecretValue and
// a name filter, following every page.
//
// As for an SSM path, the value is a JSON object that maps each secret's
// name relative to the prefix to its string value, keys sorted:
//
//	secretsmanager:app/prod/* -> {"db/password":"...","db/url":"...","region":"..."}
//
// Its version ID is a digest of every name and version id under the
// prefix: it changes when any secret is added, removed or given a new
// current version.
type secretsPrefixSource struct{ awsService }

func (secretsPrefixSource) calls(f *Fetcher, sc scope, reqs []Request) []call {
	client := f.clients.secretsManager(sc)
	return eachRequest(reqs, func(r Request) call { return f.batchGetPrefix(client, r) })
}

// fixed: secrets come and go under a prefix, and each can change.
func (secretsPrefixSource) fixed(ref.Target) bool { return false }

// versionChecks learns the prefix's version from ListSecrets and the same
// name filter, every page: names and the version staged AWSCURRENT, no
// value.
func (secretsPrefixSource) versionChecks(f *Fetcher, sc scope, reqs []Request) []call {
	client := f.clients.secretsManager(sc)
	return eachRequest(reqs, func(r Request) call {
		t := r.Target
		desc := Call{Service: smService, Operation: opListSecrets, Targets: []ref.Target{t},
			Note: "name filter, every page, version ids only, no value"}
		return call{Call: desc, do: func(ctx context.Context, out *result) error {
			prefix := t.PrefixName()
			pages := secretsmanager.NewListSecretsPaginator(client, &secretsmanager.ListSecretsInput{Filters: nameFilter(prefix)})
			seen := map[string]bool{}
			var versions []string
			for pages.HasMorePages() {
				resp, err := pages.NextPage(ctx, f.smBound(secretsBatch))
				if err != nil {
					return f.answerError(t.String(), []ref.Target{t}, smService, opListSecrets, err)
				}
				for _, s := range resp.SecretList {
					name := aws.ToString(s.Name)
					if err := f.underPrefix(t, opListSecrets, prefix, name, seen); err != nil {
						return err
					}
					if !seen[name] {
						continue
					}
					current := ""
					for id, stages := range s.SecretVersionsToStages {
						if slices.Contains(stages, stageCurrent) {
							current = id
						}
					}
					versions = append(versions, name+"@"+current)
				}
			}
			out.putVersion(t, pathVersion(versions))
			return nil
		}}
	})
}

// nameFilter selects the secrets whose names start with prefix. The service
// matches without regard to case: underPrefix keeps only exact prefixes.
func nameFilter(prefix string) []types.Filter {
	return []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{prefix}}}
}

// underPrefix notes name in seen if it is below prefix (case matters, and
// the prefix alone is no secret under it), refusing a name answered twice
// and more than MaxPathParameters names.
func (f *Fetcher) underPrefix(t ref.Target, op, prefix, name string, seen map[string]bool) error {
	if rel, ok := strings.CutPrefix(name, prefix); !ok || rel == "" {
		return nil
	}
	if seen[name] {
		return &Error{Ref: t.String(), Service: smService, Operation: op, Err: fmt.Errorf("secret %s returned twice", name)}
	}
	seen[name] = true
	if len(seen) > f.opts.MaxPathParameters {
		return &Error{Ref: t.String(), Service: smService, Operation: op,
			Err: fmt.Errorf("more than %d secrets under the prefix (INJECTOR_SSM_PATH_MAX raises the limit)", f.opts.MaxPathParameters)}
	}
	return nil
}

func (f *Fetcher) batchGetPrefix(client secretsManagerAPI, r Request) call {
	t := r.Target
	desc := Call{Service: smService, Operation: opBatchSecret, Targets: []ref.Target{t}, KMS: true,
		Note: "name filter, every page, each secret authorized as GetSecretValue"}
	return call{Call: desc, do: func(ctx context.Context, out *result) error {
		prefix := t.PrefixName()
		pages := secretsmanager.NewBatchGetSecretValuePaginator(client, &secretsmanager.BatchGetSecretValueInput{
			Filters: nameFilter(prefix), MaxResults: aws.Int32(secretsBatch)})
		values := map[string]string{}
		seen := map[string]bool{}
		var versions []string
		var size int64
		for pages.HasMorePages() {
			resp, err := pages.NextPage(ctx, f.smBound(secretsBatch))
			if err != nil {
				return f.answerError(t.String(), []ref.Target{t}, smService, opBatchSecret, err)
			}
			var errs []error
			for _, e := range resp.Errors {
				errs = append(errs, &Error{Ref: aws.ToString(e.SecretId), Service: smService, Operation: opBatchSecret,
					Code: aws.ToString(e.ErrorCode), Err: errors.New(aws.ToString(e.ErrorCode) + ": " + aws.ToString(e.Message))})
			}
			if len(errs) > 0 {
				return errors.Join(errs...)
			}
			for _, v := range resp.SecretValues {
				name := aws.ToString(v.Name)
				if err := f.underPrefix(t, opBatchSecret, prefix, name, seen); err != nil {
					return err
				}
				if !seen[name] {
					continue
				}
				if v.SecretString == nil {
					return valueError(t.String(), "secret %s has no string value (a binary one cannot be a member of the prefix's JSON object)", name)
				}
				rel := strings.TrimPrefix(name, prefix)
				values[rel] = *v.SecretString
				versions = append(versions, name+"@"+aws.ToString(v.VersionId))
				size += int64(len(rel) + len(*v.SecretString))
				if err := f.checkSize(t, size); err != nil {
					return err
				}
			}
		}
		if len(values) == 0 && !r.AllowEmpty {
			return &Error{Ref: t.String(), Service: smService, Operation: opBatchSecret,
				Err: errors.New(`no secret under the prefix (set "allowEmpty": true to accept none)`)}
		}
		v, err := strictjson.Marshal(values, "")
		if err != nil {
			return valueError(t.String(), "encoding the secrets: %v", err)
		}
		out.put(t, secret.New(v, pathVersion(versions)))
		return nil
	}}
}

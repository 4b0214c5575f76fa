package sources

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ecs-secret-injector/injector/ref"
)

// batchGetSecrets fetches up to 20 unpinned secrets in one call (more if the
// service pages the answer).
func (f *Fetcher) batchGetSecrets(client *secretsmanager.Client, targets []ref.Target) call {
	return func(ctx context.Context, out *result) error {
		ids := make([]string, len(targets))
		for i, t := range targets {
			ids[i] = t.ID
		}
		found := make([]bool, len(targets))
		var failed []string
		in := &secretsmanager.BatchGetSecretValueInput{SecretIdList: ids}
		for {
			resp, err := client.BatchGetSecretValue(ctx, in)
			if err != nil {
				return fmt.Errorf("secretsmanager BatchGetSecretValue of %s: %w", strings.Join(ids, ", "), err)
			}
			for _, e := range resp.Errors {
				failed = append(failed, fmt.Sprintf("%s: %s: %s",
					aws.ToString(e.SecretId), aws.ToString(e.ErrorCode), aws.ToString(e.Message)))
			}
			for _, v := range resp.SecretValues {
				val, err := secretBytes(v.SecretString, v.SecretBinary)
				if err != nil {
					return fmt.Errorf("secret %s: %w", aws.ToString(v.Name), err)
				}
				for i, t := range targets {
					if secretMatches(t.ID, aws.ToString(v.ARN), aws.ToString(v.Name)) {
						if err := f.checkSize(t, len(val)); err != nil {
							return err
						}
						found[i] = true
						out.put(t, val)
					}
				}
			}
			if resp.NextToken == nil {
				break
			}
			in.NextToken = resp.NextToken
		}
		if len(failed) > 0 {
			return fmt.Errorf("secretsmanager BatchGetSecretValue: %s", strings.Join(failed, "; "))
		}
		for i, t := range targets {
			if !found[i] {
				return fmt.Errorf("%s: not returned by BatchGetSecretValue", t)
			}
		}
		return nil
	}
}

// getSecret fetches one secret at a pinned version id or stage.
func (f *Fetcher) getSecret(client *secretsmanager.Client, t ref.Target) call {
	return func(ctx context.Context, out *result) error {
		in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(t.ID)}
		if t.VersionID != "" {
			in.VersionId = aws.String(t.VersionID)
		}
		if t.VersionStage != "" {
			in.VersionStage = aws.String(t.VersionStage)
		}
		resp, err := client.GetSecretValue(ctx, in)
		if err != nil {
			return fmt.Errorf("secretsmanager GetSecretValue of %s: %w", t, err)
		}
		val, err := secretBytes(resp.SecretString, resp.SecretBinary)
		if err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		if err := f.checkSize(t, len(val)); err != nil {
			return err
		}
		out.put(t, val)
		return nil
	}
}

func secretBytes(s *string, b []byte) ([]byte, error) {
	switch {
	case s != nil:
		return []byte(*s), nil
	case b != nil:
		return b, nil
	default:
		return nil, fmt.Errorf("secret has neither a string nor a binary value")
	}
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

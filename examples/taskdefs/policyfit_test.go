package taskdefs_test

// Synthetic policies against synthetic specs: a task-role policy must grant
// what the injector's plan needs (s3:GetObjectVersion for a pinned object,
// the secret or parameter holding an SSE-C key, kms:Decrypt via the right
// services) and nothing more.

import (
	"errors"
	"strings"
	"testing"
)

func TestPolicyFitsPlan(t *testing.T) {
	const (
		object  = `"arn:aws:s3:::bucket/blob"`
		blobKey = `"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/blob-key-??????"`
		apiKey  = `"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/api-key-??????"`
		param   = `"arn:aws:ssm:us-east-1:111122223333:parameter/app/key"`
		key     = `"arn:aws:kms:us-east-1:111122223333:key/k"`

		batch      = `{"Effect":"Allow","Action":"secretsmanager:BatchGetSecretValue","Resource":"*"}`
		getBlobKey = `{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":` + blobKey + `}`
		getAPIKey  = `{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":` + apiKey + `}`
		getParam   = `{"Effect":"Allow","Action":"ssm:GetParameters","Resource":` + param + `}`
		getObject  = `{"Effect":"Allow","Action":"s3:GetObject","Resource":` + object + `}`
		getVersion = `{"Effect":"Allow","Action":"s3:GetObjectVersion","Resource":` + object + `}`

		pinned      = `[{"from":"s3://bucket/blob?versionId=3HL4kqtJlcpXroDTDmJ","path":"blob"}]`
		current     = `[{"from":"s3://bucket/blob","path":"blob"}]`
		sseCSecret  = `[{"from":"s3://bucket/blob","path":"blob","sseCustomerKey":"secretsmanager:app/blob-key"}]`
		sseCParam   = `[{"from":"s3://bucket/blob?versionId=3","path":"blob","sseCustomerKey":"ssm:/app/key"}]`
		shortSecret = `[{"from":"secretsmanager:app/api-key","path":"k"}]`
		secretParam = `[{"from":"secretsmanager:app/api-key","path":"k"},{"from":"ssm:/app/key","path":"p"}]`
	)
	decrypt := func(op string, via ...string) string {
		return `{"Effect":"Allow","Action":"kms:Decrypt","Resource":` + key +
			`,"Condition":{"` + op + `":{"kms:ViaService":["` + strings.Join(via, `","`) + `"]}}}`
	}
	tests := []struct {
		name    string
		spec    string
		stmts   []string
		wantErr string // empty: must pass
	}{
		{name: "pinned object, exact", spec: pinned, stmts: []string{getVersion}},
		{
			name: "pinned object without s3:GetObjectVersion", spec: pinned, stmts: []string{getObject},
			wantErr: "does not allow s3:GetObjectVersion on arn:aws:s3:::bucket/blob",
		},
		{
			name: "pinned object with s3:GetObject as well", spec: pinned, stmts: []string{getObject, getVersion},
			wantErr: "grants s3:GetObject on arn:aws:s3:::bucket/blob, which INJECTOR_SPEC does not need",
		},
		{
			name: "current object with s3:GetObjectVersion as well", spec: current, stmts: []string{getObject, getVersion},
			wantErr: "grants s3:GetObjectVersion on arn:aws:s3:::bucket/blob",
		},
		{name: "SSE-C key secret, exact", spec: sseCSecret, stmts: []string{batch, getBlobKey, getObject}},
		{
			name: "SSE-C without the key secret", spec: sseCSecret, stmts: []string{batch, getObject},
			wantErr: "does not allow secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:111122223333:secret:app/blob-key-??????",
		},
		{
			name: "SSE-C without BatchGetSecretValue for the key", spec: sseCSecret, stmts: []string{getBlobKey, getObject},
			wantErr: "does not allow secretsmanager:BatchGetSecretValue on *",
		},
		{name: "SSE-C key parameter, exact", spec: sseCParam, stmts: []string{getParam, getVersion}},
		{
			name: "SSE-C without the key parameter", spec: sseCParam, stmts: []string{getVersion},
			wantErr: "does not allow ssm:GetParameters on arn:aws:ssm:us-east-1:111122223333:parameter/app/key",
		},
		{
			name: "SSE-C key parameter granted GetParameter only", spec: sseCParam,
			stmts:   []string{`{"Effect":"Allow","Action":"ssm:GetParameter","Resource":` + param + `}`, getVersion},
			wantErr: "does not allow ssm:GetParameters",
		},
		{
			name: "SSE-C key with kms:Decrypt via its service", spec: sseCSecret,
			stmts: []string{batch, getBlobKey, getObject, decrypt("StringEquals", "secretsmanager.us-east-1.amazonaws.com")},
		},
		{
			name: "SSE-C object does not decrypt through KMS", spec: sseCSecret,
			stmts:   []string{batch, getBlobKey, getObject, decrypt("StringEquals", "secretsmanager.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com")},
			wantErr: "kms:Decrypt via s3.us-east-1.amazonaws.com, but INJECTOR_SPEC reads nothing through it",
		},
		{
			name: "kms:Decrypt missing a service the spec reads through", spec: secretParam,
			stmts:   []string{batch, getAPIKey, getParam, decrypt("StringEquals", "secretsmanager.us-east-1.amazonaws.com")},
			wantErr: "not allowed via ssm.us-east-1.amazonaws.com",
		},
		{
			name: "kms:Decrypt via a pattern", spec: shortSecret,
			stmts:   []string{batch, getAPIKey, decrypt("StringLike", "secretsmanager.*.amazonaws.com")},
			wantErr: "use StringEquals",
		},
		{
			name: "kms:Decrypt on something other than a key", spec: shortSecret,
			stmts: []string{batch, getAPIKey, `{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:111122223333:alias/a",` +
				`"Condition":{"StringEquals":{"kms:ViaService":"secretsmanager.us-east-1.amazonaws.com"}}}`},
			wantErr: "want one KMS key ARN",
		},
		{name: "secret by name, exact", spec: shortSecret, stmts: []string{batch, getAPIKey}},
		{
			name: "secret by name granted on one suffix only", spec: shortSecret,
			stmts:   []string{batch, `{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/api-key-Xy12Zw"}`},
			wantErr: "does not allow secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:111122223333:secret:app/api-key-??????",
		},
		{
			name: "secret by name granted with a star", spec: shortSecret,
			stmts:   []string{batch, `{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/api-key*"}`},
			wantErr: "grants secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:111122223333:secret:app/api-key*, which INJECTOR_SPEC does not need",
		},
		{
			name: "pinned secret needs no BatchGetSecretValue", spec: `[{"from":"secretsmanager:app/api-key:k:AWSPREVIOUS:","path":"k"}]`,
			stmts:   []string{batch, getAPIKey},
			wantErr: "grants secretsmanager:BatchGetSecretValue on *",
		},
		{name: "parameter label is not part of the ARN", spec: `[{"from":"ssm:/app/key:prod","path":"p"}]`, stmts: []string{getParam}},
		{
			name: "Deny statements only narrow", spec: current,
			stmts: []string{getObject, `{"Effect":"Deny","Action":"s3:PutObject","Resource":` + object + `}`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := testWiring(t, tc.spec)
			doc, err := parsePolicy([]byte(`{"Version":"2012-10-17","Statement":[` + strings.Join(tc.stmts, ",") + `]}`))
			if err != nil {
				t.Fatal(err)
			}
			err = errors.Join(
				checkPolicy(doc, w.partition, w.account, w.region),
				checkCoverage(doc, w),
				checkNoExtraGrants(doc, w),
			)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

package integration_test

// `injector validate` and `injector policy` run as operators run them: the
// built binary, no credentials, and every AWS endpoint (the services, the
// container credentials endpoint, instance metadata) a loopback listener
// that counts connections. Neither may connect, or write anything.

import (
	"encoding/json"
	"maps"
	"regexp"
	"strings"
	"testing"
	"time"
)

// commandSpec reads from every source: a secret by name and by ARN, a
// parameter, a path exploded into files, an S3 object with its SSE-C key in
// Secrets Manager, a pinned object and an environment variable.
const commandSpec = `[
 {"from":"secretsmanager:app/api-key","path":"api-key"},
 {"from":"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf:password::","path":"db/password"},
 {"from":"ssm:/app/url","path":"url"},
 {"from":"ssm:/app/prod/","path":"prod","format":"explode"},
 {"from":"s3://bucket/signing.key","path":"signing.key","sseCustomerKey":"secretsmanager:app/sse-key"},
 {"from":"s3://bucket/ca.pem?versionId=v1","path":"ca.pem"},
 {"from":"env:DB_TOKEN","path":"token"}
]`

// noAWSEnv is an environment with settings for spec and every AWS endpoint
// at the counter; no credentials.
func noAWSEnv(t *testing.T, c *connCounter, spec, dir, home string, extra ...string) []string {
	t.Helper()
	return append([]string{
		"PATH=/usr/bin:/bin",
		"HOME=" + home,
		"AWS_REGION=us-east-1",
		"AWS_ENDPOINT_URL=" + c.url,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + c.url,
		"AWS_ENDPOINT_URL_SSM=" + c.url,
		"AWS_ENDPOINT_URL_S3=" + c.url,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + c.url,
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + c.url + "/credentials",
		"INJECTOR_DIR=" + dir,
		"INJECTOR_SPEC=" + spec,
		"DB_TOKEN=t0ken",
	}, extra...)
}

var logError = regexp.MustCompile(`error="((?:[^"\\]|\\.)*)"`)

func TestValidateAndPolicyMakeNoCall(t *testing.T) {
	const key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	type check func(t *testing.T, r run)
	contains := func(want ...string) check {
		return func(t *testing.T, r run) {
			for _, w := range want {
				if !strings.Contains(r.output, w) {
					t.Errorf("output does not say %q:\n%s", w, r.output)
				}
			}
		}
	}
	policyGrants := func(want ...string) check {
		return func(t *testing.T, r run) {
			var doc struct {
				Version   string
				Statement []struct {
					Action   string
					Resource []string
				}
			}
			if err := json.Unmarshal([]byte(r.output), &doc); err != nil {
				t.Fatalf("not one JSON document: %v\n%s", err, r.output)
			}
			var got []string
			for _, st := range doc.Statement {
				for _, res := range st.Resource {
					got = append(got, st.Action+" "+res)
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("grants:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
	}
	tests := []struct {
		name  string
		args  []string
		spec  string
		extra []string
		code  int
		check check
	}{
		{name: "validate", args: []string{"validate"}, spec: commandSpec, check: contains(
			"Valid: no AWS call was made and nothing was written.",
			"prod/", "a file per parameter under the path",
			"Round 2, after round 1", "s3://bucket/signing.key", "SSE-C key sent",
			"secretsmanager  GetSecretValue       us-east-1  app/api-key",
			"ssm             GetParametersByPath  us-east-1  /app/prod/",
			"env:DB_TOKEN")},
		{name: "validate --json", args: []string{"validate", "--json"}, spec: commandSpec, check: contains(`"valid": true`)},
		{name: "validate in refresh mode", args: []string{"validate"}, spec: commandSpec, extra: []string{"INJECTOR_REFRESH_INTERVAL=5m"},
			check: contains("Checks each interval", "DescribeSecret", "HeadObject", "Never checked")},
		{name: "policy", args: []string{"policy", "--kms-key", key}, spec: commandSpec, check: policyGrants(
			"secretsmanager:GetSecretValue arn:aws:secretsmanager:us-east-1:111122223333:secret:app/api-key-??????",
			"secretsmanager:GetSecretValue arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf",
			"secretsmanager:GetSecretValue arn:aws:secretsmanager:us-east-1:111122223333:secret:app/sse-key-??????",
			"ssm:GetParameters arn:aws:ssm:us-east-1:111122223333:parameter/app/url",
			"ssm:GetParametersByPath arn:aws:ssm:us-east-1:111122223333:parameter/app/prod",
			"s3:GetObject arn:aws:s3:::bucket/signing.key",
			"s3:GetObjectVersion arn:aws:s3:::bucket/ca.pem",
			"kms:Decrypt "+key,
		)},
		{name: "policy in refresh mode", args: []string{"policy", "--kms-key", key}, spec: commandSpec, extra: []string{"INJECTOR_REFRESH_INTERVAL=5m"},
			check: contains(`"secretsmanager:DescribeSecret"`)},
		{name: "validate: invalid spec", args: []string{"validate"}, spec: `[{"from":"ssm:/a","path":"/etc/passwd"}]`, code: 2,
			check: contains("must be relative")},
		{name: "validate: variable unset", args: []string{"validate"}, spec: commandSpec, extra: []string{"DB_TOKEN="}, code: 2,
			check: contains("env:DB_TOKEN")},
		{name: "policy: invalid spec", args: []string{"policy"}, spec: `[{"from":"ssm:/a","path":"x","format":"yaml"}]`, code: 2,
			check: contains(`unknown format \"yaml\"`)},
		{name: "policy: account unknown", args: []string{"policy"}, spec: `[{"from":"ssm:/a","path":"x"}]`, code: 2,
			check: contains("pass --account")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := countConnections(t)
			dir, home := t.TempDir(), t.TempDir()
			plantFile(t, dir+"/existing", "kept", 0o600)
			before := snapshotTree(t, dir)
			env := noAWSEnv(t, c, tc.spec, dir, home, tc.extra...)
			r, err := runBinary(h.bin, env, time.Minute, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", r.code, tc.code, r.output)
			}
			tc.check(t, r)
			if n := c.count(); n != 0 {
				t.Errorf("%d connections to AWS endpoints, want none", n)
			}
			if after := snapshotTree(t, dir); !maps.Equal(before, after) {
				t.Errorf("INJECTOR_DIR changed: %v -> %v", before, after)
			}
			if home := snapshotTree(t, home); len(home) > 1 {
				t.Errorf("HOME holds %v, want nothing", home)
			}
			if tc.code == 0 || tc.args[0] != "validate" {
				return
			}
			// The same error as a run of the same settings, which also
			// stops before any call.
			inj, err := runBinary(h.bin, env, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			want, got := logError.FindStringSubmatch(inj.output), logError.FindStringSubmatch(r.output)
			if inj.code != 2 || want == nil || got == nil || want[1] != got[1] {
				t.Errorf("a run: exit %d, %q; validate: %q", inj.code, inj.output, r.output)
			}
			if n := c.count(); n != 0 {
				t.Errorf("the run made %d connections", n)
			}
		})
	}
}

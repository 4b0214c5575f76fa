package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ecs-secret-injector/injector/internal/iampolicy"
)

// planEnv sets the settings of a run and an environment in which no AWS
// configuration could be found: no credentials, no shared files, no
// instance metadata, and endpoints that refuse connections.
func planEnv(t *testing.T, spec string, extra ...string) {
	t.Helper()
	for _, kv := range [][2]string{
		{"INJECTOR_DIR", t.TempDir()}, {"INJECTOR_SPEC", spec}, {"INJECTOR_SPEC_FILE", ""},
		{"INJECTOR_REFRESH_INTERVAL", ""}, {"INJECTOR_LOG_FORMAT", ""},
		{"AWS_REGION", "us-east-1"}, {"AWS_DEFAULT_REGION", ""},
		{"AWS_ACCESS_KEY_ID", ""}, {"AWS_SECRET_ACCESS_KEY", ""}, {"AWS_PROFILE", ""},
		{"AWS_CONFIG_FILE", "/dev/null"}, {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"},
		{"AWS_EC2_METADATA_DISABLED", "true"}, {"AWS_ENDPOINT_URL", "http://127.0.0.1:1"},
	} {
		t.Setenv(kv[0], kv[1])
	}
	for _, kv := range extra {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
}

var errorAttr = regexp.MustCompile(`error="((?:[^"\\]|\\.)*)"`)

// errorOf is the error= attribute of a text log line.
func errorOf(t *testing.T, log string) string {
	t.Helper()
	m := errorAttr.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no error attribute in:\n%s", log)
	}
	return m[1]
}

const validSpec = `[{"from":"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf:password::","path":"db"},` +
	`{"from":"ssm:/app/url","path":"url"},{"from":"env:HOME","path":"home"}]`

func TestValidate(t *testing.T) {
	planEnv(t, validSpec)
	code, out, errOut := runArgs(t, "validate")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	for _, want := range []string{"Valid: no AWS call was made", "Files (3):", "db    raw     arn:aws:secretsmanager:", "GetParameters", "env:HOME"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	code, out, _ = runArgs(t, "validate", "--json")
	var v struct {
		Valid bool
		Files []struct{ Path string }
	}
	if err := json.Unmarshal([]byte(out), &v); code != exitOK || err != nil || !v.Valid || len(v.Files) != 3 {
		t.Errorf("--json: exit %d, %v, %+v:\n%s", code, err, v, out)
	}
}

// TestValidateFailsAsARunDoes: for every configuration error, validate
// exits 2 with the error a run logs.
func TestValidateFailsAsARunDoes(t *testing.T) {
	tests := []struct {
		name  string
		spec  string
		extra []string
		want  string
	}{
		{"bad setting", validSpec, []string{"INJECTOR_FILE_MODE=0666"}, "INJECTOR_FILE_MODE"},
		{"bad spec", `[{"from":"ssm:/a","path":"../x"}]`, nil, "must be relative and stay inside the output root"},
		{"unknown field", `[{"from":"ssm:/a","Path":"x"}]`, nil, `unknown field \"Path\"`},
		{"unset variable", `[{"from":"env:INJECTOR_TEST_UNSET","path":"x"}]`, []string{"INJECTOR_TEST_UNSET="}, "env:INJECTOR_TEST_UNSET"},
		{"no region", `[{"from":"ssm:/a","path":"x"}]`, []string{"AWS_REGION="}, "names no region"},
		{"ecs-config in refresh mode", `[{"from":"secretsmanager:r","path":"ecs.config","format":"ecs-config","registry":"ghcr.io"}]`,
			[]string{"INJECTOR_REFRESH_INTERVAL=1m"}, "refresh mode cannot update it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			planEnv(t, tc.spec, tc.extra...)
			code, out, errOut := runArgs(t, "validate")
			if code != exitConfig || out != "" {
				t.Fatalf("exit %d, stdout %q, want %d and nothing", code, out, exitConfig)
			}
			got := errorOf(t, errOut)
			if !strings.Contains(got, tc.want) || !strings.Contains(got, "configuration error") {
				t.Errorf("error %q does not say %q", got, tc.want)
			}
			runCode, _, runErr := runArgs(t)
			if runCode != exitConfig || errorOf(t, runErr) != got {
				t.Errorf("a run: exit %d, error %q; validate said %q", runCode, errorOf(t, runErr), got)
			}
		})
	}
}

func TestPolicy(t *testing.T) {
	const key = "arn:aws:kms:us-east-1:111122223333:key/k1"
	planEnv(t, validSpec)
	code, out, errOut := runArgs(t, "policy", "--kms-key", key)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	var doc iampolicy.Document
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil || dec.More() {
		t.Fatalf("stdout is not one policy document (%v):\n%s", err, out)
	}
	want := []string{
		"secretsmanager:GetSecretValue arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf",
		"ssm:GetParameters arn:aws:ssm:us-east-1:111122223333:parameter/app/url",
		"kms:Decrypt " + key,
	}
	var got []string
	for _, st := range doc.Statement {
		for _, r := range st.Resource {
			got = append(got, st.Action+" "+r)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("grants:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// No key: the policy, and a note on stderr.
	code, out, errOut = runArgs(t, "policy")
	if code != exitOK || !strings.Contains(errOut, "no --kms-key") || strings.Contains(out, "kms:Decrypt") {
		t.Errorf("without --kms-key: exit %d, stderr %q:\n%s", code, errOut, out)
	}
	// A run that batches (here by setting) needs BatchGetSecretValue, on "*".
	planEnv(t, validSpec, "INJECTOR_SECRETS_BATCH=always")
	code, out, errOut = runArgs(t, "policy")
	if code != exitOK || !strings.Contains(out, `"Action": "secretsmanager:BatchGetSecretValue",
      "Resource": [
        "*"
      ]`) {
		t.Errorf("a batching run: exit %d, stderr %q:\n%s", code, errOut, out)
	}
	// env: alone: no statement, and why.
	planEnv(t, `[{"from":"env:HOME","path":"home"}]`)
	code, out, errOut = runArgs(t, "policy")
	if code != exitOK || !strings.Contains(out, `"Statement": []`) || !strings.Contains(errOut, "needs no task role") {
		t.Errorf("env: only: exit %d, stderr %q:\n%s", code, errOut, out)
	}
}

func TestPolicyErrors(t *testing.T) {
	named := `[{"from":"ssm:/app/url","path":"url"}]`
	tests := []struct {
		name  string
		spec  string
		args  []string
		extra []string
		want  string
	}{
		{"account unknown", named, nil, nil, "pass --account"},
		{"account malformed", named, []string{"--account", "12345"}, nil, "want a 12-digit account id"},
		{"partition malformed", named, []string{"--account", "111122223333", "--partition", "amazon"}, nil, "want a partition"},
		{"region unknown", named, []string{"--account", "111122223333"}, []string{"AWS_REGION="}, "or pass --region"},
		{"alias", named, []string{"--account", "111122223333", "--kms-key", "arn:aws:kms:us-east-1:111122223333:alias/a"}, nil, "want a key ARN"},
		{"spec invalid", `[{"from":"ssm:/a"}]`, nil, nil, "path is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			planEnv(t, tc.spec, tc.extra...)
			code, out, errOut := runArgs(t, append([]string{"policy"}, tc.args...)...)
			if code != exitConfig || out != "" {
				t.Fatalf("exit %d, stdout %q; want %d and nothing", code, out, exitConfig)
			}
			if got := errorOf(t, errOut); !strings.Contains(got, tc.want) {
				t.Errorf("error %q does not say %q", got, tc.want)
			}
		})
	}
	// --region stands in for AWS_REGION.
	planEnv(t, named, "AWS_REGION=")
	code, out, errOut := runArgs(t, "policy", "--account", "111122223333", "--region", "eu-west-1")
	if code != exitOK || !strings.Contains(out, "arn:aws:ssm:eu-west-1:111122223333:parameter/app/url") {
		t.Errorf("--region: exit %d, stderr %q:\n%s", code, errOut, out)
	}
}

func TestPlanCommandsHelpListFlags(t *testing.T) {
	for cmd, flags := range map[string][]string{
		"validate": {"--json\n"},
		"policy":   {"--account ACCOUNT\n", "--region REGION\n", "--partition PARTITION\n", "--kms-key ARN\n"},
	} {
		var out bytes.Buffer
		if code := run(t.Context(), []string{cmd, "--help"}, &out, &out); code != exitOK {
			t.Fatalf("%s --help: exit %d", cmd, code)
		}
		for _, f := range flags {
			if !strings.Contains(out.String(), "  "+f) {
				t.Errorf("%s --help does not list %q:\n%s", cmd, f, out.String())
			}
		}
	}
}

// TestREADMECommandSamples: the sample output of validate and policy in
// docs/commands.md is what they print for its spec.
func TestREADMECommandSamples(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "commands.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	_, rest, ok := strings.Cut(readme, "(`/tmp/spec.json`) in refresh mode:\n\n")
	spec, _, ok2 := strings.Cut(rest, "\n    $ ")
	if !ok || !ok2 {
		t.Fatal("docs/commands.md has no validate sample")
	}
	planEnv(t, unindent(spec), "INJECTOR_DIR=/secrets", "INJECTOR_REFRESH_INTERVAL=5m", "DB_TOKEN=x")
	const key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	for _, args := range [][]string{{"validate"}, {"policy", "--kms-key", key}} {
		code, out, errOut := runArgs(t, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d:\n%s", args, code, errOut)
		}
		var sample strings.Builder
		for line := range strings.Lines(out) {
			if line != "\n" {
				sample.WriteString("    ")
			}
			sample.WriteString(line)
		}
		if !strings.Contains(readme, "\n"+sample.String()) {
			t.Errorf("docs/commands.md does not show what injector %s prints:\n%s", strings.Join(args, " "), out)
		}
	}
}

// unindent takes a Markdown code block's four-space indent off.
func unindent(block string) string {
	lines := strings.Split(block, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "    ")
	}
	return strings.Join(lines, "\n")
}

// isAccountID and isPartition accept what the patterns of an account id
// and a partition accept.
func TestPolicyFlagPatterns(t *testing.T) {
	account := regexp.MustCompile(`^[0-9]{12}$`)
	partition := regexp.MustCompile(`^aws(-[a-z]+)*$`)
	for _, s := range []string{
		"", "123456789012", "12345678901", "1234567890123", "12345678901a", "١٢٣٤٥٦٧٨٩٠١٢", " 123456789012",
		"aws", "aws-cn", "aws-us-gov", "aws-", "aws--cn", "aws-cn-", "aws-Cn", "aws-c1", "awscn", "AWS", "aws-iso-b", "x-aws", "aws\n",
	} {
		if got, want := isAccountID(s), account.MatchString(s); got != want {
			t.Errorf("isAccountID(%q) = %v, want %v", s, got, want)
		}
		if got, want := isPartition(s), partition.MatchString(s); got != want {
			t.Errorf("isPartition(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestValidateWarnings: validate says, in text and in JSON, when the file
// mode and owner settings let no other uid read the files, or only one in
// the injector's group; the settings stay valid (exit 0).
func TestValidateWarnings(t *testing.T) {
	tests := []struct {
		name  string
		extra []string
		want  []string
	}{
		{"default 0400", nil, []string{warnOwnerOnlyProcess}},
		{"0400 with INJECTOR_UID", []string{"INJECTOR_UID=1000"}, []string{warnOwnerOnlyUID}},
		{"0440, the injector's group", []string{"INJECTOR_FILE_MODE=0440"}, []string{warnGroupProcess}},
		{"0440 with INJECTOR_GID", []string{"INJECTOR_FILE_MODE=0440", "INJECTOR_GID=65532"}, nil},
		{"0444", []string{"INJECTOR_FILE_MODE=0444"}, []string{warnOtherRead}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			planEnv(t, validSpec, append([]string{"INJECTOR_FILE_MODE=", "INJECTOR_UID=", "INJECTOR_GID="}, tc.extra...)...)
			code, out, errOut := runArgs(t, "validate")
			if code != exitOK || errOut != "" {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			// The text wraps each warning; compare it joined again.
			_, section, found := strings.Cut(out, "\nWarnings (")
			section, _, _ = strings.Cut(section, "\n\n")
			if found != (len(tc.want) > 0) {
				t.Errorf("a Warnings section: %v, want %v:\n%s", found, len(tc.want) > 0, out)
			}
			joined := strings.Join(strings.Fields(section), " ")
			for _, w := range tc.want {
				if !strings.Contains(joined, w+".") {
					t.Errorf("text does not warn %q:\n%s", w, out)
				}
			}

			code, out, _ = runArgs(t, "validate", "--json")
			var v struct {
				Valid    bool
				Warnings []string
			}
			if err := json.Unmarshal([]byte(out), &v); code != exitOK || err != nil || !v.Valid {
				t.Fatalf("--json: exit %d, %v:\n%s", code, err, out)
			}
			if !strings.Contains(out, `"warnings": [`) {
				t.Errorf("--json has no warnings list:\n%s", out)
			}
			if !slices.Equal(v.Warnings, tc.want) {
				t.Errorf("--json warnings %q, want %q", v.Warnings, tc.want)
			}
		})
	}
}

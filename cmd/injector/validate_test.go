package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ecs-secret-injector/injector/config"
	"github.com/ecs-secret-injector/injector/engine"
	"github.com/ecs-secret-injector/injector/internal/testsupport/testplan"
	"github.com/ecs-secret-injector/injector/sources"
)

const planSpec = `[
 {"from":"secretsmanager:app/api-key","path":"api-key"},
 {"from":"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf:password::","path":"db/password"},
 {"from":"ssm:/app/prod/","path":"prod","format":"explode"},
 {"from":"ssm:/app/prod/","path":"prod.env","format":"dotenv"},
 {"from":"secretsmanager:app/cfg","path":"cfg","format":"explode"},
 {"path":"app.yaml","format":"template","template":"{{.host}}","inputs":{"host":"ssm:/app/db/host:3"}},
 {"from":"s3://bucket/signing.key?versionId=v1","path":"signing.key","sseCustomerKey":"env:SSE_KEY"},
 {"from":"s3://bucket/eu.pem?region=eu-west-1","path":"eu.pem"},
 {"from":"secretsmanager:ci/registry","path":".docker/config.json","format":"dockerconfigjson","registry":"ghcr.io"}
]`

// parseSettings loads the settings with env as the whole INJECTOR_ environment.
func parseSettings(t *testing.T, env map[string]string) config.Settings {
	t.Helper()
	for _, v := range config.Variables() {
		t.Setenv(v.Name, "")
		os.Unsetenv(v.Name)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	s, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// planned plans spec under env's settings as validate does.
func planned(t *testing.T, spec string, env map[string]string) (engine.Description, validateEnv) {
	t.Helper()
	base := map[string]string{"INJECTOR_DIR": "/secrets", "INJECTOR_SPEC": spec}
	for k, v := range env {
		base[k] = v
	}
	s := parseSettings(t, base)
	p := testplan.Plan(t, spec)
	f := sources.NewPlanner("us-east-1", sources.Options{Concurrency: s.Concurrency.N, Batch: sources.Batching(s.SecretsBatch.Mode),
		LookupEnv: func(string) (string, bool) { return "set", true }})
	run, err := engine.Describe(p, f, s.Refresh())
	if err != nil {
		t.Fatal(err)
	}
	return run, validateEnv{Settings: s, Region: "us-east-1", RegionFrom: "AWS_REGION"}
}

func planText(t *testing.T, run engine.Description, env validateEnv) string {
	t.Helper()
	var b bytes.Buffer
	if err := writePlan(&b, run, env); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestWrite: the whole text of one plan, every file and every call.
func TestWritePlan(t *testing.T) {
	run, env := planned(t, planSpec, nil)
	got := planText(t, run, env)
	want := `Valid: no AWS call was made and nothing was written.

Mode:            one-shot (INJECTOR_REFRESH_INTERVAL is unset)
Output root:     /secrets (files mode 0400)
Default region:  us-east-1 (AWS_REGION)

Warnings (1): valid, but check who reads the files:
  - INJECTOR_FILE_MODE gives no group or other read: only the injector's own user (its effective
    uid, since INJECTOR_UID is -1) and root can read the files; an app container must run as that
    same uid, or use a mode with group read (0440) and the injector's group.

Files (9):
  PATH                 FORMAT            FROM
  api-key              raw               secretsmanager:app/api-key
  db/password          raw               arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf:password::
  prod/                explode           ssm:/app/prod/
                                           a file per parameter under the path, at its name below it
  prod.env             dotenv            ssm:/app/prod/
                                           a variable per parameter under the path, named by its name below it
  cfg/                 explode           secretsmanager:app/cfg
                                           a file per top-level key of the JSON value, named by the key
  app.yaml             template          host=ssm:/app/db/host:3
  signing.key          raw               s3://bucket/signing.key?versionId=v1 (SSE-C key from env:SSE_KEY)
  eu.pem               raw               s3://bucket/eu.pem?region=eu-west-1
  .docker/config.json  dockerconfigjson  ghcr.io from secretsmanager:ci/registry

API calls of a run: 8 in 2 rounds, at most 32 in flight (INJECTOR_CONCURRENCY)
Round 1: 7 calls.
  Secrets Manager: one GetSecretValue per secret (INJECTOR_SECRETS_BATCH=auto: the 7 calls fit in INJECTOR_CONCURRENCY=32).
  SERVICE         OPERATION            REGION     READS                                                               HOW
  secretsmanager  GetSecretValue       us-east-1  app/api-key
  secretsmanager  GetSecretValue       us-east-1  arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf
  secretsmanager  GetSecretValue       us-east-1  app/cfg
  secretsmanager  GetSecretValue       us-east-1  ci/registry
  ssm             GetParametersByPath  us-east-1  /app/prod/                                                          recursive, every page, with decryption
  ssm             GetParameters        us-east-1  /app/db/host:3                                                      up to 10 names, with decryption
  -               -                    -          env:SSE_KEY                                                         the injector's own environment, no call
  s3              GetObject            eu-west-1  s3://bucket/eu.pem
Round 2, after round 1 (S3 objects read with an SSE-C key it fetched): 1 call.
  SERVICE  OPERATION  REGION     READS                                 HOW
  s3       GetObject  us-east-1  s3://bucket/signing.key?versionId=v1  pinned version; SSE-C key sent
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestWritePlanBatchRule(t *testing.T) {
	var items []string
	for i := range 40 {
		items = append(items, fmt.Sprintf(`{"from":"secretsmanager:s%02d","path":"s%02d"}`, i, i))
	}
	items = append(items, `{"from":"secretsmanager:pinned:::v1","path":"pinned"}`)
	many := "[" + strings.Join(items, ",") + "]"
	tests := []struct {
		name, spec string
		env        map[string]string
		want       string
		calls      map[string]int
	}{
		{"auto, over the concurrency", many, nil,
			"Secrets Manager: unpinned secrets 20 to a BatchGetSecretValue, pinned ones one GetSecretValue each (INJECTOR_SECRETS_BATCH=auto: one call per value would take 41 calls, more than INJECTOR_CONCURRENCY=32).",
			map[string]int{"BatchGetSecretValue": 2, "GetSecretValue": 1}},
		{"auto, within a raised concurrency", many, map[string]string{"INJECTOR_CONCURRENCY": "64"},
			"one GetSecretValue per secret (INJECTOR_SECRETS_BATCH=auto: the 41 calls fit in INJECTOR_CONCURRENCY=64).",
			map[string]int{"GetSecretValue": 41}},
		{"never", many, map[string]string{"INJECTOR_SECRETS_BATCH": "never"}, "one GetSecretValue per secret (INJECTOR_SECRETS_BATCH=never).",
			map[string]int{"GetSecretValue": 41}},
		{"always", `[{"from":"secretsmanager:a","path":"a"}]`, map[string]string{"INJECTOR_SECRETS_BATCH": "always"},
			"20 to a BatchGetSecretValue, pinned ones one GetSecretValue each (INJECTOR_SECRETS_BATCH=always).",
			map[string]int{"BatchGetSecretValue": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run, env := planned(t, tc.spec, tc.env)
			if out := planText(t, run, env); !strings.Contains(out, tc.want) {
				t.Errorf("no %q in:\n%s", tc.want, out)
			}
			got := map[string]int{}
			for _, c := range run.Calls() {
				got[c.Operation]++
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.calls) {
				t.Errorf("calls %v, want %v", got, tc.calls)
			}
		})
	}
}

func TestWritePlanRefresh(t *testing.T) {
	run, env := planned(t, planSpec, map[string]string{"INJECTOR_REFRESH_INTERVAL": "30s"})
	if run.Checks == nil {
		t.Fatal("no checks in refresh mode")
	}
	out := planText(t, run, env)
	for _, want := range []string{
		"Mode:            refresh: a check every 30s (±10%), unhealthy after 1m30s unconfirmed",
		"Checks each interval (refresh mode): 6 calls, no value fetched",
		"secretsmanager  DescribeSecret       us-east-1  app/api-key",
		"ssm             GetParametersByPath  us-east-1  /app/prod/",
		"recursive, every page, versions only, without decryption",
		"s3              HeadObject           eu-west-1  s3://bucket/eu.pem",
		"secretsmanager  DescribeSecret       us-east-1  ci/registry",
		"Never checked, their version cannot change: /app/db/host:3, env:SSE_KEY, s3://bucket/signing.key?versionId=v1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	// Pinned versions are never checked.
	for _, c := range run.Checks.Calls {
		if c.Operation == "GetParameters" || c.Targets[0].VersionID != "" {
			t.Errorf("a pinned version is checked: %+v", c)
		}
	}
	if one, _ := planned(t, planSpec, nil); one.Checks != nil || one.Fixed != nil {
		t.Errorf("one-shot mode has checks: %+v", one.Checks)
	}
}

// TestWriteJSON: the JSON form holds the same plan.
func TestWritePlanJSON(t *testing.T) {
	run, env := planned(t, planSpec, map[string]string{"INJECTOR_REFRESH_INTERVAL": "1m", "INJECTOR_MAX_STALENESS": "5m"})
	var b bytes.Buffer
	if err := writePlanJSON(&b, run, env); err != nil {
		t.Fatal(err)
	}
	var v view
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if !v.Valid || v.Dir != "/secrets" || v.DefaultRegion != "us-east-1" || v.Refresh == nil ||
		v.Refresh.Interval != time.Minute.String() || v.Refresh.MaxStaleness != (5*time.Minute).String() {
		t.Errorf("settings: %+v", v)
	}
	if len(v.Files) != 9 || !v.Files[2].Dir || v.Files[2].Path != "prod" || v.Files[6].From[0].SSECustomerKey != "env:SSE_KEY" {
		t.Errorf("files: %+v", v.Files)
	}
	if len(v.Rounds) != 2 || v.Rounds[0].APICalls != 7 || len(v.Rounds[0].Calls) != 8 || !v.Rounds[1].Calls[0].SSECustomerKey {
		t.Errorf("rounds: %+v", v.Rounds)
	}
	if v.Checks == nil || v.Checks.APICalls != 6 || len(v.NotChecked) != 3 {
		t.Errorf("checks: %+v, not checked %v", v.Checks, v.NotChecked)
	}
}

// TestWritePlanRolesAndFailover: each call shows its role and failover
// region; a secret read directly from several accounts is warned about.
func TestWritePlanRolesAndFailover(t *testing.T) {
	const spec = `[
 {"from":"secretsmanager:app/db","path":"db","roleArn":"arn:aws:iam::222233334444:role/reader","failoverRegion":"us-west-2"},
 {"from":"secretsmanager:app/api","path":"api","roleArn":"arn:aws:iam::222233334444:role/reader"},
 {"from":"arn:aws:secretsmanager:us-east-1:555566667777:secret:shared/a-AbCdEf","path":"a"},
 {"from":"arn:aws:secretsmanager:us-east-1:111122223333:secret:own/b-AbCdEf","path":"b"},
 {"from":"s3://bucket/k","path":"k","failoverRegion":"us-west-2"}
]`
	run, env := planned(t, spec, nil)
	got := planText(t, run, env)
	for _, want := range []string{
		"secretsmanager  GetSecretValue  us-east-1  app/db",
		"as role arn:aws:iam::222233334444:role/reader; failover to us-west-2 on an outage",
		"Warnings (1): valid, but check the other accounts' policies:",
		"aws/secretsmanager cannot be used across accounts",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("plan has no %q:\n%s", want, got)
		}
	}
	for _, line := range strings.Split(got, "\n") {
		if strings.Contains(line, "s3://bucket/k") && strings.Contains(line, "failover") {
			t.Errorf("S3 fails over: %s", line)
		}
		if strings.Contains(line, "GetSecretValue") && strings.Contains(line, "app/api") && !strings.Contains(line, "as role") {
			t.Errorf("a role's call without its role: %s", line)
		}
	}
	var b bytes.Buffer
	if err := writePlanJSON(&b, run, env); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"role": "arn:aws:iam::222233334444:role/reader"`) || !strings.Contains(b.String(), `"failoverRegion": "us-west-2"`) {
		t.Errorf("JSON plan:\n%s", b.String())
	}
}

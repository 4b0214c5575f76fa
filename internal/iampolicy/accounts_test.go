package iampolicy

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/sources"
)

const (
	taskRole    = "arn:aws:iam::111122223333:role/app-task"
	centralRole = "arn:aws:iam::444455556666:role/reader"
	sharedARN   = "arn:aws:secretsmanager:us-east-1:777788889999:secret:shared/api-AbCdEf"
)

// crossAccountCalls plans a spec with a role (failing over), a direct
// read of another account's secret and a direct read of the task's own.
func crossAccountCalls(t *testing.T, refresh bool) []sources.Call {
	t.Helper()
	f := sources.NewPlanner("us-east-1", sources.Options{Concurrency: 32})
	reqs := []sources.Request{
		{Target: ref.Target{Source: ref.SecretsManager, ID: "app/db"}, Role: sources.Role{ARN: centralRole, ExternalID: "ext-1"}, FailoverRegion: "us-west-2"},
		{Target: ref.Target{Source: ref.SecretsManager, Region: "us-east-1", ID: sharedARN}},
		{Target: ref.Target{Source: ref.SSM, ID: "/app/flag"}},
	}
	r, err := f.PlanFetch(reqs)
	if err != nil {
		t.Fatal(err)
	}
	calls := r.Calls
	if refresh {
		c, err := f.PlanChecks(reqs)
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, c.Calls...)
	}
	return calls
}

func grantsOf(d Document) []string {
	var out []string
	for _, s := range d.Statement {
		for _, r := range s.Resource {
			out = append(out, s.Action+" "+r)
		}
	}
	slices.Sort(out)
	return out
}

func TestBuildSet(t *testing.T) {
	calls := crossAccountCalls(t, true)
	if !NeedsSet(calls, "") {
		t.Fatal("a spec with a role needs a set")
	}
	set, err := BuildSet(calls, Options{Account: "111122223333", KMSKeys: []string{
		"arn:aws:kms:us-east-1:444455556666:key/k1", "arn:aws:kms:us-west-2:444455556666:key/k3", "arn:aws:kms:us-east-1:777788889999:key/k2"}}, taskRole)
	if err != nil {
		t.Fatal(err)
	}
	wantTask := []string{
		"kms:Decrypt arn:aws:kms:us-east-1:777788889999:key/k2",
		"secretsmanager:DescribeSecret " + sharedARN,
		"secretsmanager:GetSecretValue " + sharedARN,
		"ssm:GetParameters arn:aws:ssm:us-east-1:111122223333:parameter/app/flag",
		"sts:AssumeRole " + centralRole,
	}
	if got := grantsOf(set.TaskRole); !slices.Equal(got, wantTask) {
		t.Errorf("task role grants\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantTask, "\n"))
	}
	if len(set.Roles) != 1 || set.Roles[0].RoleARN != centralRole {
		t.Fatalf("roles %+v", set.Roles)
	}
	wantRole := []string{
		"kms:Decrypt arn:aws:kms:us-east-1:444455556666:key/k1",
		"kms:Decrypt arn:aws:kms:us-west-2:444455556666:key/k3",
		"secretsmanager:DescribeSecret arn:aws:secretsmanager:us-east-1:444455556666:secret:app/db-??????",
		"secretsmanager:DescribeSecret arn:aws:secretsmanager:us-west-2:444455556666:secret:app/db-??????",
		"secretsmanager:GetSecretValue arn:aws:secretsmanager:us-east-1:444455556666:secret:app/db-??????",
		"secretsmanager:GetSecretValue arn:aws:secretsmanager:us-west-2:444455556666:secret:app/db-??????",
	}
	if got := grantsOf(set.Roles[0].Policy); !slices.Equal(got, wantRole) {
		t.Errorf("role grants\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantRole, "\n"))
	}
	trust, _ := json.Marshal(set.Roles[0].Trust)
	if string(trust) != `{"Sid":"AllowInjectorTaskRole","Effect":"Allow","Principal":{"AWS":"`+taskRole+`"},"Action":["sts:AssumeRole"],"Condition":{"StringEquals":{"sts:ExternalId":["ext-1"]}}}` {
		t.Errorf("trust %s", trust)
	}
	if len(set.SecretPolicies) != 1 || set.SecretPolicies[0].Resource != sharedARN ||
		!slices.Equal(set.SecretPolicies[0].Statement.Action, []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"}) ||
		set.SecretPolicies[0].Statement.Principal["AWS"] != taskRole || set.SecretPolicies[0].Statement.Resource != "*" {
		t.Errorf("secret policies %+v", set.SecretPolicies)
	}
	if len(set.KeyPolicies) != 1 || set.KeyPolicies[0].Resource != "arn:aws:kms:us-east-1:777788889999:key/k2" ||
		!slices.Equal(set.KeyPolicies[0].Statement.Condition["StringEquals"]["kms:ViaService"], []string{"secretsmanager.us-east-1.amazonaws.com"}) {
		t.Errorf("key policies %+v", set.KeyPolicies)
	}
	// Nothing beyond "*" where AWS requires it: the resource policies.
	for _, d := range []Document{set.TaskRole, set.Roles[0].Policy} {
		for _, s := range d.Statement {
			for _, r := range s.Resource {
				if strings.Contains(r, "*") {
					t.Errorf("%s on %s", s.Action, r)
				}
			}
		}
	}
	w := Warnings(calls, taskRole)
	if len(w) != 1 || !strings.Contains(w[0], sharedARN) || !strings.Contains(w[0], "aws/secretsmanager cannot be used across accounts") {
		t.Errorf("warnings %q", w)
	}
}

func TestBuildSetErrors(t *testing.T) {
	calls := crossAccountCalls(t, false)
	if _, err := BuildSet(calls, Options{Account: "111122223333"}, ""); !errors.Is(err, ErrOptions) {
		t.Errorf("no task role: %v", err)
	}
	if _, err := BuildSet(calls, Options{Account: "111122223333"}, "arn:aws:iam::111122223333:user/u"); !errors.Is(err, ErrOptions) {
		t.Errorf("a user as the task role: %v", err)
	}
}

func TestWarningsWithoutTaskAccount(t *testing.T) {
	f := sources.NewPlanner("us-east-1", sources.Options{Concurrency: 32})
	r, err := f.PlanFetch([]sources.Request{
		{Target: ref.Target{Source: ref.SecretsManager, Region: "us-east-1", ID: sharedARN}},
		{Target: ref.Target{Source: ref.SecretsManager, Region: "us-east-1", ID: "arn:aws:secretsmanager:us-east-1:111122223333:secret:own-AbCdEf"}},
		{Target: ref.Target{Source: ref.SecretsManager, Region: "us-east-1", ID: sharedARN + "x"}, Role: sources.Role{ARN: centralRole}},
	})
	if err != nil {
		t.Fatal(err)
	}
	w := Warnings(r.Calls, "")
	if len(w) != 2 || !strings.Contains(w[0], centralRole) || !strings.Contains(w[1], "several accounts directly (111122223333, 777788889999)") {
		t.Errorf("warnings %q", w)
	}
	if NeedsSet(r.Calls[:2], "") {
		t.Error("no role and no task role: one document")
	}
}

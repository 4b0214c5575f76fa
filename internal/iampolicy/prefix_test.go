package iampolicy

import (
	"slices"
	"testing"

	"github.com/ecs-secret-injector/injector/sources"
)

// A secret prefix needs BatchGetSecretValue and ListSecrets (neither has
// resource-level permissions) and GetSecretValue on the prefix's ARN
// pattern; its refresh checks need ListSecrets.
func TestBuildSecretPrefix(t *testing.T) {
	reqs := []sources.Request{
		{Target: target(t, "secretsmanager:app/prod/*")},
		{Target: target(t, "arn:aws:secretsmanager:eu-west-1:111122223333:secret:team/*")},
	}
	f := sources.NewPlanner("us-east-1", sources.Options{})
	fetch, err := f.PlanFetch(reqs)
	if err != nil {
		t.Fatal(err)
	}
	checks, err := f.PlanChecks(reqs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"secretsmanager:BatchGetSecretValue *",
		"secretsmanager:GetSecretValue arn:aws:secretsmanager:eu-west-1:111122223333:secret:team/*",
		"secretsmanager:GetSecretValue arn:aws:secretsmanager:us-east-1:111122223333:secret:app/prod/*",
		"secretsmanager:ListSecrets *",
	}
	doc, err := Build(append(fetch.Calls, checks.Calls...), Options{Account: account})
	if err != nil {
		t.Fatal(err)
	}
	got := slices.DeleteFunc(grants(doc), func(s string) bool { return s[:4] == "kms:" })
	if !slices.Equal(got, want) {
		t.Errorf("grants\n%q\nwant\n%q", got, want)
	}
	// The checks alone list, and read nothing.
	doc, err = Build(checks.Calls, Options{Account: account})
	if err != nil || !slices.Equal(grants(doc), []string{"secretsmanager:ListSecrets *"}) {
		t.Errorf("checks' grants %q, %v", grants(doc), err)
	}
}

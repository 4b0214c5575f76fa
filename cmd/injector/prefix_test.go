package main

import (
	"strings"
	"testing"
)

// validate shows a secret prefix's files, its call and its check.
func TestWriteSecretPrefix(t *testing.T) {
	run, env := planned(t, `[{"from":"secretsmanager:app/prod/*","path":"prod","format":"explode"},
		{"from":"secretsmanager:app/one","path":"one"}]`, map[string]string{"INJECTOR_REFRESH_INTERVAL": "1m"})
	got := planText(t, run, env)
	for _, want := range []string{
		"  prod/  explode  secretsmanager:app/prod/*\n",
		"a file per secret under the prefix, at its name below it\n",
		"BatchGetSecretValue  us-east-1  secretsmanager:app/prod/*  name filter, every page, each secret authorized as GetSecretValue\n",
		"ListSecrets     us-east-1  secretsmanager:app/prod/*  name filter, every page, version ids only, no value\n",
		"Secrets Manager: one GetSecretValue per secret",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("text does not hold %q:\n%s", want, got)
		}
	}
}

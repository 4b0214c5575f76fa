package sources

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ecs-secret-injector/injector/ref"
)

// environ is a fake process environment for env: references.
func environ(kv map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := kv[name]
		return v, ok
	}
}

func TestEnvSource(t *testing.T) {
	const dbValue = `{"username":"u","password":"env-secret-value-1"}`
	fake := newFake()
	// No default region: env: needs none.
	f := newFetcher(fake, "", Options{LookupEnv: environ(map[string]string{"DB": dbValue, "KEY": "k-value-2"})})
	reqs := requests(t, "env:DB", "env:KEY", "env:DB")
	if err := f.Preflight([]ref.Target{reqs[0].Target, reqs[1].Target}); err != nil {
		t.Fatalf("Preflight: %v", err)
	}
	got, err := f.Fetch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[reqs[0].Target].Bytes()) != dbValue || string(got[reqs[1].Target].Bytes()) != "k-value-2" {
		t.Error("wrong values")
	}
	if calls := fake.callList(); len(calls) != 0 || len(fake.regions) != 0 {
		t.Errorf("env: made AWS calls %v or built clients %v", calls, fake.regions)
	}
}

func TestEnvSourceMissing(t *testing.T) {
	const secretValue = "do-not-print-me"
	tests := []struct {
		name string
		env  func(string) (string, bool)
	}{
		{"unset", environ(map[string]string{"OTHER": secretValue})},
		{"empty", environ(map[string]string{"GONE": ""})},
		{"no lookup", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFetcher(newFake(), "", Options{LookupEnv: tt.env})
			tg := target(t, "env:GONE")
			err := f.Preflight([]ref.Target{tg})
			if !errors.Is(err, ErrEnv) || !strings.Contains(err.Error(), "env:GONE") {
				t.Fatalf("Check err = %v", err)
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Fatal("error holds a value")
			}
			// Fetch refuses it as well, in case Check was skipped.
			if _, err := f.Fetch(context.Background(), []Request{{Target: tg}}); !errors.Is(err, ErrEnv) || !errors.Is(err, ErrFetch) {
				t.Fatalf("Fetch err = %v", err)
			}
		})
	}
}

func TestEnvSourceSize(t *testing.T) {
	f := newFetcher(newFake(), "", Options{MaxValueBytes: 4, LookupEnv: environ(map[string]string{"BIG": "12345"})})
	if _, err := f.Fetch(context.Background(), requests(t, "env:BIG")); err == nil || !strings.Contains(err.Error(), "larger than 4 bytes") {
		t.Fatalf("err = %v", err)
	}
}

func TestNeedsAWS(t *testing.T) {
	tests := []struct {
		refs []string
		want bool
	}{
		{[]string{"env:A", "env:B"}, false},
		{nil, false},
		{[]string{"env:A", "ssm:/p"}, true},
		{[]string{"secretsmanager:s"}, true},
		{[]string{"s3://b/k"}, true},
	}
	for _, tt := range tests {
		var ts []ref.Target
		for _, r := range tt.refs {
			ts = append(ts, target(t, r))
		}
		if got := NeedsAWS(ts); got != tt.want {
			t.Errorf("NeedsAWS(%v) = %v, want %v", tt.refs, got, tt.want)
		}
	}
	if !NeedsAWS([]ref.Target{{Source: 99}}) {
		t.Error("an unknown source must count as AWS (fail closed)")
	}
}

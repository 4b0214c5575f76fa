package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ecs-secret-injector/injector/engine/status"
)

func TestHealth(t *testing.T) {
	dir := t.TempDir()
	fresh := status.Status{Generation: 2, MaxStaleness: time.Hour, LastCheck: time.Now()}
	stale := fresh
	stale.LastCheck = time.Now().Add(-2 * time.Hour)
	tests := []struct {
		name   string
		dir    string
		status *status.Status
		args   []string
		want   int
		say    string
	}{
		{name: "no INJECTOR_DIR", want: healthBad, say: "INJECTOR_DIR is not set"},
		{name: "no status file", dir: t.TempDir(), want: healthBad, say: "no status file"},
		{name: "fresh", dir: dir, status: &fresh, want: healthOK, say: "healthy: generation 2"},
		{name: "stale", dir: dir, status: &stale, want: healthBad, say: "longer than the max staleness 1h0m0s"},
		{name: "arguments", dir: dir, status: &fresh, args: []string{"--dir", "/x"}, want: healthBad, say: "usage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("INJECTOR_DIR", tc.dir)
			if tc.status != nil {
				if err := status.Write(tc.dir, *tc.status); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			if got := runHealth(context.Background(), tc.args, &out, &out); got != tc.want || !strings.Contains(out.String(), tc.say) {
				t.Errorf("exit %d, output %q; want %d saying %q", got, out.String(), tc.want, tc.say)
			}
		})
	}
}

func TestRunRefreshConfigErrors(t *testing.T) {
	tests := []struct{ name, interval, spec, say string }{
		{"interval too short", "500ms", `[{"from":"ssm:/a","path":"a"}]`, "at least 1s"},
		{"interval not a duration", "often", `[{"from":"ssm:/a","path":"a"}]`, "not a Go duration"},
		{"bad spec", "1m", `[{"from":"ssm:/a"}]`, "path is required"},
		{"ecs-config", "1m", `[{"from":"ssm:/a","path":"ecs.config","format":"ecs-config","registry":"r.example"}]`, "ecs-config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("INJECTOR_DIR", t.TempDir())
			t.Setenv("INJECTOR_SPEC", tc.spec)
			t.Setenv("INJECTOR_REFRESH_INTERVAL", tc.interval)
			// No AWS call may be made: an endpoint that refuses every
			// connection would turn one into a fetch error.
			t.Setenv("AWS_REGION", "us-east-1")
			t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
			var out bytes.Buffer
			if code := run(context.Background(), nil, &out, &out); code != exitConfig || !strings.Contains(out.String(), tc.say) {
				t.Fatalf("run = %d, want %d saying %q:\n%s", code, exitConfig, tc.say, out.String())
			}
		})
	}
}

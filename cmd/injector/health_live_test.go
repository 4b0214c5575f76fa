package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecs-secret-injector/injector/engine/status"
)

// sampleStatus is the status of docs/commands.md's health sample, read
// at sampleNow.
var (
	sampleStart = time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	sampleNow   = sampleStart.Add(20*time.Minute + 42*time.Second)
)

func sampleStatus() status.Status {
	at := sampleStart
	return status.Status{PID: 7, Interval: 5 * time.Minute, MaxStaleness: 15 * time.Minute, Generation: 2, Items: 4, Files: 5,
		Started: at, Published: at.Add(10 * time.Minute), LastCheck: at.Add(20 * time.Minute), LastAttempt: at.Add(20 * time.Minute),
		Checks: 4, Changes: 1,
		Live: []status.Item{
			{Ref: "secretsmanager:app/db", Region: "us-east-1", Version: "a1b2c3d4-5678-90ab-cdef-EXAMPLE22222",
				Stages: []string{"AWSCURRENT"}, Fetched: at.Add(10 * time.Minute), Confirmed: at.Add(20 * time.Minute)},
			{Ref: "ssm:/app/prod/", Region: "us-east-1", Version: "5f0c6e1d9a3b7c28e4d1f0a9b8c7d6e5",
				Fetched: at, Confirmed: at.Add(20 * time.Minute)},
			{Ref: "s3://app-config/tls/ca.pem", Region: "eu-west-1", ETag: `"9b2cf535f27731c974343645a3985328"`,
				Fetched: at, Confirmed: at.Add(20 * time.Minute)},
			{Ref: "env:DB_TOKEN", Fetched: at, Confirmed: at.Add(20 * time.Minute)},
		}}
}

// TestHealthVerbose: -v and --verbose print the live table after the
// yes/no line, healthy or not, with health's own exit codes.
func TestHealthVerbose(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("INJECTOR_DIR", dir)
	s := sampleStatus()
	s.LastCheck = time.Now()
	for _, tc := range []struct {
		name string
		last time.Time
		want int
		say  string
	}{
		{"healthy", time.Now(), healthOK, "healthy: generation 2"},
		{"unhealthy", time.Now().Add(-time.Hour), healthBad, "unhealthy: files unconfirmed"},
	} {
		s.LastCheck = tc.last
		if err := status.Write(dir, s); err != nil {
			t.Fatal(err)
		}
		for _, flag := range []string{"-v", "--verbose"} {
			var out bytes.Buffer
			got := runHealth(context.Background(), []string{flag}, &out, &out)
			text := out.String()
			if got != tc.want || !strings.HasPrefix(text, tc.say) {
				t.Errorf("%s %s: exit %d, output %q; want %d starting %q", tc.name, flag, got, text, tc.want, tc.say)
			}
			for _, want := range []string{"Live (4 items):\n", "  ITEM  ", "secretsmanager:app/db", "AWSCURRENT",
				`ETag "9b2cf535f27731c974343645a3985328"`, "env:DB_TOKEN "} {
				if !strings.Contains(text, want) {
					t.Errorf("%s %s: output does not hold %q:\n%s", tc.name, flag, want, text)
				}
			}
		}
	}
	// Without the flag: the one line, as before.
	var out bytes.Buffer
	if got := runHealth(context.Background(), nil, &out, &out); got != healthBad || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("exit %d, output %q", got, out.String())
	}
	// A status file without a live table says so.
	s.Live, s.LastCheck = nil, time.Now()
	if err := status.Write(dir, s); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if got := runHealth(context.Background(), []string{"-v"}, &out, &out); got != healthOK || !strings.Contains(out.String(), "lists no item's version") {
		t.Errorf("exit %d, output %q", got, out.String())
	}
}

// TestHealthSample: docs/commands.md's sample of `injector health -v` is
// what it prints for sampleStatus.
func TestHealthSample(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "commands.md"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	s := sampleStatus()
	if code := writeHealth(&b, s, s.Healthy(sampleNow), sampleNow); code != healthOK {
		t.Fatalf("sample status unhealthy: %d", code)
	}
	b.WriteString("\n")
	writeLive(&b, s, sampleNow)
	var sample strings.Builder
	sample.WriteString("    $ injector health -v\n")
	for line := range strings.Lines(b.String()) {
		if line != "\n" {
			sample.WriteString("    ")
		}
		sample.WriteString(line)
	}
	if !strings.Contains(string(data), "\n"+sample.String()) {
		t.Errorf("docs/commands.md does not show what injector health -v prints:\n%s", sample.String())
	}
}

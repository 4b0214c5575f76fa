package refresh

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ecs-secret-injector/injector/writer"
)

func TestHealthy(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	good := Status{Generation: 1, MaxStaleness: Duration(90 * time.Second), LastCheck: now.Add(-90 * time.Second)}
	tests := []struct {
		name    string
		s       Status
		wantErr string
	}{
		{"at the limit", good, ""},
		{"just checked", func() Status { s := good; s.LastCheck = now; return s }(), ""},
		{"past the limit", func() Status {
			s := good
			s.LastCheck = now.Add(-91 * time.Second)
			s.ConsecutiveFailures = 4
			return s
		}(),
			"unconfirmed for 1m31s, longer than the max staleness 1m30s (4 checks failed in a row)"},
		{"nothing published", func() Status { s := good; s.Generation = 0; return s }(), "no generation"},
		{"no limit", func() Status { s := good; s.MaxStaleness = 0; return s }(), "no max staleness"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Healthy(now)
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("Healthy = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestStatusFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, err := Health(dir, 0); err == nil || !strings.Contains(err.Error(), "no status file") {
		t.Errorf("Health without a status file: %v", err)
	}
	s := Status{PID: 42, Interval: Duration(time.Minute), MaxStaleness: Duration(3 * time.Minute), Generation: 3,
		LastCheck: time.Now().UTC().Round(0), Checks: 10}
	for range 3 {
		if err := WriteStatus(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadStatus(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("read %+v, wrote %+v", got, s)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, StatusFile))
	if !strings.Contains(string(raw), `"maxStaleness": "3m0s"`) {
		t.Errorf("status file:\n%s", raw)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d entries in the root, want only the status file", len(entries))
	}
	if _, err := Health(dir, 0); err != nil {
		t.Errorf("Health: %v", err)
	}
	s.LastCheck = s.LastCheck.Add(-time.Hour)
	if err := WriteStatus(dir, s); err != nil {
		t.Fatal(err)
	}
	if _, err := Health(dir, 0); err == nil {
		t.Error("healthy an hour after the last check")
	}
}

// TestHealthWaitsForAMissingFile: a status file that appears while Health
// waits (a write replacing it) is read.
func TestHealthWaitsForAMissingFile(t *testing.T) {
	dir := t.TempDir()
	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = WriteStatus(dir, Status{Generation: 1, MaxStaleness: Duration(time.Hour), LastCheck: time.Now()})
	}()
	if _, err := Health(dir, time.Minute); err != nil {
		t.Fatal(err)
	}
}

func TestReadStatusRefusesALink(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(t.TempDir(), "status.json")
	if err := WriteStatus(filepath.Dir(other), Status{Generation: 1}); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(filepath.Dir(other), StatusFile), filepath.Join(dir, StatusFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadStatus(dir); err == nil {
		t.Error("read a status file through a symbolic link")
	}
}

// TestPublishStatusNameTaken: a directory at the status file's name makes
// Publish fail after the switch with a write error that says the new files
// are visible; they are, complete, and the directory is left alone.
func TestPublishStatusNameTaken(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, StatusFile, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := New(buildPlan(t, twoSpec), twoSource(), testOptions(dir))
	err := r.Publish(context.Background())
	if !errors.Is(err, writer.ErrWrite) || !strings.Contains(err.Error(), "the new files are visible, but") ||
		!strings.Contains(err.Error(), StatusFile) {
		t.Fatalf("Publish = %v, want a write error saying the new files are visible and naming %s", err, StatusFile)
	}
	for _, v := range []string{"p1", "api-1", "u1"} {
		if strings.Contains(err.Error(), v) {
			t.Errorf("the error holds a value: %v", err)
		}
	}
	if got := readFile(t, dir, "api"); got != "api-1" {
		t.Errorf("api = %q, want the new file visible", got)
	}
	if fi, err := os.Stat(filepath.Join(dir, StatusFile, "inside")); err != nil || !fi.IsDir() {
		t.Errorf("the directory at %s was touched: %v", StatusFile, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..tmp.") {
			t.Errorf("a temporary was left: %s", e.Name())
		}
	}
}

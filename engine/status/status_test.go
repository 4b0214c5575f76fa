package status

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestHealthy(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	good := Status{Generation: 1, MaxStaleness: 90 * time.Second, LastCheck: now.Add(-90 * time.Second)}
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

func TestFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, err := Health(dir, 0); err == nil || !strings.Contains(err.Error(), "no status file") {
		t.Errorf("Health without a status file: %v", err)
	}
	s := Status{PID: 42, Interval: time.Minute, MaxStaleness: 3 * time.Minute, Generation: 3,
		LastCheck: time.Now().UTC().Round(0), Checks: 10}
	for range 3 {
		if err := Write(dir, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("read %+v, wrote %+v", got, s)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, File))
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
	if err := Write(dir, s); err != nil {
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
		_ = Write(dir, Status{Generation: 1, MaxStaleness: time.Hour, LastCheck: time.Now()})
	}()
	if _, err := Health(dir, time.Minute); err != nil {
		t.Fatal(err)
	}
}

func TestReadStatusRefusesALink(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(t.TempDir(), "status.json")
	if err := Write(filepath.Dir(other), Status{Generation: 1}); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(filepath.Dir(other), File), filepath.Join(dir, File)); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); err == nil {
		t.Error("read a status file through a symbolic link")
	}
}

// TestStatusFileFormat: the whole status file, field by field, as health
// checks and operators read it.
func TestStatusFileFormat(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	s := Status{PID: 42, Interval: 90 * time.Second, MaxStaleness: 5 * time.Minute, Generation: 3, Items: 4, Files: 5,
		Started: at, Published: at.Add(time.Second), LastCheck: at.Add(2 * time.Second), LastAttempt: at.Add(3 * time.Second),
		Checks: 6, Changes: 2, Failures: 1, ConsecutiveFailures: 1}
	if err := Write(dir, s); err != nil {
		t.Fatal(err)
	}
	const want = `{
  "pid": 42,
  "interval": "1m30s",
  "maxStaleness": "5m0s",
  "generation": 3,
  "items": 4,
  "files": 5,
  "started": "2026-01-02T03:04:05.0000006Z",
  "published": "2026-01-02T03:04:06.0000006Z",
  "lastCheck": "2026-01-02T03:04:07.0000006Z",
  "lastAttempt": "2026-01-02T03:04:08.0000006Z",
  "checks": 6,
  "changes": 2,
  "failures": 1,
  "consecutiveFailures": 1
}
`
	got, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("status file:\n%s\nwant:\n%s", got, want)
	}
	back, err := Read(dir)
	if err != nil || !reflect.DeepEqual(back, s) {
		t.Errorf("read back %+v, %v; want %+v", back, err, s)
	}
}

// TestStatusFileFormatLive: the whole status file with its live table, as
// `injector health -v` and operators read it: the fields of a status file
// without one, in the same order and form, then one entry per item.
func TestStatusFileFormatLive(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := Status{PID: 42, Interval: time.Minute, MaxStaleness: 3 * time.Minute, Generation: 2, Items: 4, Files: 3,
		Started: at, Published: at.Add(time.Minute), LastCheck: at.Add(2 * time.Minute), LastAttempt: at.Add(2 * time.Minute),
		Checks: 2, Changes: 1,
		Live: []Item{
			{Ref: "secretsmanager:app/db", Region: "eu-west-1", Version: "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
				Stages: []string{"AWSCURRENT"}, Fetched: at.Add(time.Minute), Confirmed: at.Add(2 * time.Minute)},
			{Ref: "ssm:/app/api", Region: "eu-west-1", Version: "7", Fetched: at, Confirmed: at.Add(2 * time.Minute)},
			{Ref: "s3://bucket/tls.pem", Region: "us-east-1", ETag: `"9b2cf535f27731c974343645a3985328"`,
				Fetched: at, Confirmed: at.Add(2 * time.Minute)},
			{Ref: "env:TOKEN", Fetched: at, Confirmed: at.Add(2 * time.Minute)},
		}}
	if err := Write(dir, s); err != nil {
		t.Fatal(err)
	}
	const want = `{
  "pid": 42,
  "interval": "1m0s",
  "maxStaleness": "3m0s",
  "generation": 2,
  "items": 4,
  "files": 3,
  "started": "2026-01-02T03:04:05Z",
  "published": "2026-01-02T03:05:05Z",
  "lastCheck": "2026-01-02T03:06:05Z",
  "lastAttempt": "2026-01-02T03:06:05Z",
  "checks": 2,
  "changes": 1,
  "failures": 0,
  "consecutiveFailures": 0,
  "live": [
    {
      "ref": "secretsmanager:app/db",
      "region": "eu-west-1",
      "version": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
      "stages": [
        "AWSCURRENT"
      ],
      "fetched": "2026-01-02T03:05:05Z",
      "confirmed": "2026-01-02T03:06:05Z"
    },
    {
      "ref": "ssm:/app/api",
      "region": "eu-west-1",
      "version": "7",
      "fetched": "2026-01-02T03:04:05Z",
      "confirmed": "2026-01-02T03:06:05Z"
    },
    {
      "ref": "s3://bucket/tls.pem",
      "region": "us-east-1",
      "etag": "\"9b2cf535f27731c974343645a3985328\"",
      "fetched": "2026-01-02T03:04:05Z",
      "confirmed": "2026-01-02T03:06:05Z"
    },
    {
      "ref": "env:TOKEN",
      "fetched": "2026-01-02T03:04:05Z",
      "confirmed": "2026-01-02T03:06:05Z"
    }
  ]
}
`
	got, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("status file:\n%s\nwant:\n%s", got, want)
	}
	back, err := Read(dir)
	if err != nil || !reflect.DeepEqual(back, s) {
		t.Errorf("read back %+v, %v; want %+v", back, err, s)
	}
}

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunRefuses(t *testing.T) {
	existing := t.TempDir()
	fresh := filepath.Join(t.TempDir(), "out")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"existing output", []string{"-out", existing, "-version", "v1", "-commit", "abc", "-epoch", "0"}, "already exists"},
		{"no output", []string{"-version", "v1", "-commit", "abc", "-epoch", "0"}, "-out is required"},
		{"no epoch", []string{"-out", fresh, "-version", "v1", "-commit", "abc"}, "-epoch is required"},
		{"unknown platform", []string{"-out", fresh, "-version", "v1", "-commit", "abc", "-epoch", "0", "-platforms", "linux/s390x"}, `platform "linux/s390x"`},
		{"stray argument", []string{"-out", fresh, "extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error about %q", err, tt.wantErr)
			}
			if _, err := os.Stat(fresh); err == nil {
				t.Fatalf("%s was created", fresh)
			}
		})
	}
}

func TestParsePlatforms(t *testing.T) {
	all, err := parsePlatforms("")
	if err != nil || len(all) != 2 {
		t.Fatalf("default platforms %v, %v", all, err)
	}
	one, err := parsePlatforms("linux/arm64")
	if err != nil || len(one) != 1 || one[0].Architecture != "arm64" {
		t.Fatalf("linux/arm64: %v, %v", one, err)
	}
}

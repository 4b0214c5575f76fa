package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ecs-secret-injector/injector/engine"
	"github.com/ecs-secret-injector/injector/internal/testsupport/testplan"
)

// An item's own mode reaches its files, in a generation and in place.
func TestRunItemMode(t *testing.T) {
	f := &fakeFetcher{values: map[string]string{"ssm:/a": "a", "ssm:/reg": `{"username":"u","password":"p"}`}}
	dir := t.TempDir()
	p := testplan.Plan(t, `[{"from": "ssm:/a", "path": "own", "mode": "0640"}, {"from": "ssm:/a", "path": "settings"}]`)
	if _, err := engine.Once(context.Background(), p, f, dir, opts, quiet()); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{"own": 0o640, "settings": 0o400} {
		if fi, err := os.Stat(filepath.Join(dir, path)); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want %v", path, fi.Mode().Perm(), err, want)
		}
	}
	dir = t.TempDir()
	p = testplan.Plan(t, `[{"from": "ssm:/reg", "path": "ecs.config", "format": "ecs-config", "registry": "ghcr.io", "mode": "0600"}]`)
	if _, err := engine.Once(context.Background(), p, f, dir, opts, quiet()); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "ecs.config")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("ecs.config: %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

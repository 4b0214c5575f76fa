package engine

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecs-secret-injector/injector/engine/status"
	"github.com/ecs-secret-injector/injector/internal/testsupport/testplan"
	"github.com/ecs-secret-injector/injector/ref"
)

// liveVersions reads the status file's live table as ref → version.
func liveVersions(t *testing.T, dir string) (map[string]string, map[string]status.Item) {
	t.Helper()
	st, err := status.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	versions, items := map[string]string{}, map[string]status.Item{}
	for _, it := range st.Live {
		versions[it.Ref], items[it.Ref] = it.Version, it
	}
	return versions, items
}

// TestStatusLiveVersions: the status file names, per item, the version the
// files were rendered from; a rotation moves it; a check confirms the
// items it finds current, not the ones whose check failed; a pinned
// version is confirmed at every check; no value appears.
func TestStatusLiveVersions(t *testing.T) {
	spec := `[{"from": "secretsmanager:db", "path": "db"}, {"from": "ssm:/api", "path": "api"},
		{"from": "ssm:/pinned:3", "path": "pinned"}]`
	src := twoSource()
	src.set("ssm:/pinned:3", "pin-1")
	r, dir := published(t, spec, src)
	versions, first := liveVersions(t, dir)
	if want := map[string]string{"secretsmanager:db": "1", "ssm:/api": "1", "ssm:/pinned:3": "1"}; !maps.Equal(versions, want) {
		t.Errorf("live versions %v, want %v", versions, want)
	}
	for ref, it := range first {
		if it.Fetched.IsZero() || !it.Confirmed.Equal(it.Fetched) {
			t.Errorf("%s: fetched %v, confirmed %v", ref, it.Fetched, it.Confirmed)
		}
	}

	time.Sleep(10 * time.Millisecond) // the clock moves between the checks
	src.set("secretsmanager:db", `{"user":"u2","pass":"p2"}`)
	api := testplan.Target(t, "ssm:/api")
	src.checkErr = func(t0 ref.Target) error {
		if t0 == api {
			return errors.New("InternalServerError")
		}
		return nil
	}
	if err := r.cycle(context.Background()); err == nil {
		t.Fatal("the check of ssm:/api did not fail")
	}
	versions, second := liveVersions(t, dir)
	if versions["secretsmanager:db"] != "2" || versions["ssm:/api"] != "1" {
		t.Errorf("after the rotation: %v", versions)
	}
	if db := second["secretsmanager:db"]; !db.Fetched.After(first["secretsmanager:db"].Fetched) || !db.Confirmed.Equal(db.Fetched) {
		t.Errorf("rotated item: %+v", db)
	}
	if a := second["ssm:/api"]; !a.Confirmed.Equal(first["ssm:/api"].Confirmed) || !a.Fetched.Equal(first["ssm:/api"].Fetched) {
		t.Errorf("an item whose check failed is confirmed: %+v", a)
	}
	if p := second["ssm:/pinned:3"]; !p.Confirmed.After(first["ssm:/pinned:3"].Confirmed) || !p.Fetched.Equal(first["ssm:/pinned:3"].Fetched) {
		t.Errorf("pinned item: %+v", p)
	}

	src.checkErr = nil
	if err := r.cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, third := liveVersions(t, dir)
	if a := third["ssm:/api"]; !a.Confirmed.After(second["ssm:/api"].Confirmed) || !a.Fetched.Equal(first["ssm:/api"].Fetched) {
		t.Errorf("a good check does not confirm: %+v", a)
	}
	data, err := os.ReadFile(filepath.Join(dir, status.File))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"p1", "p2", "api-1", "pin-1"} {
		if strings.Contains(string(data), v) {
			t.Errorf("status file holds a value: %s", data)
		}
	}
}

package testsupport

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func link(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// TestVisible: the injector's names are left out, its links and (with
// AllLinks) any other top-level link are followed, links below the top
// level are not.
func TestVisible(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	write(t, filepath.Join(dir, "..gen", "app", "key"), "v")
	link(t, "..gen", filepath.Join(dir, "..data"))
	link(t, "..data/app", filepath.Join(dir, "app"))
	write(t, filepath.Join(dir, "own", "f"), "mine")
	link(t, "f", filepath.Join(dir, "own", "l"))
	write(t, filepath.Join(outside, "x"), "out")
	link(t, outside, filepath.Join(dir, "away"))
	link(t, "..data/gone", filepath.Join(dir, "gone"))

	got := Visible(t, dir).Contents()
	if !strings.HasPrefix(got["gone"], "unresolved: ") {
		t.Errorf("gone = %q, want it unresolved", got["gone"])
	}
	delete(got, "gone")
	want := map[string]string{"app/": "", "app/key": "v", "own/": "", "own/f": "mine", "own/l": "-> f", "away/": "", "away/x": "out"}
	if !maps.Equal(got, want) {
		t.Errorf("Visible = %v, want %v", got, want)
	}

	tr, err := ReadVisible(dir, InjectorLinks)
	if err != nil {
		t.Fatal(err)
	}
	files := tr.Files()
	want = map[string]string{"app/key": "v", "own/f": "mine"}
	if !maps.Equal(files, want) {
		t.Errorf("Files = %v, want %v", files, want)
	}
	if d := tr.Digests()["away"]; !strings.Contains(d, "-> "+outside) {
		t.Errorf("away = %q, want a link not followed", d)
	}
	if d := tr.Digests()["app/key"]; !strings.Contains(d, " 1 bytes sha256:") {
		t.Errorf("app/key = %q, want a digest", d)
	}
}

// TestVisibleFiles: regular files with their content, a link below the top
// level read through; a name that does not resolve fails the test.
func TestVisibleFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "..gen", "app", "key"), "v")
	link(t, "..gen", filepath.Join(dir, "..data"))
	link(t, "..data/app", filepath.Join(dir, "app"))
	write(t, filepath.Join(dir, "own", "f"), "mine")
	link(t, "f", filepath.Join(dir, "own", "l"))
	write(t, filepath.Join(dir, "top"), "t")
	got := VisibleFiles(t, dir)
	want := map[string]string{"app/key": "v", "own/f": "mine", "own/l": "mine", "top": "t"}
	if !maps.Equal(got, want) {
		t.Errorf("VisibleFiles = %v, want %v", got, want)
	}

	link(t, "..data/gone", filepath.Join(dir, "gone"))
	e := &endTB{TB: t}
	VisibleFiles(e, dir)
	if !strings.HasPrefix(e.how, "fail: gone: ") {
		t.Errorf("an unresolved name: %q, want a failure", e.how)
	}
}

// TestReadTreeNotADirectory: a root that is not a directory is one entry.
func TestReadTreeNotADirectory(t *testing.T) {
	dir := t.TempDir()
	tr, err := ReadTree(filepath.Join(dir, "missing"))
	if err != nil {
		t.Fatal(err)
	}
	if d := tr.Digests()["."]; len(tr) != 1 || !strings.HasPrefix(d, "not a directory: ") {
		t.Errorf("ReadTree(missing) = %v", tr.Digests())
	}
}

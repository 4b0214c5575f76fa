package writer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteRootFile(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"one", "two"} {
		if err := WriteRootFile(dir, "..status.json", []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Lstat(filepath.Join(dir, "..status.json"))
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Fatalf("..status.json: %v, %v; want a regular file, mode 0644", fi, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "..status.json")); string(b) != "two" {
		t.Errorf("content %q, want the last write", b)
	}
	for _, name := range []string{"status.json", "..data", "..lock", "..tmp.x", "..2020_01_01_00_00_00.deadbeef", "../x", "..a/b"} {
		if err := WriteRootFile(dir, name, []byte("x"), 0o644); err == nil {
			t.Errorf("WriteRootFile(%q) succeeded; want it refused", name)
		}
	}
	// A directory at the name stays, and so does nothing else.
	mustMkdir(t, filepath.Join(dir, "..taken", "inside"))
	err = WriteRootFile(dir, "..taken", []byte("x"), 0o644)
	if err == nil || !strings.Contains(err.Error(), "..taken is a directory") {
		t.Errorf("over a directory: %v, want it refused, saying so", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "..taken", "inside")); err != nil || !fi.IsDir() {
		t.Errorf("the directory was touched: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("root holds %v, want ..status.json and ..taken only", entries)
	}
}

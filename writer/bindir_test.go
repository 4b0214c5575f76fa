package writer

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteProgram: a file marked Exec under BinDir is written in the
// generation like the others, executable by each class that may read it,
// seen through the link BinDir -> ..data/BinDir; a run without it removes
// that link; BinDir is the only ".." name files may use, and only below it.
func TestWriteProgram(t *testing.T) {
	for _, tt := range []struct {
		mode, want fs.FileMode
	}{{0o400, 0o500}, {0o440, 0o550}, {0o644, 0o755}, {0o600, 0o700}} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Mode: tt.mode, UID: -1, GID: -1}
			files := []File{{Path: "a.env", Data: []byte("A='1'\n")}, {Path: BinDir + "/with-env", Data: []byte("program"), Exec: true}}
			if err := Write(context.Background(), dir, files, opts); err != nil {
				t.Fatal(err)
			}
			if l, err := os.Readlink(filepath.Join(dir, BinDir)); err != nil || l != "..data/"+BinDir {
				t.Fatalf("%s -> %q, %v; want ..data/%s", BinDir, l, err, BinDir)
			}
			fi, err := os.Stat(filepath.Join(dir, BinDir, "with-env"))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tt.want {
				t.Errorf("program mode %v, want %v", fi.Mode().Perm(), tt.want)
			}
			if fi, _ := os.Stat(filepath.Join(dir, "a.env")); fi.Mode().Perm() != tt.mode {
				t.Errorf("other file mode %v, want %v", fi.Mode().Perm(), tt.mode)
			}
			writeAll(t, dir, opts, "a.env", "A='2'\n")
			if _, err := os.Lstat(filepath.Join(dir, BinDir)); err == nil {
				t.Errorf("%s is still there after a run without programs", BinDir)
			}
			checkClean(t, dir)
		})
	}
	for _, p := range []string{BinDir, "..other/x", "..data/x", BinDir + "x/y"} {
		err := Write(context.Background(), t.TempDir(), []File{{Path: p, Data: []byte("x"), Exec: true}}, opts0400)
		if err == nil || !strings.Contains(err.Error(), "belong to the injector") {
			t.Errorf("path %q: %v, want it refused", p, err)
		}
	}
}

// TestWriteExtra: Options.Extra goes into every generation, by Write and by
// Begin and Commit, and a caller's files never replace it.
func TestWriteExtra(t *testing.T) {
	opts := Options{Mode: 0o440, UID: -1, GID: -1,
		Extra: []File{{Path: BinDir + "/with-env", Data: []byte("program"), Exec: true}}}
	dir := t.TempDir()
	check := func(want string) {
		t.Helper()
		got := visible(t, dir)
		b, err := os.ReadFile(filepath.Join(dir, BinDir, "with-env"))
		if err != nil || string(b) != "program" {
			t.Errorf("program: %q, %v", b, err)
		}
		if got["a"] != want || len(got) != 1 {
			t.Errorf("visible %v, want only a = %q", got, want)
		}
		names, gen := injectorNames(t, dir)
		if want := []string{gen, BinDir, "..data", "..lock"}; strings.Join(names, " ") != strings.Join(want, " ") {
			t.Errorf("injector names %v, want %v", names, want)
		}
	}
	if err := Write(context.Background(), dir, []File{{Path: "a", Data: []byte("1")}}, opts); err != nil {
		t.Fatal(err)
	}
	check("1")
	x, err := Begin(context.Background(), dir, opts, "a")
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Commit(context.Background(), []File{{Path: "a", Data: []byte("2")}}); err != nil {
		t.Fatal(err)
	}
	check("2")
	err = Write(context.Background(), dir, []File{{Path: BinDir + "/with-env", Data: []byte("other")}}, opts)
	if err == nil || !strings.Contains(err.Error(), "written twice") {
		t.Errorf("a file at an Extra path: %v, want it refused", err)
	}
	check("2")
}

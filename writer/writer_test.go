package writer

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree lists every path under dir with its content ("" for directories and
// the link target for symbolic links).
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			m[rel] = "-> " + l
			return err
		case d.IsDir():
			m[rel+"/"] = ""
		default:
			b, err := os.ReadFile(p)
			m[rel] = string(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	files := []File{{Path: "a", Data: []byte("one")}, {Path: "d/e/f", Data: []byte("two")}, {Path: "d/g", Data: nil}}
	if err := Write(context.Background(), dir, files, Options{Mode: 0o440, UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	got := tree(t, dir)
	want := map[string]string{"a": "one", "d/": "", "d/e/": "", "d/e/f": "two", "d/g": ""}
	if len(got) != len(want) {
		t.Fatalf("tree = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for p, mode := range map[string]fs.FileMode{"a": 0o440, "d/e/f": 0o440, "d": 0o750, "d/e": 0o750} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s mode = %v, %v; want %v", p, fi.Mode().Perm(), err, mode)
		}
	}
}

func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(context.Background(), dir, []File{{Path: "a", Data: []byte("new")}}, Options{Mode: 0o400, UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, dir); len(got) != 1 || got["a"] != "new" {
		t.Fatalf("tree = %v, want only a=new (no backup left)", got)
	}
}

func TestWriteAllOrNothing(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir, outside string)
		files   []File
		wantErr string
	}{
		{
			name:    "target is a directory",
			prepare: func(t *testing.T, dir, _ string) { mustMkdir(t, filepath.Join(dir, "z", "busy")) },
			files:   []File{{Path: "a", Data: []byte("1")}, {Path: "new/b", Data: []byte("2")}, {Path: "z/busy", Data: []byte("3")}},
			wantErr: "not a regular file",
		},
		{
			name: "replaced file restored",
			prepare: func(t *testing.T, dir, _ string) {
				mustWrite(t, filepath.Join(dir, "a"), "previous")
				mustMkdir(t, filepath.Join(dir, "z", "busy"))
			},
			files:   []File{{Path: "a", Data: []byte("1")}, {Path: "z/busy", Data: []byte("3")}},
			wantErr: "not a regular file",
		},
		{
			name:    "symlinked directory",
			prepare: func(t *testing.T, dir, outside string) { mustSymlink(t, outside, filepath.Join(dir, "link")) },
			files:   []File{{Path: "a", Data: []byte("1")}, {Path: "link/b", Data: []byte("2")}},
			wantErr: "symbolic link",
		},
		{
			name: "symlinked target",
			prepare: func(t *testing.T, dir, outside string) {
				mustWrite(t, filepath.Join(outside, "victim"), "untouched")
				mustSymlink(t, filepath.Join(outside, "victim"), filepath.Join(dir, "b"))
			},
			files:   []File{{Path: "a", Data: []byte("1")}, {Path: "b", Data: []byte("2")}},
			wantErr: "symbolic link",
		},
		{
			name: "dangling symlink target",
			prepare: func(t *testing.T, dir, outside string) {
				mustSymlink(t, filepath.Join(outside, "nothing"), filepath.Join(dir, "b"))
			},
			files:   []File{{Path: "b", Data: []byte("2")}},
			wantErr: "symbolic link",
		},
		{
			name:    "file in place of a directory",
			prepare: func(t *testing.T, dir, _ string) { mustWrite(t, filepath.Join(dir, "d"), "file") },
			files:   []File{{Path: "x/y", Data: []byte("1")}, {Path: "d/e", Data: []byte("2")}},
			wantErr: "not a directory",
		},
		{name: "duplicate", files: []File{{Path: "a"}, {Path: "a"}}, wantErr: "written twice"},
		{name: "nested", files: []File{{Path: "a"}, {Path: "a/b"}}, wantErr: "also a file"},
		{name: "escape", files: []File{{Path: "../a"}}, wantErr: "not a clean path"},
		{name: "absolute", files: []File{{Path: "/a"}}, wantErr: "not a clean path"},
		{name: "unclean", files: []File{{Path: "a//b"}}, wantErr: "not a clean path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, outside := t.TempDir(), t.TempDir()
			if tt.prepare != nil {
				tt.prepare(t, dir, outside)
			}
			before, beforeOut := tree(t, dir), tree(t, outside)
			err := Write(context.Background(), dir, tt.files, Options{Mode: 0o400, UID: -1, GID: -1})
			if !errors.Is(err, ErrWrite) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want ErrWrite saying %q", err, tt.wantErr)
			}
			if after := tree(t, dir); !maps.Equal(before, after) {
				t.Errorf("root changed:\nbefore %v\nafter  %v", before, after)
			}
			if after := tree(t, outside); !maps.Equal(beforeOut, after) {
				t.Errorf("outside changed:\nbefore %v\nafter  %v", beforeOut, after)
			}
		})
	}
}

func TestWriteCancelled(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Write(ctx, dir, []File{{Path: "a/b", Data: []byte("x")}}, Options{Mode: 0o400, UID: -1, GID: -1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := tree(t, dir); len(got) != 0 {
		t.Fatalf("tree = %v, want empty", got)
	}
}

func TestWriteOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	dir := t.TempDir()
	if err := Write(context.Background(), dir, []File{{Path: "d/a", Data: []byte("x")}}, Options{Mode: 0o400, UID: 1234, GID: 5678}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"d", "d/a"} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		uid, gid := owner(fi)
		if uid != 1234 || gid != 5678 {
			t.Errorf("%s owned by %d:%d, want 1234:5678", p, uid, gid)
		}
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "a"), "content")
	mustSymlink(t, "/etc/hostname", filepath.Join(dir, "l"))
	if b, err := ReadFile(dir, "a"); err != nil || string(b) != "content" {
		t.Errorf("ReadFile(a) = %q, %v", b, err)
	}
	if b, err := ReadFile(dir, "missing"); err != nil || b != nil {
		t.Errorf("ReadFile(missing) = %q, %v; want nil, nil", b, err)
	}
	if _, err := ReadFile(dir, "l"); err == nil {
		t.Error("ReadFile followed a symbolic link")
	}
}

func mustMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// FuzzWrite: whatever path it is given, Write either refuses it or puts
// exactly one file inside the root, and never anything outside.
func FuzzWrite(f *testing.F) {
	for _, s := range []string{"a", "a/b/c", "../a", "/abs", "a/../b", ".", "", "a//b", "..", "a/.", ".hidden", "a\\b"} {
		f.Add(s)
	}
	parent := f.TempDir()
	f.Fuzz(func(t *testing.T, p string) {
		dir, err := os.MkdirTemp(parent, "root")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		before := tree(t, parent)
		delete(before, filepath.Base(dir)+"/")
		err = Write(context.Background(), dir, []File{{Path: p, Data: []byte("x")}}, Options{Mode: 0o400, UID: -1, GID: -1})
		after := tree(t, parent)
		for k, v := range after {
			if strings.HasPrefix(k, filepath.Base(dir)+"/") && k != filepath.Base(dir)+"/" {
				delete(after, k)
				if err != nil {
					t.Fatalf("Write(%q) failed (%v) but left %s", p, err, k)
				}
				if v == "x" && k != filepath.Base(dir)+"/"+p {
					t.Fatalf("Write(%q) wrote %s", p, k)
				}
			}
		}
		delete(after, filepath.Base(dir)+"/")
		if !maps.Equal(before, after) {
			t.Fatalf("Write(%q) changed things outside the root:\nbefore %v\nafter  %v", p, before, after)
		}
		if err == nil {
			b, rerr := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
			if rerr != nil || string(b) != "x" {
				t.Fatalf("Write(%q) succeeded but the file reads %q, %v", p, b, rerr)
			}
		}
	})
}

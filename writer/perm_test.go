package writer

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/ecs-secret-injector/injector/internal/fileperm"
)

func override(mode fs.FileMode, uid, gid int) fileperm.Override {
	return fileperm.Override{Mode: &mode, UID: &uid, GID: &gid}
}

func TestDirPerms(t *testing.T) {
	base := Options{Mode: 0o400, UID: 1000, GID: 1000}
	pg := override(0o600, 999, 999)
	nginx := override(0o440, 101, 1000)
	tests := []struct {
		name  string
		files []File
		want  map[string]dirPerm
	}{
		{"no override: every directory as the settings say",
			[]File{{Path: "a/b/c"}, {Path: "d"}},
			map[string]dirPerm{".": {0o700, 1000, 1000}, "a": {0o700, 1000, 1000}, "a/b": {0o700, 1000, 1000}}},
		{"one item's directories are its own",
			[]File{{Path: "pg/server.key", Perm: pg}, {Path: "app/token"}},
			map[string]dirPerm{".": {0o705, 1000, 1000}, "pg": {0o700, 999, 999}, "app": {0o700, 1000, 1000}}},
		{"an override equal to the settings is no difference",
			[]File{{Path: "a/x", Perm: override(0o400, 1000, 1000)}, {Path: "a/y"}},
			map[string]dirPerm{".": {0o700, 1000, 1000}, "a": {0o700, 1000, 1000}}},
		{"group read in the directory's group: the group passes",
			[]File{{Path: "tls/nginx.key", Perm: override(0o440, 1000, 1000)}, {Path: "tls/app.key"}},
			map[string]dirPerm{".": {0o750, 1000, 1000}, "tls": {0o750, 1000, 1000}}},
		{"another owner or group: everyone passes",
			[]File{{Path: "tls/pg.key", Perm: pg}, {Path: "tls/app.key"}},
			map[string]dirPerm{".": {0o705, 1000, 1000}, "tls": {0o705, 1000, 1000}}},
		{"and a group that reads, in the directory's group: it passes too",
			[]File{{Path: "tls/pg.key", Perm: pg}, {Path: "tls/nginx.key", Perm: nginx}, {Path: "tls/app.key"}},
			map[string]dirPerm{".": {0o755, 1000, 1000}, "tls": {0o755, 1000, 1000}}},
		{"a group that reads, another group: everyone passes",
			[]File{{Path: "x", Perm: override(0o440, 1000, 7)}, {Path: "y"}},
			map[string]dirPerm{".": {0o705, 1000, 1000}}},
		{"only the mode differs",
			[]File{{Path: "x", Perm: fileperm.Override{Mode: ptr(fs.FileMode(0o444))}}, {Path: "y"}},
			map[string]dirPerm{".": {0o755, 1000, 1000}}},
		{"one item alone owns the generation",
			[]File{{Path: "pg.key", Perm: pg}},
			map[string]dirPerm{".": {0o700, 999, 999}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dirPerms(tt.files, base)
			if len(got) != len(tt.want) {
				t.Fatalf("dirPerms = %v, want %v", got, tt.want)
			}
			for d, w := range tt.want {
				if got[d] != w {
					t.Errorf("%s: %04o %d:%d, want %04o %d:%d", d, got[d].mode, got[d].uid, got[d].gid, w.mode, w.uid, w.gid)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// Files of one generation get their own modes and owners, final before the
// switch; directories Begin made early are given theirs at commit.
func TestWritePerFilePerm(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to other users needs root")
	}
	dir := t.TempDir()
	base := Options{Mode: 0o400, UID: 1000, GID: 1000}
	x, err := Begin(context.Background(), dir, base, "pg/server.key", "tls/nginx.key")
	if err != nil {
		t.Fatal(err)
	}
	files := []File{
		{Path: "pg/server.key", Data: []byte("pg"), Perm: override(0o600, 999, 999)},
		{Path: "tls/nginx.key", Data: []byte("nginx"), Perm: override(0o440, 101, 101)},
		{Path: "tls/app.key", Data: []byte("app")},
		{Path: "top", Data: []byte("top"), Perm: fileperm.Override{Mode: ptr(fs.FileMode(0o444))}},
	}
	if err := x.Commit(context.Background(), files); err != nil {
		t.Fatal(err)
	}
	_, gen := injectorNames(t, dir)
	for p, want := range map[string]struct {
		mode     fs.FileMode
		uid, gid int
	}{
		gen:                    {0o755, 1000, 1000},
		gen + "/pg":            {0o700, 999, 999},
		gen + "/pg/server.key": {0o600, 999, 999},
		gen + "/tls":           {0o705, 1000, 1000},
		gen + "/tls/nginx.key": {0o440, 101, 101},
		gen + "/tls/app.key":   {0o400, 1000, 1000},
		gen + "/top":           {0o444, 1000, 1000},
	} {
		fi, err := os.Lstat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		uid, gid := owner(fi)
		if fi.Mode().Perm() != want.mode || uid != want.uid || gid != want.gid {
			t.Errorf("%s: %04o %d:%d, want %04o %d:%d", p, fi.Mode().Perm(), uid, gid, want.mode, want.uid, want.gid)
		}
	}
}

// Every file and directory has its final mode and owner at the moment of
// the switch: a run killed right after it leaves nothing a reader would
// see with another mode or owner.
func TestPerFilePermFinalAtSwitch(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to other users needs root")
	}
	dir := t.TempDir()
	base := Options{Mode: 0o400, UID: 1000, GID: 1000}
	files := []File{
		{Path: "pg/server.key", Data: []byte("pg"), Perm: override(0o600, 999, 999)},
		{Path: "app/token", Data: []byte("app")},
	}
	want := map[string]string{
		"pg": "0700 999:999", "pg/server.key": "0600 999:999",
		"app": "0700 1000:1000", "app/token": "0400 1000:1000", ".": "0705 1000:1000",
	}
	checked := false
	err := write(context.Background(), dir, files, base, testHooks{switched: func() {
		checked = true
		for p, w := range want {
			// Stat follows ..data (and nothing else: the generation holds
			// no link).
			fi, err := os.Stat(filepath.Join(dir, "..data", p))
			if err != nil {
				t.Errorf("%s at the switch: %v", p, err)
				continue
			}
			uid, gid := owner(fi)
			if got := fmt.Sprintf("%04o %d:%d", fi.Mode().Perm(), uid, gid); got != w {
				t.Errorf("%s at the switch: %s, want %s", p, got, w)
			}
		}
	}})
	if err != nil || !checked {
		t.Fatalf("write: %v (hook called: %v)", err, checked)
	}
}

// TestPerFilePermWithProgram: an item's own mode and the exec helper in one
// generation: the item's file has its own mode, the program the settings'
// with execute where they give read, and the directories let each reader
// through.
func TestPerFilePermWithProgram(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Mode: 0o440, UID: -1, GID: -1,
		Extra: []File{{Path: BinDir + "/with-env", Data: []byte("program"), Exec: true}}}
	files := []File{{Path: "app.env", Data: []byte("A='1'\n")}, {Path: "own/key", Data: []byte("k"), Perm: override(0o400, -1, -1)}}
	if err := Write(context.Background(), dir, files, opts); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]fs.FileMode{"app.env": 0o440, "own/key": 0o400, BinDir + "/with-env": 0o550} {
		fi, err := os.Stat(filepath.Join(dir, path))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want %v", path, fi.Mode().Perm(), err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "own")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("own/: %v, %v; want 0700 (its one file is the owner's only)", fi.Mode().Perm(), err)
	}
}

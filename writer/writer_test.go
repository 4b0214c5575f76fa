package writer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-secret-injector/injector/internal/testsupport"
)

// tree lists every path under dir with its content ("" for directories and
// the link target for symbolic links), not following links.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	tr, err := testsupport.ReadTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tr.Contents()
}

// visible lists what a reader sees under dir: every path below the
// top-level names that do not begin with "..", following those names'
// links, with file content ("" for directories).
func visible(t *testing.T, dir string) map[string]string {
	t.Helper()
	return testsupport.Visible(t, dir).Contents()
}

// injectorNames returns the top-level ".." names under dir and the
// generation ..data points to.
func injectorNames(t *testing.T, dir string) (names []string, gen string) {
	t.Helper()
	names, gen, err := testsupport.InjectorNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	return names, gen
}

// checkClean fails unless the ".." names under dir are exactly ..data,
// ..lock and the generation ..data points to.
func checkClean(t *testing.T, dir string) {
	t.Helper()
	names, gen := injectorNames(t, dir)
	if !isGeneration(gen) || len(names) != 3 || !strings.Contains(strings.Join(names, " "), gen) {
		t.Errorf("injector names %v (..data -> %q), want ..data, ..lock and one generation", names, gen)
	}
}

var opts0400 = Options{Mode: 0o400, UID: -1, GID: -1}

func writeAll(t *testing.T, dir string, opts Options, kv ...string) {
	t.Helper()
	var files []File
	for i := 0; i < len(kv); i += 2 {
		files = append(files, File{Path: kv[i], Data: []byte(kv[i+1])})
	}
	if err := Write(context.Background(), dir, files, opts); err != nil {
		t.Fatal(err)
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	writeAll(t, dir, Options{Mode: 0o440, UID: -1, GID: -1}, "a", "one", "d/e/f", "two", "d/g", "")
	want := map[string]string{"a": "one", "d/": "", "d/e/": "", "d/e/f": "two", "d/g": ""}
	if got := visible(t, dir); !maps.Equal(got, want) {
		t.Fatalf("visible = %v, want %v", got, want)
	}
	_, gen := injectorNames(t, dir)
	raw := tree(t, dir)
	for name, target := range map[string]string{"a": "..data/a", "d": "..data/d", "..data": gen} {
		if raw[name] != "-> "+target {
			t.Errorf("%s is %q, want a link to %s", name, raw[name], target)
		}
	}
	checkClean(t, dir)
	for p, mode := range map[string]fs.FileMode{"a": 0o440, "d/e/f": 0o440, "d": 0o750, "d/e": 0o750, "..data": 0o750} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s mode = %v, %v; want %v", p, fi.Mode().Perm(), err, mode)
		}
	}
}

func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	writeAll(t, dir, opts0400, "a", "old", "x/k1", "1", "x/k2", "2", "gone", "g")
	_, first := injectorNames(t, dir)
	writeAll(t, dir, opts0400, "a", "new", "x/k1", "one")
	want := map[string]string{"a": "new", "x/": "", "x/k1": "one"}
	if got := visible(t, dir); !maps.Equal(got, want) {
		t.Fatalf("visible = %v, want %v (a key no longer written vanishes)", got, want)
	}
	checkClean(t, dir)
	if _, err := os.Lstat(filepath.Join(dir, first)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the first generation is still there: %v", err)
	}
}

// TestWriteReplacesAnything: a name an item writes replaces whatever stands
// there; the old content is removed, entries no item names stay, and
// nothing outside the root changes. Also where the file system lacks
// RENAME_EXCHANGE.
func TestWriteReplacesAnything(t *testing.T) {
	for _, noExchange := range []bool{false, true} {
		t.Run(fmt.Sprintf("noExchange=%v", noExchange), func(t *testing.T) { testReplacesAnything(t, noExchange) })
	}
}

func testReplacesAnything(t *testing.T, noExchange bool) {
	dir, outside := t.TempDir(), t.TempDir()
	mustWrite(t, filepath.Join(outside, "victim"), "untouched")
	mustWrite(t, filepath.Join(dir, "file"), "old file")
	mustMkdir(t, filepath.Join(dir, "dir", "sub"))
	mustWrite(t, filepath.Join(dir, "dir", "sub", "old"), "old nested")
	mustSymlink(t, outside, filepath.Join(dir, "dir", "out"))
	mustSymlink(t, filepath.Join(outside, "victim"), filepath.Join(dir, "link"))
	mustSymlink(t, outside, filepath.Join(dir, "dirlink"))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "keep"), "not named")
	mustSymlink(t, "keep", filepath.Join(dir, "keeplink"))
	mustWrite(t, filepath.Join(dir, "keepdir", "f"), "not named either")
	mustSymlink(t, "keepdir", filepath.Join(dir, "inlink"))
	beforeOut := tree(t, outside)

	files := []File{{Path: "file", Data: []byte("1")}, {Path: "dir/sub/new", Data: []byte("2")}, {Path: "link", Data: []byte("3")},
		{Path: "dirlink/x", Data: []byte("4")}, {Path: "fifo", Data: []byte("5")}, {Path: "inlink/y", Data: []byte("6")}}
	if err := write(context.Background(), dir, files, opts0400, testHooks{noExchange: noExchange}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"file": "1", "dir/": "", "dir/sub/": "", "dir/sub/new": "2", "link": "3",
		"dirlink/": "", "dirlink/x": "4", "fifo": "5", "keep": "not named", "keeplink": "not named",
		"inlink/": "", "inlink/y": "6", "keepdir/": "", "keepdir/f": "not named either"}
	if got := visible(t, dir); !maps.Equal(got, want) {
		t.Fatalf("visible = %v, want %v", got, want)
	}
	checkClean(t, dir)
	if after := tree(t, outside); !maps.Equal(beforeOut, after) {
		t.Errorf("outside changed:\nbefore %v\nafter  %v", beforeOut, after)
	}
}

func TestWriteRemovesStaleLinks(t *testing.T) {
	dir := t.TempDir()
	writeAll(t, dir, opts0400, "a", "1", "b/c", "2")
	mustSymlink(t, "..data/elsewhere", filepath.Join(dir, "other")) // not a link of the layout
	writeAll(t, dir, opts0400, "a", "3")
	got := tree(t, dir)
	if _, ok := got["b"]; ok {
		t.Error("b, no longer written, is still there")
	}
	if got["other"] != "-> ..data/elsewhere" {
		t.Errorf("other = %q, want it left alone", got["other"])
	}
}

// TestWriteRemovesLeftovers: what killed runs leave (generations ..data
// does not point to, ..data_tmp, replaced content) is removed before
// anything is written.
func TestWriteRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	writeAll(t, dir, opts0400, "a", "1")
	mustMkdir(t, filepath.Join(dir, "..2020_01_01_00_00_00.deadbeef", "a"))
	mustWrite(t, filepath.Join(dir, "..2020_01_01_00_00_00.deadbeef", "a", "k"), "secret")
	mustSymlink(t, "..2020_01_01_00_00_00.deadbeef", filepath.Join(dir, "..data_tmp"))
	mustMkdir(t, filepath.Join(dir, "..tmp.0123456789abcdef"))
	mustWrite(t, filepath.Join(dir, "kept", "f"), "mine")

	mustWrite(t, filepath.Join(dir, "..status.json"), "{}") // refresh mode's, not a leftover

	writeAll(t, dir, opts0400, "a", "2")
	if b, err := os.ReadFile(filepath.Join(dir, "..status.json")); err != nil || string(b) != "{}" {
		t.Errorf("..status.json: %q, %v; want it left alone", b, err)
	}
	if err := os.Remove(filepath.Join(dir, "..status.json")); err != nil {
		t.Fatal(err)
	}
	checkClean(t, dir)
	want := map[string]string{"a": "2", "kept/": "", "kept/f": "mine"}
	if got := visible(t, dir); !maps.Equal(got, want) {
		t.Fatalf("visible = %v, want %v", got, want)
	}
}

// lookalikes are names no item writes that look like temporaries of some
// scheme (an app's own, or a per-file writer's); only ".." names in the
// root are the injector's, so every one of these stays.
var lookalikes = []string{
	".notes.tmp-00112233445566aa",
	".x.old-0123456789abcdef",
	"appdata/.settings.old-fedcba9876543210",
	"appdata/cache/.state.json.tmp-0123456789abcdef",
	"appdata/.injector.tmp-0123456789abcdef",
	".injector.tmp-0123456789abcdef",
	"a.tmp-0123456789abcdef",
}

// TestWriteLeavesLookalikes: a run removes nothing no item names, however
// its name looks, in the root or below it.
func TestWriteLeavesLookalikes(t *testing.T) {
	dir := t.TempDir()
	want := map[string]string{}
	for i, p := range lookalikes {
		mustWrite(t, filepath.Join(dir, p), fmt.Sprint("app data ", i))
		want[p] = fmt.Sprint("app data ", i)
	}
	for range 2 {
		writeAll(t, dir, opts0400, "a", "1")
	}
	got := tree(t, dir)
	for p, v := range want {
		if got[p] != v {
			t.Errorf("%s = %q, want %q left alone", p, got[p], v)
		}
	}
}

// TestWriteFailureKeepsSet: a failure before the switch leaves what readers
// see as it was, and no new generation.
func TestWriteFailureKeepsSet(t *testing.T) {
	tests := []struct {
		name    string
		files   []File
		wantErr string
	}{
		{name: "name too long", files: []File{{Path: "a", Data: []byte("new")}, {Path: "fresh", Data: []byte("new name")},
			{Path: "n/" + strings.Repeat("x", 256)}}, wantErr: "file name too long"},
		{name: "reserved name", files: []File{{Path: "a"}, {Path: "..data/a"}}, wantErr: "belong to the injector"},
		{name: "duplicate", files: []File{{Path: "a"}, {Path: "a"}}, wantErr: "written twice"},
		{name: "nested", files: []File{{Path: "a"}, {Path: "a/b"}}, wantErr: "also a file"},
		{name: "escape", files: []File{{Path: "../a"}}, wantErr: "not a clean path"},
		{name: "absolute", files: []File{{Path: "/a"}}, wantErr: "not a clean path"},
		{name: "unclean", files: []File{{Path: "a//b"}}, wantErr: "not a clean path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeAll(t, dir, opts0400, "a", "old", "n/k", "old")
			mustWrite(t, filepath.Join(dir, "plain"), "image file")
			before, beforeRaw := visible(t, dir), tree(t, dir)
			err := Write(context.Background(), dir, tt.files, opts0400)
			if !errors.Is(err, ErrWrite) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want ErrWrite saying %q", err, tt.wantErr)
			}
			if after := visible(t, dir); !maps.Equal(before, after) {
				t.Errorf("visible set changed:\nbefore %v\nafter  %v", before, after)
			}
			if after := tree(t, dir); !maps.Equal(beforeRaw, after) {
				t.Errorf("root changed:\nbefore %v\nafter  %v", beforeRaw, after)
			}
		})
	}
}

func TestWrite255(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("n", 255)
	for range 2 {
		writeAll(t, dir, opts0400, long, "top", "d/"+long, "nested", "x/"+long, "x")
	}
	if got := visible(t, dir); got[long] != "top" || got["d/"+long] != "nested" {
		t.Fatalf("255-byte names not written: %d entries", len(got))
	}
	checkClean(t, dir)
}

func TestWriteCancelled(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Write(ctx, dir, []File{{Path: "a/b", Data: []byte("x")}}, opts0400)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := tree(t, dir); len(got) != 0 {
		t.Fatalf("tree = %v, want empty", got)
	}
}

// TestWriteWaitsForLock: a run waits while another holds ..lock, and gives
// up with a clear error when its context ends.
func TestWriteWaitsForLock(t *testing.T) {
	dir := t.TempDir()
	writeAll(t, dir, opts0400, "a", "1")
	f, err := os.Open(filepath.Join(dir, "..lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = Write(ctx, dir, []File{{Path: "a", Data: []byte("2")}}, opts0400)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "another injector run holds the lock") {
		t.Fatalf("err = %v, want a clear lock timeout", err)
	}
	done := make(chan error)
	go func() { done <- Write(context.Background(), dir, []File{{Path: "a", Data: []byte("3")}}, opts0400) }()
	time.Sleep(20 * time.Millisecond)
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := visible(t, dir); got["a"] != "3" {
		t.Fatalf("a = %q, want 3", got["a"])
	}
}

func TestWriteOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	dir := t.TempDir()
	writeAll(t, dir, Options{Mode: 0o400, UID: 1234, GID: 5678}, "d/a", "x")
	_, gen := injectorNames(t, dir)
	for _, p := range []string{"d", gen, gen + "/d", gen + "/d/a", "..data"} {
		fi, err := os.Lstat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		uid, gid := owner(fi)
		if uid != 1234 || gid != 5678 {
			t.Errorf("%s owned by %d:%d, want 1234:5678", p, uid, gid)
		}
	}
}

func TestUpdate(t *testing.T) {
	appendLine := func(cur []byte) ([]byte, error) { return append(cur, "line\n"...), nil }
	dir := t.TempDir()
	for range 2 {
		if err := Update(context.Background(), dir, "ecs/ecs.config", 1<<20, opts0400, appendLine); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(dir, "ecs", ".injector.tmp-0123456789abcdef"), "killed run")
	mustWrite(t, filepath.Join(dir, "ecs", ".ecs.config.old-0123456789abcdef"), "older scheme")
	mustWrite(t, filepath.Join(dir, "ecs", ".other.old-0123456789abcdef"), "not ours")
	mustWrite(t, filepath.Join(dir, "ecs", ".injector.tmp-0123456789abcdeX"), "not ours either")
	if err := Update(context.Background(), dir, "ecs/ecs.config", 1<<20, opts0400, appendLine); err != nil {
		t.Fatal(err)
	}
	// Only Update's own temporary goes; names that merely look like some
	// temporary are the directory owner's.
	want := map[string]string{
		"ecs/": "", "ecs/ecs.config": "line\nline\nline\n",
		"ecs/.ecs.config.old-0123456789abcdef": "older scheme",
		"ecs/.other.old-0123456789abcdef":      "not ours",
		"ecs/.injector.tmp-0123456789abcdeX":   "not ours either",
	}
	if got := tree(t, dir); !maps.Equal(got, want) {
		t.Fatalf("tree = %v, want %v", got, want)
	}
	fi, err := os.Stat(filepath.Join(dir, "ecs", "ecs.config"))
	if err != nil || fi.Mode().Perm() != 0o400 {
		t.Errorf("mode %v, %v; want 0400", fi.Mode().Perm(), err)
	}
}

func TestUpdateRefuses(t *testing.T) {
	errRender := errors.New("render failed")
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir, outside string)
		fn      func([]byte) ([]byte, error)
		wantErr string
		write   bool // the error wraps ErrWrite
	}{
		{name: "target links outside", write: true, wantErr: "symbolic link",
			prepare: func(t *testing.T, dir, outside string) {
				mustSymlink(t, filepath.Join(outside, "keep"), filepath.Join(dir, "ecs", "ecs.config"))
			}},
		{name: "directory links outside", write: true, wantErr: "ecs is a symbolic link",
			prepare: func(t *testing.T, dir, outside string) { mustSymlink(t, outside, filepath.Join(dir, "ecs")) }},
		{name: "target is a directory", write: true, wantErr: "not a regular file",
			prepare: func(t *testing.T, dir, _ string) { mustMkdir(t, filepath.Join(dir, "ecs", "ecs.config")) }},
		{name: "render fails", wantErr: "render failed",
			fn: func([]byte) ([]byte, error) { return nil, errRender }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, outside := t.TempDir(), t.TempDir()
			mustWrite(t, filepath.Join(outside, "keep"), "untouched")
			if tt.prepare != nil {
				tt.prepare(t, dir, outside)
			}
			before, beforeOut := tree(t, dir), tree(t, outside)
			fn := tt.fn
			if fn == nil {
				fn = func([]byte) ([]byte, error) { return []byte("new"), nil }
			}
			err := Update(context.Background(), dir, "ecs/ecs.config", 1<<20, opts0400, fn)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errors.Is(err, ErrWrite) != tt.write {
				t.Fatalf("err = %v, want one saying %q (ErrWrite: %v)", err, tt.wantErr, tt.write)
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

func mustMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, p, s string) {
	t.Helper()
	mustMkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	mustMkdir(t, filepath.Dir(link))
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// FuzzWrite: whatever path it is given, Write either refuses it or makes
// exactly that path readable through the root, and never changes anything
// outside.
func FuzzWrite(f *testing.F) {
	for _, s := range []string{"a", "a/b/c", "../a", "/abs", "a/../b", ".", "", "a//b", "..", "a/.", ".hidden", "a\\b", "..data", "..x/y"} {
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
		err = Write(context.Background(), dir, []File{{Path: p, Data: []byte("x")}}, opts0400)
		after := tree(t, parent)
		for k := range after {
			if strings.HasPrefix(k, filepath.Base(dir)+"/") {
				delete(after, k)
			}
		}
		if !maps.Equal(before, after) {
			t.Fatalf("Write(%q) changed things outside the root:\nbefore %v\nafter  %v", p, before, after)
		}
		got := visible(t, dir)
		if err != nil {
			if len(got) != 0 {
				t.Fatalf("Write(%q) failed (%v) but left %v", p, err, got)
			}
			return
		}
		if got[p] != "x" {
			t.Fatalf("Write(%q) succeeded but a reader sees %v", p, got)
		}
		checkClean(t, dir)
	})
}

// TestWriteOverlayLowerDir: on overlayfs (a root inside a container's own
// file system), a directory the image put there cannot be renamed or
// exchanged (EXDEV); it is removed where it is and replaced by its link.
func TestWriteOverlayLowerDir(t *testing.T) {
	base := t.TempDir()
	lower, upper, work, merged := filepath.Join(base, "lower"), filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "merged")
	mustWrite(t, filepath.Join(lower, "app", "x"), "from the image")
	mustWrite(t, filepath.Join(lower, "file"), "from the image")
	for _, d := range []string{upper, work, merged} {
		mustMkdir(t, d)
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if out, err := exec.Command("mount", "-t", "overlay", "overlay", "-o", opts, merged).CombinedOutput(); err != nil {
		t.Skipf("cannot mount an overlayfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", merged).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	for range 2 {
		writeAll(t, merged, opts0400, "app/y", "new", "file", "new file")
		want := map[string]string{"app/": "", "app/y": "new", "file": "new file"}
		if got := visible(t, merged); !maps.Equal(got, want) {
			t.Fatalf("visible = %v, want %v", got, want)
		}
		checkClean(t, merged)
	}
}

// TestUpdateWaitsForLock: Update takes turns with other runs on the file's
// directory, and gives up with a clear error when its context ends.
func TestUpdateWaitsForLock(t *testing.T) {
	dir := t.TempDir()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = Update(ctx, dir, "ecs.config", 1<<20, opts0400, func([]byte) ([]byte, error) { return []byte("x"), nil })
	if !errors.Is(err, ErrWrite) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "another injector run holds the lock") {
		t.Fatalf("err = %v, want a clear lock timeout", err)
	}
	if got := tree(t, dir); len(got) != 0 {
		t.Fatalf("tree = %v, want empty", got)
	}
}

// TestUpdateBoundsCurrent: the file to merge into is read up to the limit;
// a larger one is ErrTooLarge (not ErrWrite), fn is not called and the file
// stays as it was.
func TestUpdateBoundsCurrent(t *testing.T) {
	const limit = 1000
	for _, size := range []int{0, 1, limit - 1, limit, limit + 1, 10 * limit} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			dir := t.TempDir()
			old := strings.Repeat("x", size)
			mustWrite(t, filepath.Join(dir, "ecs.config"), old)
			called := false
			err := Update(context.Background(), dir, "ecs.config", limit, opts0400, func(cur []byte) ([]byte, error) {
				called = true
				if string(cur) != old {
					t.Errorf("fn got %d bytes, want %d", len(cur), size)
				}
				return []byte("new"), nil
			})
			b, _ := os.ReadFile(filepath.Join(dir, "ecs.config"))
			if size <= limit {
				if err != nil || string(b) != "new" {
					t.Fatalf("Update = %v, file %d bytes; want it replaced", err, len(b))
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrWrite) || called ||
				!strings.Contains(err.Error(), "ecs.config: the file to merge into") || !strings.Contains(err.Error(), "limit of 1000 bytes") {
				t.Errorf("Update = %v (fn called: %v), want ErrTooLarge naming the path and the limit, before fn", err, called)
			}
			if string(b) != old {
				t.Error("the file changed")
			}
			if got := tree(t, dir); len(got) != 1 {
				t.Errorf("tree = %v, want ecs.config alone", got)
			}
		})
	}
}

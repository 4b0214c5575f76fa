package integration_test

// What the injector may touch in an output root: only what it can prove is
// its own.

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-secret-injector/injector/engine/status"
	"github.com/ecs-secret-injector/injector/internal/testsupport"
)

// lookalikes are files no item writes whose names look like the temporaries
// of some per-file writer, with the mode each is planted with.
var lookalikes = map[string]os.FileMode{
	"appdata/cache/.state.json.tmp-0123456789abcdef": 0o600,
	"appdata/.settings.old-fedcba9876543210":         0o644,
	".notes.tmp-00112233445566aa":                    0o600,
	".db.url.old-0123456789abcdef":                   0o400,
	"appdata/.injector.tmp-0123456789abcdef":         0o644,
	".injector.tmp-0123456789abcdef":                 0o644,
	"sm.tmp-0123456789abcdef":                        0o644,
}

// TestLayoutLeavesLookalikes: a run, and a refresh-mode run, leave every
// file no item names byte for byte as it was, in the root or in a
// directory no item writes, whatever its name looks like.
func TestLayoutLeavesLookalikes(t *testing.T) {
	s := seedValues(t, false)
	spec := specJSON(t, s.items...)
	runs := []struct {
		name string
		run  func(t *testing.T, dir string)
	}{
		{"run", func(t *testing.T, dir string) {
			res := h.injectOK(t, spec, dir)
			assertNoSecret(t, res.output, s.secrets...)
		}},
		{"refresh", func(t *testing.T, dir string) {
			r := startRefresh(t, spec, dir)
			r.published(t, 1)
			if code, _ := r.signal(t, syscall.SIGTERM); code != 0 {
				t.Errorf("SIGTERM: exit %d:\n%s", code, redact(r.out.String(), s.secrets))
			}
			assertNoSecret(t, r.out.String(), s.secrets...)
		}},
	}
	for _, rc := range runs {
		t.Run(rc.name, func(t *testing.T) {
			dir := t.TempDir()
			for p, mode := range lookalikes {
				plantFile(t, filepath.Join(dir, p), "app's own data for "+p, mode)
			}
			before := visibleTree(t, dir)
			rc.run(t, dir)
			for p, mode := range lookalikes {
				b, err := os.ReadFile(filepath.Join(dir, p))
				if err != nil || string(b) != "app's own data for "+p {
					t.Errorf("%s: %q, %v; want it left alone", p, b, err)
					continue
				}
				if fi, err := os.Lstat(filepath.Join(dir, p)); err != nil || fi.Mode() != mode {
					t.Errorf("%s: mode %v, %v; want %v", p, fi.Mode(), err, mode)
				}
			}
			if err := written(dir, before, visibleTree(t, dir), s.files); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestInPlaceLeavesLookalikes: an ecs-config run removes, from the file's
// directory, only its own temporary files.
func TestInPlaceLeavesLookalikes(t *testing.T) {
	password := "registry-password-" + randHex(8)
	login := fmt.Sprintf(`{"username":"robot","password":%q}`, password)
	name := uniq() + "/login"
	putSecret(t, name, login)
	dir := t.TempDir()
	plantFile(t, filepath.Join(dir, "ecs.config"), "ECS_CLUSTER=prod\n", 0o644)
	kept := []string{".ecs.config.old-0123456789abcdef", ".ecs.config.tmp-0123456789abcdef", ".injector.tmp-0123456789abcdeX", ".injector.old-0123456789abcdef"}
	for _, p := range kept {
		plantFile(t, filepath.Join(dir, p), "agent's "+p, 0o600)
	}
	plantFile(t, filepath.Join(dir, ".injector.tmp-0123456789abcdef"), "a killed run's", 0o600)
	res := h.injectOK(t, specJSON(t, map[string]any{"from": "secretsmanager:" + name, "path": "ecs.config", "format": "ecs-config", "registry": "r.example.com"}), dir)
	assertNoSecret(t, res.output, password)
	for _, p := range kept {
		if b, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(b) != "agent's "+p {
			t.Errorf("%s: %q, %v; want it left alone", p, b, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, ".injector.tmp-0123456789abcdef")); !os.IsNotExist(err) {
		t.Errorf("a killed run's temporary is still there (%v)", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "ecs.config")); !strings.Contains(string(b), "ECS_CLUSTER=prod\n") {
		t.Error("ecs.config was not merged into")
	}
}

// TestRefreshStatusNameTaken: a directory at ..status.json makes a
// refresh-mode run exit 5 after its switch, saying that the new files are
// visible; they are, complete, and the directory is left alone.
func TestRefreshStatusNameTaken(t *testing.T) {
	s := seedValues(t, false)
	dir := t.TempDir()
	mkdir(t, filepath.Join(dir, status.File, "app"))
	before := visibleTree(t, dir)
	r := startRefresh(t, specJSON(t, s.items...), dir)
	select {
	case <-r.exited:
	case <-time.After(patience):
		t.Fatalf("no exit within %s:\n%s", patience, redact(r.out.String(), s.secrets))
	}
	out := r.out.String()
	assertNoSecret(t, out, s.secrets...)
	if r.code != 5 || !strings.Contains(out, "the new files are visible, but writing the status file ..status.json") ||
		!strings.Contains(out, "is a directory") {
		t.Fatalf("exit %d, want 5 saying the new files are visible and the status file name is a directory:\n%s", r.code, redact(out, s.secrets))
	}
	if err := written(dir, before, visibleTree(t, dir), s.files); err != nil {
		t.Error(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, status.File, "app")); err != nil || !fi.IsDir() {
		t.Errorf("the directory at ..status.json was touched: %v", err)
	}
}

// TestInPlaceOldFileTooLarge: an ecs.config past INJECTOR_MAX_VALUE_BYTES
// is not read whole: the run fails with exit 4 naming the path and the
// limit, and the file stays as it was.
func TestInPlaceOldFileTooLarge(t *testing.T) {
	password := "registry-password-" + randHex(8)
	name := uniq() + "/login"
	putSecret(t, name, fmt.Sprintf(`{"username":"robot","password":%q}`, password))
	dir := t.TempDir()
	file := filepath.Join(dir, "ecs.config")
	plantFile(t, file, "ECS_CLUSTER=prod\n", 0o644)
	if err := os.Truncate(file, 256<<20); err != nil { // sparse
		t.Fatal(err)
	}
	sum := func() string {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		return fmt.Sprintf("%x %d %v %v", h.Sum(nil), fi.Sys().(*syscall.Stat_t).Ino, fi.ModTime(), fi.Mode())
	}
	before := sum()
	res := h.inject(t, specJSON(t, map[string]any{"from": "secretsmanager:" + name, "path": "ecs.config", "format": "ecs-config", "registry": "r.example.com"}),
		dir, "INJECTOR_TIMEOUT=1s", "INJECTOR_MAX_VALUE_BYTES=1048576")
	assertNoSecret(t, res.output, password)
	for _, want := range []string{"ecs.config", "larger than the limit of 1048576 bytes", "INJECTOR_MAX_VALUE_BYTES"} {
		if res.code != 4 || !strings.Contains(res.output, want) {
			t.Fatalf("exit %d, want 4 with %q:\n%s", res.code, want, res.output)
		}
	}
	t.Logf("exit %d after %s", res.code, res.wall)
	if after := sum(); after != before {
		t.Errorf("ecs.config changed: %s, was %s", after, before)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the directory holds %v, want ecs.config alone", entries)
	}
}

// appUID is the user an app reading the volume runs as.
const appUID = 1000

// sharedRoot returns an output root that appUID can reach (t.TempDir's
// directories are for the test's user only).
func sharedRoot(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("acting as another user needs root (here: uid", os.Geteuid(), ")")
	}
	base, err := os.MkdirTemp("", "injector-shared-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	dir := filepath.Join(base, "out")
	mkdir(t, dir)
	for _, d := range []string{base, dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// asApp starts a shell script as appUID in dir; its output is read from
// the returned buffer. It is killed when t ends.
func asApp(t *testing.T, dir, script string) *testsupport.Buffer {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: appUID, Gid: appUID, Groups: []uint32{}}, Setpgid: true}
	out := &testsupport.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	return out
}

// TestLockAppCannotHold: a process of another user that reads the volume
// cannot open ..lock, so it can take no lock on it, and a refresh-mode run
// publishes a rotation while that process keeps trying.
func TestLockAppCannotHold(t *testing.T) {
	dir := sharedRoot(t)
	tok := randHex(6)
	id := putSecret(t, uniq()+"/rotated", "v1-"+tok)
	r := startRefresh(t, specJSON(t, item(id, "token")), dir, "INJECTOR_FILE_MODE=0444")
	defer func() { assertNoSecret(t, r.out.String(), "v1-"+tok, "v2-"+tok) }()
	r.published(t, 1)
	fi, err := os.Lstat(filepath.Join(dir, "..lock"))
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 || fi.Sys().(*syscall.Stat_t).Uid != uint32(os.Geteuid()) {
		t.Fatalf("..lock: %v, %v; want a regular file of the injector's user, mode 0600 whatever INJECTOR_FILE_MODE says", fi.Mode(), err)
	}
	// The app reads its file, and tries to hold the lock, again and again.
	app := asApp(t, dir, `cat token >/dev/null && echo READ
		while :; do flock -n -s ..lock -c 'echo GOT; sleep 600'; flock -n -x ..lock -c 'echo GOT; sleep 600'; sleep 0.02; done`)
	r.waitFor(t, "the app's first tries", func() bool { return strings.Count(app.String(), "Permission denied") >= 4 })
	if !strings.HasPrefix(app.String(), "READ\n") {
		t.Fatalf("the app could not read its file:\n%s", app.String())
	}
	rotateSecret(t, id, "v2-"+tok)
	r.waitFor(t, "generation 2, or the app holding the lock", func() bool {
		return r.status().Generation >= 2 || strings.Contains(app.String(), "GOT")
	})
	if strings.Contains(app.String(), "GOT") {
		t.Fatalf("a process of uid %d took a lock on ..lock:\n%s", appUID, app.String())
	}
	if got := readString(t, filepath.Join(dir, "token")); got != "v2-"+tok {
		t.Errorf("token holds %d bytes, want the rotated value", len(got))
	}
	if code, _ := r.signal(t, syscall.SIGTERM); code != 0 {
		t.Errorf("SIGTERM: exit %d", code)
	}
}

// TestLockReplacesReadableLock: a world-readable ..lock (as an older
// injector left it) that a process of another user opened and holds
// LOCK_SH on does not keep a run from publishing: the run replaces it with
// one of its own, mode 0600.
func TestLockReplacesReadableLock(t *testing.T) {
	dir := sharedRoot(t)
	s := seedValues(t, false)
	plantFile(t, filepath.Join(dir, "..lock"), "", 0o644)
	app := asApp(t, dir, `flock -s ..lock -c 'echo HELD; sleep 600'`)
	deadline := time.Now().Add(patience)
	for !strings.Contains(app.String(), "HELD") {
		if time.Now().After(deadline) {
			t.Fatalf("the app took no lock:\n%s", app.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := visibleTree(t, dir)
	res := h.inject(t, specJSON(t, s.items...), dir, "INJECTOR_TIMEOUT=5s")
	assertNoSecret(t, res.output, s.secrets...)
	if res.code != 0 {
		t.Fatalf("exit %d, want 0 with the app holding the old ..lock:\n%s", res.code, redact(res.output, s.secrets))
	}
	checkWritten(t, dir, before, visibleTree(t, dir), s.files, s.secrets...)
	fi, err := os.Lstat(filepath.Join(dir, "..lock"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("..lock: %v, %v; want it replaced with mode 0600", fi.Mode(), err)
	}
}

package writer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// lockInfo returns ..lock's type and mode, owner and inode.
func lockInfo(t *testing.T, dir string) (os.FileMode, uint32, uint64) {
	t.Helper()
	fi, err := os.Lstat(filepath.Join(dir, lockName))
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fi.Mode(), st.Uid, st.Ino
}

// TestLockOwnerOnly: ..lock is a regular file of the injector's user with
// mode 0600 whatever the files' mode, and one that another user could open,
// or that is not a regular file, is replaced, even while something holds a
// lock on it; the place a link at ..lock points to is not touched.
func TestLockOwnerOnly(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "target")
	mustWrite(t, outside, "outside")
	tests := []struct {
		name    string
		prepare func(t *testing.T, lock string)
	}{
		{"none", func(*testing.T, string) {}},
		{"world-readable, held shared", func(t *testing.T, lock string) {
			mustWrite(t, lock, "")
			if err := os.Chmod(lock, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(lock)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
				t.Fatal(err)
			}
		}},
		{"group-readable", func(t *testing.T, lock string) {
			mustWrite(t, lock, "")
			if err := os.Chmod(lock, 0o640); err != nil {
				t.Fatal(err)
			}
		}},
		{"link outside", func(t *testing.T, lock string) { mustSymlink(t, outside, lock) }},
		{"fifo", func(t *testing.T, lock string) {
			if err := syscall.Mkfifo(lock, 0o666); err != nil {
				t.Fatal(err)
			}
		}},
	}
	opts := Options{Mode: 0o444, UID: -1, GID: -1}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.prepare(t, filepath.Join(dir, lockName))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := Write(ctx, dir, []File{{Path: "a", Data: []byte("1")}}, opts); err != nil {
				t.Fatal(err)
			}
			mode, uid, ino := lockInfo(t, dir)
			if !mode.IsRegular() || mode.Perm() != 0o600 || int(uid) != os.Geteuid() {
				t.Fatalf("..lock: %v of uid %d, want a regular file of uid %d, mode 0600", mode, uid, os.Geteuid())
			}
			// A good lock is kept.
			if err := Write(ctx, dir, []File{{Path: "a", Data: []byte("2")}}, opts); err != nil {
				t.Fatal(err)
			}
			if _, _, again := lockInfo(t, dir); again != ino {
				t.Error("a lock of the injector's own was replaced")
			}
			if b, _ := os.ReadFile(outside); string(b) != "outside" {
				t.Errorf("the link's target changed: %q", b)
			}
			checkClean(t, dir)
		})
	}
}

// TestLockOtherUsers: a ..lock of mode 0600 that another user owns is an
// injector's of that user: a clear error, and nothing changes.
func TestLockOtherUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user needs root")
	}
	dir := t.TempDir()
	lock := filepath.Join(dir, lockName)
	mustWrite(t, lock, "")
	if err := os.Chown(lock, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	err := Write(context.Background(), dir, []File{{Path: "a", Data: []byte("1")}}, opts0400)
	if err == nil || !strings.Contains(err.Error(), "belongs to uid 1000, and this injector runs as uid 0") {
		t.Fatalf("Write = %v, want it refused, naming both users", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("root holds %v, want the lock alone", entries)
	}
}

// TestLockReplacedOnce: runs that start together on a root whose ..lock
// must be replaced still hold the lock one at a time.
func TestLockReplacedOnce(t *testing.T) {
	for range 20 {
		dir := t.TempDir()
		mustWrite(t, filepath.Join(dir, lockName), "")
		if err := os.Chmod(filepath.Join(dir, lockName), 0o644); err != nil {
			t.Fatal(err)
		}
		var holders, most atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				x, err := Begin(context.Background(), dir, opts0400)
				if err != nil {
					t.Error(err)
					return
				}
				n := holders.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(time.Millisecond)
				holders.Add(-1)
				if err := x.Abort(); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if most.Load() != 1 {
			t.Fatalf("%d runs held the lock at once", most.Load())
		}
		if names, _ := injectorNames(t, dir); len(names) != 1 {
			t.Fatalf("left %v, want the lock alone", names)
		}
	}
}

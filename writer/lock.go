package writer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lockNext is the name under which a new ..lock is made before it is
// renamed over the old one.
const lockNext = "..lock.next"

// lockRoot takes the exclusive lock of the output root open at dirfd, and
// waits for it until ctx ends. The lock is a flock on ..lock, a regular
// file of the injector's user that no other user may open (mode 0600,
// whatever the files' mode): a process of another user that reads the
// volume cannot open it, so it can hold no lock on it, shared or not, and
// cannot keep a run from publishing. (Any descriptor can take a flock, and
// an fcntl lock only needs one open for reading, so who may open the file
// is what matters.)
//
// A ..lock that is missing, or that another user may open (an older
// injector's, mode 0644, which an app may have open), or that is not a
// regular file, is replaced first by a new one renamed over it, so that a
// descriptor opened on the old one locks nothing that counts. A ..lock of
// mode 0600 that another user owns is the lock of an injector running as
// that user: an error, as two injectors of different users cannot take
// turns on one root.
func lockRoot(ctx context.Context, dirfd int) (unlock func(), err error) {
	euid := os.Geteuid()
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("taking the lock on %s: %w", lockName, context.Cause(ctx))
		}
		fd, st, err := openLock(dirfd, lockName)
		switch {
		case err != nil:
			return nil, err
		case fd >= 0 && ownLock(st, euid):
			if err := waitLock(ctx, fd, lockName); err != nil {
				unix.Close(fd)
				return nil, err
			}
			// A run that replaced ..lock meanwhile has taken the new one;
			// this one must too.
			if sameFile(dirfd, lockName, st) {
				return func() { unix.Close(fd) }, nil
			}
			unix.Close(fd)
			continue
		case fd >= 0:
			unix.Close(fd)
		}
		if st != nil && foreignLock(st, euid) {
			return nil, fmt.Errorf("the lock file %s belongs to uid %d, and this injector runs as uid %d: "+
				"injectors of different users cannot share an output root (remove %[1]s to give the root to this user)", lockName, st.Uid, euid)
		}
		if err := replaceLock(ctx, dirfd, euid); err != nil {
			return nil, err
		}
	}
}

// openLock opens name under dirfd read-only, not following a link, and
// returns its descriptor (-1 if it could not be opened) and what stands at
// name (nil if nothing does).
func openLock(dirfd int, name string) (int, *unix.Stat_t, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == nil {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return -1, nil, &fs.PathError{Op: "fstat", Path: name, Err: err}
		}
		return fd, &st, nil
	}
	// A link (ELOOP), a file this user may not open (EACCES), a socket:
	// what stands there, to replace.
	var st unix.Stat_t
	switch serr := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case errors.Is(serr, unix.ENOENT):
		return -1, nil, nil
	case serr != nil:
		return -1, nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return -1, &st, nil
}

// ownLock reports whether st is a lock file only this user may open: a
// regular file that euid owns, with no permission for group or others.
func ownLock(st *unix.Stat_t, euid int) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFREG && int(st.Uid) == euid && st.Mode&0o077 == 0
}

// foreignLock reports whether st is what ownLock accepts, but for another
// user: the lock of an injector running as that user.
func foreignLock(st *unix.Stat_t, euid int) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFREG && int(st.Uid) != euid && st.Mode&0o077 == 0
}

// sameFile reports whether name under dirfd is still the file st is of.
func sameFile(dirfd int, name string, st *unix.Stat_t) bool {
	var now unix.Stat_t
	return unix.Fstatat(dirfd, name, &now, unix.AT_SYMLINK_NOFOLLOW) == nil && now.Dev == st.Dev && now.Ino == st.Ino
}

// replaceLock puts a new lock file at ..lock unless one of this user's
// stands there. Runs that replace it take turns, with a lock on ..lock.next
// (a file of this user only, too): the one holding it checks ..lock again
// and renames ..lock.next over it, so that no run replaces a ..lock that
// another run has made and taken meanwhile.
func replaceLock(ctx context.Context, dirfd, euid int) error {
	fd, err := unix.Openat(dirfd, lockNext, unix.O_RDONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("making a new lock file: %w", &fs.PathError{Op: "open", Path: lockNext, Err: err})
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &fs.PathError{Op: "fstat", Path: lockNext, Err: err}
	}
	if !ownLock(&st, euid) {
		return fmt.Errorf("%s, which the injector makes as a file of its own user (uid %d) with mode 0600, is not one (uid %d, mode %04o): remove it",
			lockNext, euid, st.Uid, st.Mode&0o7777)
	}
	if err := unix.Fchmod(fd, 0o600); err != nil {
		return &fs.PathError{Op: "chmod", Path: lockNext, Err: err}
	}
	if err := waitLock(ctx, fd, lockNext); err != nil {
		return err
	}
	if !sameFile(dirfd, lockNext, &st) {
		return nil // another run renamed it to ..lock: look again
	}
	// This run's turn: no other run changes ..lock until it ends.
	var cur unix.Stat_t
	switch err := unix.Fstatat(dirfd, lockName, &cur, unix.AT_SYMLINK_NOFOLLOW); {
	case err == nil && (ownLock(&cur, euid) || foreignLock(&cur, euid)):
		// Another run made one meanwhile (and this run's open made
		// ..lock.next anew), or lockRoot says whose it is.
		if err := unix.Unlinkat(dirfd, lockNext, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return &fs.PathError{Op: "unlink", Path: lockNext, Err: err}
		}
		return nil
	case err != nil && !errors.Is(err, unix.ENOENT):
		return &fs.PathError{Op: "stat", Path: lockName, Err: err}
	case err == nil && cur.Mode&unix.S_IFMT == unix.S_IFDIR:
		return fmt.Errorf("the lock file %s is a directory; remove it", lockName)
	}
	if err := unix.Renameat(dirfd, lockNext, dirfd, lockName); err != nil {
		return fmt.Errorf("replacing the lock file %s: %w", lockName, &fs.PathError{Op: "rename", Path: lockNext, Err: err})
	}
	return nil
}

// waitLock takes an exclusive flock on fd (what names what it locks),
// polling until ctx ends: a blocking flock could not be cancelled.
func waitLock(ctx context.Context, fd int, what string) error {
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return &fs.PathError{Op: "flock", Path: what, Err: err}
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("another injector run holds the lock on %s; gave up waiting for it: %w", what, context.Cause(ctx))
		case <-t.C:
		}
	}
}

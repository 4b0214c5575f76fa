package writer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive lock on the file name under dirfd, creating
// it if needed, and waits for it until ctx ends. The file holds nothing; it
// is opened read-only, so a run as another user can lock it too.
func lockFile(ctx context.Context, dirfd int, name string) (unlock func(), err error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the lock file %s: %w", name, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, fmt.Errorf("the lock file %s is not a regular file", name)
	}
	if err := waitLock(ctx, fd, name); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return func() { unix.Close(fd) }, nil
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

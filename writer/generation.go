package writer

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// writeWorkers is how many files are written at once.
const writeWorkers = 8

// writeGeneration writes files into the open, empty generation directory
// gen under r with their final modes and owners, and makes it durable with
// one syncfs of the file system that holds the root: it writes back every file and directory
// of the generation, and the root's entry for it, in one journal commit,
// where a sync per file would wait for one commit after another.
func writeGeneration(ctx context.Context, r *outRoot, gen *os.File, files []File, opts Options) error {
	dirs := map[string]*os.File{}
	defer func() {
		for name, d := range dirs {
			if name != "." {
				d.Close()
			}
		}
	}()
	dirs["."] = gen
	for _, d := range dirsOf(files) {
		parent := int(dirs[path.Dir(d)].Fd())
		if err := unix.Mkdirat(parent, path.Base(d), 0o700); err != nil {
			return fmt.Errorf("%s: %w", d, &fs.PathError{Op: "mkdir", Path: path.Base(d), Err: err})
		}
		f, err := openNewDir(parent, path.Base(d), opts)
		if err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
		dirs[d] = f
	}
	err := parallel(ctx, len(files), func(i int) error {
		f := files[i]
		if err := writeFile(int(dirs[path.Dir(f.Path)].Fd()), path.Base(f.Path), f.Data, opts, false); err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := unix.Syncfs(r.fd); err != nil {
		return fmt.Errorf("syncing the file system of the output root: %w", err)
	}
	return nil
}

// dirsOf returns the directories the files need below the generation,
// parents first.
func dirsOf(files []File) []string {
	seen := map[string]bool{}
	var dirs []string
	for _, f := range files {
		for d := path.Dir(f.Path); d != "." && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	// A parent's path is a prefix of its children's, so it sorts first.
	slices.Sort(dirs)
	return dirs
}

// openNewDir opens the directory name under dirfd, which the caller has
// just created, and gives it its mode and owner.
func openNewDir(dirfd int, name string, opts Options) (*os.File, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	d := os.NewFile(uintptr(fd), name)
	if err := settle(d, opts.dirMode(), opts); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// writeFile creates name under dirfd with data, mode and owner, and with
// sync syncs it.
func writeFile(dirfd int, name string, data []byte, opts Options, sync bool) error {
	fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return &fs.PathError{Op: "open", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	_, err = f.Write(data)
	if err == nil {
		err = settle(f, opts.Mode.Perm(), opts)
	}
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// settle gives f its owner, then its exact mode (the umask filtered the
// one it was created with).
func settle(f *os.File, mode fs.FileMode, opts Options) error {
	if opts.chowns() {
		if err := f.Chown(opts.UID, opts.GID); err != nil {
			return err
		}
	}
	return f.Chmod(mode)
}

// parallel calls fn(0) ... fn(n-1) on up to writeWorkers goroutines. It stops
// starting calls at the first error or when ctx ends, and returns the error
// of the lowest index that failed. One call runs on the caller's goroutine.
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	if n == 1 {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(0)
	}
	errs := make([]error, n)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(n, writeWorkers) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failed.Load() {
					return
				}
				err := ctx.Err()
				if err == nil {
					err = fn(i)
				}
				if err != nil {
					errs[i] = err
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

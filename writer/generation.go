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

// writeGeneration writes files into the generation whose open directories
// are ds (ds["."] is the generation; Begin may have made more) with their
// final modes and owners, removes the directories Begin made that no file
// needs, and makes the generation durable with one syncfs of the file
// system that holds the root: it writes back every file and directory of
// the generation, and the root's entry for it, in one journal commit, where
// a sync per file would wait for one commit after another.
func writeGeneration(ctx context.Context, r *outRoot, ds genDirs, files []File, opts Options) error {
	needed := dirsOf(files)
	perms := dirPerms(files, opts)
	// The directories made before the files were known (the generation,
	// and Begin's) have opts' mode and owner: each gets its own now,
	// before the switch.
	for d, f := range ds {
		if p, ok := perms[d]; ok && p != opts.dirPerm() {
			if err := p.setOwnerMode(f); err != nil {
				return fmt.Errorf("%s: %w", d, err)
			}
		}
	}
	if err := ds.make(needed, func(d string) dirPerm { return perms[d] }); err != nil {
		return err
	}
	if err := ds.prune(needed); err != nil {
		return err
	}
	err := parallel(ctx, len(files), func(i int) error {
		f := files[i]
		o := opts.With(f.Perm)
		if err := writeFile(int(ds[path.Dir(f.Path)].Fd()), path.Base(f.Path), f.Data, o.fileMode(f), o, false); err != nil {
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

// genDirs are the directories of a generation made so far, open, by path
// below it ("." is the generation itself).
type genDirs map[string]*os.File

// make creates each of dirs not made yet, with the mode and owner perm
// gives it; dirs lists parents first (dirsOf).
func (ds genDirs) make(dirs []string, perm func(dir string) dirPerm) error {
	for _, d := range dirs {
		if ds[d] != nil {
			continue
		}
		parent := int(ds[path.Dir(d)].Fd())
		if err := unix.Mkdirat(parent, path.Base(d), 0o700); err != nil {
			return fmt.Errorf("%s: %w", d, &fs.PathError{Op: "mkdir", Path: path.Base(d), Err: err})
		}
		f, err := openNewDir(parent, path.Base(d), perm(d))
		if err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
		ds[d] = f
	}
	return nil
}

// prune removes the directories (empty: nothing was written yet) that are
// not in needed (sorted), children first.
func (ds genDirs) prune(needed []string) error {
	var extra []string
	for d := range ds {
		if _, ok := slices.BinarySearch(needed, d); d != "." && !ok {
			extra = append(extra, d)
		}
	}
	// A child's path sorts after its parent's.
	slices.Sort(extra)
	for _, d := range slices.Backward(extra) {
		ds[d].Close()
		delete(ds, d)
		if err := unix.Unlinkat(int(ds[path.Dir(d)].Fd()), path.Base(d), unix.AT_REMOVEDIR); err != nil {
			return fmt.Errorf("%s: %w", d, &fs.PathError{Op: "rmdir", Path: path.Base(d), Err: err})
		}
	}
	return nil
}

func (ds genDirs) close() {
	for _, f := range ds {
		f.Close()
	}
}

// dirsOf returns the directories the files need below the generation,
// parents first.
func dirsOf(files []File) []string {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	return dirsOfPaths(paths)
}

// dirsOfPaths returns the directories that files at paths need, parents
// first.
func dirsOfPaths(paths []string) []string {
	seen := map[string]bool{}
	var dirs []string
	for _, p := range paths {
		for d := path.Dir(p); d != "." && !seen[d]; d = path.Dir(d) {
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
func openNewDir(dirfd int, name string, perm dirPerm) (*os.File, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	d := os.NewFile(uintptr(fd), name)
	if err := perm.setOwnerMode(d); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// writeFile creates name under dirfd with data, mode and opts' owner, and
// with sync syncs it.
func writeFile(dirfd int, name string, data []byte, mode fs.FileMode, opts Options, sync bool) error {
	fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return &fs.PathError{Op: "open", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	_, err = f.Write(data)
	if err == nil {
		err = setOwnerMode(f, mode, opts)
	}
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// setOwnerMode gives f its owner, then its exact mode (the umask filtered the
// one it was created with).
func setOwnerMode(f *os.File, mode fs.FileMode, opts Options) error {
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

package writer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Update replaces the single file name under dir with what fn makes of its
// current content (nil if there is none): it writes a temporary file in the
// same directory, syncs it, renames it over name and syncs the directory.
// It is for a file that another program owns and reads at a fixed path (the
// ECS agent's ecs.config), where the generation layout of Write does not
// apply. Missing directories are created; symbolic links on the way, or as
// the file, are refused. Runs on one directory take turns (a lock on the
// directory itself), and each removes the temporary files a killed run left
// there. The current content is read in chunks while ctx lasts, and a
// file larger than limit bytes is not read: the error wraps ErrTooLarge
// (and not ErrWrite). An error from fn is returned as it is; the others
// wrap ErrWrite. On error the file is as it was.
func Update(ctx context.Context, dir, name string, limit int64, opts Options, fn func(current []byte) ([]byte, error)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	if err := checkPath(name); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("%w: opening output root: %w", ErrWrite, err)
	}
	defer root.Close()
	u := &update{root: root, opts: opts}
	defer func() {
		if u.dir != nil {
			u.dir.Close()
		}
	}()
	err = u.run(ctx, name, limit, fn)
	if err == nil {
		return nil
	}
	if rbErr := u.undo(); rbErr != nil {
		err = errors.Join(err, fmt.Errorf("cleaning up: %w", rbErr))
	}
	if u.fnErr {
		return err
	}
	if errors.Is(err, ErrTooLarge) {
		return fmt.Errorf("%s: %w", name, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrWrite, name, err)
}

// ErrTooLarge is wrapped by Update's error when the file it merges into is
// larger than its limit.
var ErrTooLarge = errors.New("larger than the limit")

// readChunk is how much of the file to merge into is read between two
// looks at the context.
const readChunk = 256 << 10

type update struct {
	root  *os.Root
	opts  Options
	dirs  []string // created, in creation order
	dir   *os.File // the file's directory
	fnErr bool     // the error came from fn
}

func (u *update) run(ctx context.Context, name string, limit int64, fn func([]byte) ([]byte, error)) error {
	parent, base := path.Dir(name), path.Base(name)
	if err := u.mkdirs(parent); err != nil {
		return err
	}
	d, err := u.root.OpenFile(parent, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	u.dir = d
	fd := int(d.Fd())
	if err := waitLock(ctx, fd, parent); err != nil {
		return err
	}
	if err := removeInPlaceLeftovers(d); err != nil {
		return fmt.Errorf("removing what an earlier run left behind: %w", err)
	}
	current, err := readRegular(ctx, fd, base, limit)
	if err != nil {
		return err
	}
	data, err := fn(current)
	if err != nil {
		u.fnErr = true
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return replaceFile(d, base, inPlaceTempPrefix+randomHex(8), data, u.opts)
}

// readRegular returns the content of the regular file name under dirfd, or
// nil if there is none. It reads at most limit bytes, in chunks, and stops
// when ctx ends.
func readRegular(ctx context.Context, dirfd int, name string, limit int64) ([]byte, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil, nil
	case errors.Is(err, unix.ELOOP):
		return nil, errors.New("target is a symbolic link; refusing to write through it")
	case err != nil:
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("target exists and is not a regular file (%s)", fi.Mode().Type())
	}
	tooLarge := func(size int64) error {
		return fmt.Errorf("the file to merge into (%d bytes) is %w of %d bytes", size, ErrTooLarge, limit)
	}
	if fi.Size() > limit {
		return nil, tooLarge(fi.Size())
	}
	var b bytes.Buffer
	b.Grow(int(fi.Size()) + 1)
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading the file to merge into: %w", context.Cause(ctx))
		}
		_, err := io.CopyN(&b, f, readChunk)
		if int64(b.Len()) > limit {
			return nil, tooLarge(int64(b.Len()))
		}
		if errors.Is(err, io.EOF) {
			return b.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// removeInPlaceLeftovers removes, from the directory d, Update's temporary
// files (regular files named as Update names them, and nothing else: the
// directory belongs to another program).
func removeInPlaceLeftovers(d *os.File) error {
	if _, err := d.Seek(0, io.SeekStart); err != nil {
		return err
	}
	entries, err := d.ReadDir(-1)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && isInPlaceTemp(n) {
			if err := unix.Unlinkat(int(d.Fd()), n, 0); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, &fs.PathError{Op: "unlink", Path: n, Err: err})
			}
		}
	}
	return errors.Join(errs...)
}

// mkdirs creates the missing directories of dir, refusing symbolic links.
func (u *update) mkdirs(dir string) error {
	if dir == "." {
		return nil
	}
	cur := ""
	for part := range strings.SplitSeq(dir, "/") {
		cur = path.Join(cur, part)
		fi, err := u.root.Lstat(cur)
		switch {
		case err == nil && fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link; refusing to follow it", cur)
		case err == nil && !fi.IsDir():
			return fmt.Errorf("%s exists and is not a directory", cur)
		case err == nil:
			continue
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
		if err := u.root.Mkdir(cur, 0o700); err != nil {
			return err
		}
		u.dirs = append(u.dirs, cur)
		if u.opts.chowns() {
			if err := u.root.Lchown(cur, u.opts.UID, u.opts.GID); err != nil {
				return err
			}
		}
		if err := u.root.Chmod(cur, u.opts.dirMode()); err != nil {
			return err
		}
	}
	return nil
}

// undo removes the directories run created (replaceFile removes its
// temporary itself).
func (u *update) undo() error {
	var errs []error
	for i := len(u.dirs) - 1; i >= 0; i-- {
		if err := u.root.Remove(u.dirs[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

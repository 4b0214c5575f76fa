// Package writer puts files under an output root all at once or not at all.
//
// Every file is written to a temporary name beside its target, synced, given
// its mode and owner, and only then renamed into place. All access goes
// through an os.Root, so no path and no planted symbolic link can lead outside
// the root; symbolic links on the way to a target are refused outright. If
// anything fails, files already renamed are put back as they were, and
// temporary files and directories the write created are removed.
package writer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ErrWrite is wrapped by every write error.
var ErrWrite = errors.New("write failed")

// File is one file to write; Path is slash-separated, relative to the root.
type File struct {
	Path string
	Data []byte
}

// Options set the mode and owner of written files.
type Options struct {
	// Mode is the permission of each file. Directories the writer creates get
	// rwx for the owner and r-x for each class that may read the files.
	Mode fs.FileMode
	// UID and GID own the files and created directories; -1 leaves them.
	UID, GID int
}

// Write writes all files under dir, or none.
func Write(ctx context.Context, dir string, files []File, opts Options) error {
	if err := check(files); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("%w: opening output root: %w", ErrWrite, err)
	}
	defer root.Close()
	tx := &txn{root: root, opts: opts}
	if err := tx.run(ctx, files); err != nil {
		if rbErr := tx.rollback(); rbErr != nil {
			err = errors.Join(err, fmt.Errorf("rolling back: %w", rbErr))
		}
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	tx.cleanup()
	return nil
}

// check rejects paths that are not local, duplicates, and a path that is both
// a file and another file's directory.
func check(files []File) error {
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if f.Path == "" || f.Path == "." || path.Clean(f.Path) != f.Path || !filepath.IsLocal(filepath.FromSlash(f.Path)) || strings.Contains(f.Path, `\`) {
			return fmt.Errorf("path %q is not a clean path inside the output root", f.Path)
		}
		if seen[f.Path] {
			return fmt.Errorf("path %q is written twice", f.Path)
		}
		seen[f.Path] = true
	}
	for _, f := range files {
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			if seen[d] {
				return fmt.Errorf("path %q is inside %q, which is also a file", f.Path, d)
			}
		}
	}
	return nil
}

type staged struct {
	target, temp, backup string
	committed            bool
}

type txn struct {
	root    *os.Root
	opts    Options
	dirs    []string // created, in creation order
	staged  []*staged
	touched map[string]bool // directories holding renamed files
}

func (tx *txn) run(ctx context.Context, files []File) error {
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := tx.stage(f); err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
	}
	tx.touched = map[string]bool{}
	for _, s := range tx.staged {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := tx.commit(s); err != nil {
			return fmt.Errorf("%s: %w", s.target, err)
		}
		tx.touched[path.Dir(s.target)] = true
	}
	for d := range tx.touched {
		if err := tx.syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// stage makes the target's directories and writes the data to a synced
// temporary file beside it.
func (tx *txn) stage(f File) error {
	if err := tx.mkdirs(path.Dir(f.Path)); err != nil {
		return err
	}
	switch fi, err := tx.root.Lstat(f.Path); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return errors.New("target is a symbolic link; refusing to write through it")
	case !fi.Mode().IsRegular():
		return fmt.Errorf("target exists and is not a regular file (%s)", fi.Mode().Type())
	}
	temp, err := tempName(f.Path, "tmp")
	if err != nil {
		return err
	}
	out, err := tx.root.OpenFile(temp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	s := &staged{target: f.Path, temp: temp}
	tx.staged = append(tx.staged, s)
	_, err = out.Write(f.Data)
	if err == nil && (tx.opts.UID >= 0 || tx.opts.GID >= 0) {
		err = out.Chown(tx.opts.UID, tx.opts.GID)
	}
	if err == nil {
		err = out.Chmod(tx.opts.Mode.Perm())
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirs creates the missing directories of dir, refusing symbolic links.
func (tx *txn) mkdirs(dir string) error {
	if dir == "." {
		return nil
	}
	cur := ""
	for part := range strings.SplitSeq(dir, "/") {
		cur = path.Join(cur, part)
		fi, err := tx.root.Lstat(cur)
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
		if err := tx.root.Mkdir(cur, tx.dirMode()); err != nil {
			return err
		}
		tx.dirs = append(tx.dirs, cur)
		// Mkdir's mode is filtered by the umask; set it exactly.
		if err := tx.root.Chmod(cur, tx.dirMode()); err != nil {
			return err
		}
		if tx.opts.UID >= 0 || tx.opts.GID >= 0 {
			if err := tx.root.Lchown(cur, tx.opts.UID, tx.opts.GID); err != nil {
				return err
			}
		}
	}
	return nil
}

// dirMode gives the owner rwx and r-x to each class that can read the files.
func (tx *txn) dirMode() fs.FileMode {
	m := fs.FileMode(0o700)
	for _, class := range []fs.FileMode{0o040, 0o004} {
		if tx.opts.Mode&class != 0 {
			m |= class | class>>2 // r and x
		}
	}
	return m
}

// commit renames the temporary file over the target, keeping a hard link to
// any file it replaces so that a rollback can put it back.
func (tx *txn) commit(s *staged) error {
	if _, err := tx.root.Lstat(s.target); err == nil {
		backup, err := tempName(s.target, "old")
		if err != nil {
			return err
		}
		if err := tx.root.Link(s.target, backup); err != nil {
			return fmt.Errorf("keeping the previous file: %w", err)
		}
		s.backup = backup
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := tx.root.Rename(s.temp, s.target); err != nil {
		return err
	}
	s.committed = true
	return nil
}

func (tx *txn) syncDir(dir string) error {
	d, err := tx.root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// rollback puts back replaced files, removes new ones, temporaries and
// created directories.
func (tx *txn) rollback() error {
	var errs []error
	for i := len(tx.staged) - 1; i >= 0; i-- {
		s := tx.staged[i]
		switch {
		case s.committed && s.backup != "":
			errs = append(errs, tx.root.Rename(s.backup, s.target))
		case s.committed:
			errs = append(errs, tx.root.Remove(s.target))
		default:
			errs = append(errs, ignoreMissing(tx.root.Remove(s.temp)))
			if s.backup != "" {
				errs = append(errs, ignoreMissing(tx.root.Remove(s.backup)))
			}
		}
	}
	for i := len(tx.dirs) - 1; i >= 0; i-- {
		errs = append(errs, ignoreMissing(tx.root.Remove(tx.dirs[i])))
	}
	return errors.Join(errs...)
}

// cleanup removes the links kept for rollback after a successful write.
func (tx *txn) cleanup() {
	for _, s := range tx.staged {
		if s.backup != "" {
			_ = tx.root.Remove(s.backup)
		}
	}
}

func ignoreMissing(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// tempName returns a hidden, unpredictable name beside p.
func tempName(p, kind string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return path.Join(path.Dir(p), "."+path.Base(p)+"."+kind+"-"+hex.EncodeToString(b[:])), nil
}

// ReadFile returns the current content of a file under dir, or nil if it
// does not exist. It refuses a symbolic link, like Write. Its errors wrap
// ErrWrite: an output root that refuses the read would refuse the write.
func ReadFile(dir, name string) ([]byte, error) {
	b, err := readFile(dir, name)
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s to merge into: %w", ErrWrite, name, err)
	}
	return b, nil
}

func readFile(dir, name string) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening output root: %w", err)
	}
	defer root.Close()
	fi, err := root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, err
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	return root.ReadFile(name)
}

package writer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Names of the layout. Every top-level name beginning with ".." belongs to
// the injector (refresh mode keeps its status file under one too).
const (
	dataLink   = "..data"     // -> the current generation
	dataTmp    = "..data_tmp" // the next ..data, renamed over it
	lockName   = "..lock"     // held while a run changes the root
	tmpPrefix  = "..tmp."     // a link about to replace a name, then the content it replaced
	genPrefix  = ".."         // generations: ..<UTC time>.<8 hex>
	timeLayout = "2006_01_02_15_04_05"
)

// outRoot is an open output root.
type outRoot struct {
	root *os.Root
	dir  *os.File // the root directory itself
	fd   int      // dir's descriptor, for *at calls on top-level names
}

func openRoot(dir string) (*outRoot, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening output root: %w", err)
	}
	d, err := root.Open(".")
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("opening output root: %w", err)
	}
	return &outRoot{root: root, dir: d, fd: int(d.Fd())}, nil
}

func (r *outRoot) close() {
	r.dir.Close()
	r.root.Close()
}

// readlink returns the target of the top-level link name.
func (r *outRoot) readlink(name string) (string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(r.fd, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// symlink makes the top-level link name -> target, owned as opts say.
func (r *outRoot) symlink(target, name string, opts Options) error {
	if err := unix.Symlinkat(target, r.fd, name); err != nil {
		return &fs.PathError{Op: "symlink", Path: name, Err: err}
	}
	if opts.chowns() {
		if err := unix.Fchownat(r.fd, name, opts.UID, opts.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "lchown", Path: name, Err: err}
		}
	}
	return nil
}

// unlinkOurs removes the top-level link name if it still points at target.
func (r *outRoot) unlinkOurs(name, target string) error {
	if t, err := r.readlink(name); err != nil || t != target {
		return nil
	}
	if err := unix.Unlinkat(r.fd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return &fs.PathError{Op: "unlink", Path: name, Err: err}
	}
	return nil
}

// removeTree removes the top-level entry name and all below it, without
// following links. The entries of a directory are removed in parallel,
// which on ext4 is faster than one after the other (docs/performance.md).
func (r *outRoot) removeTree(name string) error {
	var entries []fs.DirEntry
	if fi, err := r.root.Lstat(name); err == nil && fi.IsDir() {
		// A directory, not a link to one: its entries are its own.
		entries, _ = fs.ReadDir(r.root.FS(), name)
	}
	err := parallel(context.Background(), len(entries), func(i int) error {
		return r.root.RemoveAll(name + "/" + entries[i].Name())
	})
	if err != nil {
		return err
	}
	return r.root.RemoveAll(name)
}

// transition is the change of the layout a Txn (or a Write) makes: a new
// generation made, switched to, and the older one removed.
type transition struct {
	r       *outRoot
	opts    Options
	names   []string // top-level names the files use
	gen     string   // the new generation
	dirs    genDirs  // its directories made so far ("." is gen), open
	cur     string   // the generation ..data pointed to when the run began
	links   []string // top-level links (not ".." names but BinDir) when the run began
	created []string // links made before the switch, where nothing stood
	tmpLink bool     // ..data_tmp was made
	// noExchange: do without RENAME_EXCHANGE (a test of the fallback).
	noExchange bool
}

// current returns the generation ..data points to, or "".
func (t *transition) current() string {
	target, err := t.r.readlink(dataLink)
	if err != nil || !isGeneration(target) {
		return ""
	}
	return target
}

// removeLeftovers removes the generations that ..data does not point to, a
// stray ..data_tmp (or a ..data that is not a link), and ..tmp.* (the
// content a replaced name held). Other ".." names of the injector (the
// lock, refresh mode's status file) stay, and so does every name not
// beginning with "..": only the ".." names are provably the injector's.
//
// It also notes the current generation and the top-level links, which the
// run, holding the lock, is then the only one to change.
func (t *transition) removeLeftovers() error {
	cur := t.current()
	entries, err := fs.ReadDir(t.r.root.FS(), ".")
	if err != nil {
		return err
	}
	t.cur, t.links = cur, nil
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if e.Type() == fs.ModeSymlink && (!strings.HasPrefix(name, "..") || name == BinDir) {
			t.links = append(t.links, name)
		}
		switch {
		case name == dataLink && e.Type() == fs.ModeSymlink:
		case name == cur && e.IsDir():
		case name == dataLink || name == dataTmp || strings.HasPrefix(name, tmpPrefix) || isGeneration(name):
			errs = append(errs, t.r.removeTree(name))
		}
	}
	return errors.Join(errs...)
}

// prepare writes the generation (which mkGeneration made, with ..data_tmp)
// and the links the switch needs for names nothing stands at yet (so that
// the switch shows them with the rest).
func (t *transition) prepare(ctx context.Context, files []File) error {
	if err := writeGeneration(ctx, t.r, t.dirs, files, t.opts); err != nil {
		return err
	}
	for _, n := range t.names {
		err := t.r.symlink(dataLink+"/"+n, n, t.opts)
		switch {
		case err == nil:
			t.created = append(t.created, n)
		case errors.Is(err, unix.EEXIST):
			// Replaced after the switch.
		default:
			return err
		}
	}
	return nil
}

// mkGeneration creates the new generation directory under a fresh name,
// with its mode and owner, and ..data_tmp pointing to it.
func (t *transition) mkGeneration() error {
	for range 3 {
		t.gen = genPrefix + time.Now().UTC().Format(timeLayout) + "." + randomHex(4)
		err := unix.Mkdirat(t.r.fd, t.gen, 0o700)
		if err == nil {
			d, err := openNewDir(t.r.fd, t.gen, t.opts.dirPerm())
			if err != nil {
				return fmt.Errorf("creating the generation directory: %w", err)
			}
			t.dirs = genDirs{".": d}
			t.tmpLink = true
			return t.r.symlink(t.gen, dataTmp, t.opts)
		}
		if !errors.Is(err, unix.EEXIST) {
			t.gen = ""
			return fmt.Errorf("creating the generation directory: %w", err)
		}
	}
	t.gen = ""
	return errors.New("creating the generation directory: no free name")
}

// switchData makes the generation current: the one moment readers' view
// changes.
func (t *transition) switchData() error {
	if err := unix.Renameat(t.r.fd, dataTmp, t.r.fd, dataLink); err != nil {
		return fmt.Errorf("switching %s to the new generation: %w", dataLink, err)
	}
	t.tmpLink = false
	return nil
}

// abandon undoes prepare: the generation, ..data_tmp and the links made.
func (t *transition) abandon() error {
	var errs []error
	if t.tmpLink {
		errs = append(errs, t.r.unlinkOurs(dataTmp, t.gen))
	}
	for _, n := range t.created {
		errs = append(errs, t.r.unlinkOurs(n, dataLink+"/"+n))
	}
	if t.gen != "" {
		errs = append(errs, t.r.removeTree(t.gen))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing the unfinished generation: %w", err)
	}
	return nil
}

// finish tidies up after the switch: names that held something else become
// links, links no file uses are removed, the root is synced, and the older
// generations go.
func (t *transition) finish() error {
	var errs []error
	for _, n := range t.names {
		if slices.Contains(t.created, n) {
			continue
		}
		if target, err := t.r.readlink(n); err == nil && target == dataLink+"/"+n {
			continue
		}
		errs = append(errs, t.replace(n))
	}
	errs = append(errs, t.removeStaleLinks())
	if err := t.r.dir.Sync(); err != nil {
		errs = append(errs, fmt.Errorf("syncing the output root: %w", err))
	}
	if t.cur != "" && t.cur != t.gen {
		if err := t.r.removeTree(t.cur); err != nil {
			errs = append(errs, fmt.Errorf("removing the older generation: %w", err))
		}
	}
	return errors.Join(errs...)
}

// replace makes the top-level name, which holds something else (a file, a
// directory, a link elsewhere), a link through ..data, and removes what it
// held.
func (t *transition) replace(name string) error {
	link := tmpPrefix + randomHex(8)
	if err := t.r.symlink(dataLink+"/"+name, link, t.opts); err != nil {
		return fmt.Errorf("replacing %s: %w", name, err)
	}
	old, err := t.swap(link, name)
	if err != nil {
		_ = unix.Unlinkat(t.r.fd, link, 0)
		return fmt.Errorf("replacing %s: %w", name, err)
	}
	if old != "" {
		if err := t.r.removeTree(old); err != nil {
			return fmt.Errorf("removing what %s held before: %w", name, err)
		}
	}
	return nil
}

// swap puts link in place of name and returns the name that now holds what
// name held ("" if nothing is left to remove).
func (t *transition) swap(link, name string) (string, error) {
	var err error = unix.EINVAL
	if !t.noExchange {
		err = unix.Renameat2(t.r.fd, link, t.r.fd, name, unix.RENAME_EXCHANGE)
	}
	switch {
	case err == nil:
		return link, nil
	case errors.Is(err, unix.ENOENT):
		// name went away meanwhile.
		return "", unix.Renameat(t.r.fd, link, t.r.fd, name)
	case !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EXDEV):
		return "", err
	}
	// No exchange on this file system (or, on overlayfs, for a directory of
	// a lower layer: EXDEV). A rename replaces anything but a directory; a
	// directory is moved aside first, or where it cannot be moved removed
	// where it is, so that name is missing for a moment.
	var st unix.Stat_t
	if err := unix.Fstatat(t.r.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return "", err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return "", unix.Renameat(t.r.fd, link, t.r.fd, name)
	}
	aside := tmpPrefix + randomHex(8)
	err = unix.Renameat(t.r.fd, name, t.r.fd, aside)
	if errors.Is(err, unix.EXDEV) {
		if err := t.r.removeTree(name); err != nil {
			return "", err
		}
		return "", unix.Renameat(t.r.fd, link, t.r.fd, name)
	}
	if err != nil {
		return "", err
	}
	if err := unix.Renameat(t.r.fd, link, t.r.fd, name); err != nil {
		return "", errors.Join(err, unix.Renameat(t.r.fd, aside, t.r.fd, name))
	}
	return aside, nil
}

// removeStaleLinks removes top-level links into ..data that no file uses,
// among the links there were when the run began (BinDir's too, once no
// file is a program of the injector's).
func (t *transition) removeStaleLinks() error {
	var errs []error
	for _, n := range t.links {
		if _, used := slices.BinarySearch(t.names, n); !used {
			errs = append(errs, t.r.unlinkOurs(n, dataLink+"/"+n))
		}
	}
	return errors.Join(errs...)
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on Linux
	return hex.EncodeToString(b)
}

// Package writer puts files under an output root as one complete set.
//
// Write uses the layout Kubernetes gives secret and configMap volumes: each
// run writes every file into a new generation directory under the root (a
// name beginning with ".."), with final modes and owners, makes it durable,
// and then makes it current with one atomic step, the rename of a symbolic
// link "..data" that points to it. Each top-level name the files use is a
// relative symbolic link NAME -> ..data/NAME. Readers see the old set or the
// new one, whole, at every instant, even if the writer is killed; the next
// run removes what a killed one left behind. Runs on one root take turns,
// holding a lock on the file "..lock", which only the injector's user may
// open (lockRoot).
//
// Update replaces a single file in place instead (ecs-config, merged into a
// file another program owns, such as /etc/ecs/ecs.config).
//
// All access is relative to directory descriptors (*at system calls or an
// os.Root), so no path and no planted symbolic link leads outside the root.
package writer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ecs-secret-injector/injector/internal/fileperm"
)

// ErrWrite is wrapped by every write error.
var ErrWrite = errors.New("write failed")

// File is one file to write; Path is slash-separated, relative to the root.
type File struct {
	Path string
	Data []byte
	// Perm overrides the write's Options for this file (an item's own
	// mode, uid and gid), and for the directories of the generation that
	// hold only files with the same mode and owner (dirPerms).
	Perm fileperm.Override
	// Exec makes the file a program: each class that may read it (by
	// Options.Mode) may also execute it.
	Exec bool
}

// BinDir is the one top-level name beginning with ".." that files may use:
// the injector's own programs (the exec helper), in every generation like
// the other files, seen through the link BinDir -> ..data/BinDir.
const BinDir = "..bin"

// fileMode is the permission f gets under opts.
func (o Options) fileMode(f File) fs.FileMode {
	m := o.Mode.Perm()
	if f.Exec {
		m |= m & 0o444 >> 2
	}
	return m
}

// Options set the mode and owner of written files.
type Options struct {
	// Mode is the permission of each file. Directories the writer creates get
	// rwx for the owner and r-x for each class that may read the files.
	Mode fs.FileMode
	// UID and GID own the files, directories and links written; -1 leaves
	// them.
	UID, GID int
	// Extra files go into every generation besides those a Write or Commit
	// is given: the injector's own programs under BinDir (the exec helper).
	// Update does not write them.
	Extra []File
}

// withExtra returns files and opts.Extra.
func (o Options) withExtra(files []File) []File {
	if len(o.Extra) == 0 {
		return files
	}
	return append(slices.Clip(files), o.Extra...)
}

// dirMode gives the owner rwx and r-x to each class that can read the files.
func (o Options) dirMode() fs.FileMode {
	m := fs.FileMode(0o700)
	for _, class := range []fs.FileMode{0o040, 0o004} {
		if o.Mode&class != 0 {
			m |= class | class>>2 // r and x
		}
	}
	return m
}

func (o Options) chowns() bool { return o.UID >= 0 || o.GID >= 0 }

// With is o with p's fields in place of its own.
func (o Options) With(p fileperm.Override) Options {
	o.Mode, o.UID, o.GID = p.Apply(o.Mode, o.UID, o.GID)
	return o
}

// Write makes files the complete set visible under dir, replacing the set an
// earlier run made. Each top-level name the files use replaces whatever
// stands there; links into ..data that no file uses any more are removed;
// other entries are left alone. If Write fails before the switch, what
// readers see is unchanged and nothing new is left; an error after it says
// that the new files are visible.
func Write(ctx context.Context, dir string, files []File, opts Options) error {
	return write(ctx, dir, files, opts, testHooks{})
}

// testHooks let tests and benchmarks look into a write.
type testHooks struct {
	switched   func() // called right after the switch
	noExchange bool   // act as on a file system without RENAME_EXCHANGE
}

// write is Write, with hooks.
func write(ctx context.Context, dir string, files []File, opts Options, hooks testHooks) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	// Paths are checked before the root is touched.
	files = opts.withExtra(files)
	names, err := check(files)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	x, err := begin(ctx, dir, opts)
	if err != nil {
		return err
	}
	x.hooks = hooks
	return x.commit(ctx, files, names)
}

// Txn is a Write in two steps, for a caller that has work to do before it
// has the files (fetching them): Begin does what needs no file, Commit the
// rest. A Txn that is not committed must be aborted; until then it holds
// the root's lock, which other runs wait for.
type Txn struct {
	t      *transition
	unlock func()
	hooks  testHooks
	done   bool
}

// Begin opens dir, takes its lock, removes what killed runs left behind
// and creates the new generation's directory, with the directories that
// files at paths (the files the caller knows it will write, if any) and
// opts.Extra need. Readers see no change. Commit removes those directories again if no file
// uses them.
func Begin(ctx context.Context, dir string, opts Options, paths ...string) (*Txn, error) {
	for _, f := range opts.Extra {
		paths = append(slices.Clip(paths), f.Path)
	}
	return begin(ctx, dir, opts, paths...)
}

// begin is Begin of paths that include opts.Extra's.
func begin(ctx context.Context, dir string, opts Options, paths ...string) (*Txn, error) {
	for _, p := range paths {
		if err := checkPath(p); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrWrite, err)
		}
	}
	r, err := openRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrite, err)
	}
	unlock, err := lockRoot(ctx, r.fd)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("%w: %w", ErrWrite, err)
	}
	x := &Txn{t: &transition{r: r, opts: opts}, unlock: unlock}
	if err := x.t.removeLeftovers(); err != nil {
		x.release()
		return nil, fmt.Errorf("%w: removing what an earlier run left behind: %w", ErrWrite, err)
	}
	err = x.t.mkGeneration()
	if err == nil {
		err = x.t.dirs.make(dirsOfPaths(paths), func(string) dirPerm { return opts.dirPerm() })
	}
	if err != nil {
		err = errors.Join(err, x.t.abandon())
		x.release()
		return nil, fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return x, nil
}

// Commit writes files into the generation and makes it the visible set, as
// Write does, and releases the root. If it fails before the switch, what
// readers see is unchanged and the generation is removed; an error after
// it says that the new files are visible.
func (x *Txn) Commit(ctx context.Context, files []File) error {
	if x.done {
		return fmt.Errorf("%w: the write was already committed or aborted", ErrWrite)
	}
	files = x.t.opts.withExtra(files)
	names, err := check(files)
	if err != nil {
		defer x.release()
		return fmt.Errorf("%w: %w", ErrWrite, errors.Join(err, x.t.abandon()))
	}
	return x.commit(ctx, files, names)
}

// commit is Commit of files that check accepted; names are their sorted
// top-level names.
func (x *Txn) commit(ctx context.Context, files []File, names []string) error {
	defer x.release()
	t := x.t
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, errors.Join(err, t.abandon()))
	}
	t.names, t.noExchange = names, x.hooks.noExchange
	if err := t.prepare(ctx, files); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, errors.Join(err, t.abandon()))
	}
	if err := t.switchData(); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, errors.Join(err, t.abandon()))
	}
	if x.hooks.switched != nil {
		x.hooks.switched()
	}
	if err := t.finish(); err != nil {
		return fmt.Errorf("%w: the new files are visible, but %w", ErrWrite, err)
	}
	return nil
}

// Abort removes the generation Begin made and releases the root; after
// Commit it does nothing.
func (x *Txn) Abort() error {
	if x.done {
		return nil
	}
	defer x.release()
	if err := x.t.abandon(); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return nil
}

func (x *Txn) release() {
	x.done = true
	x.t.dirs.close()
	x.unlock()
	x.t.r.close()
}

// check rejects paths that are not local, duplicates, a path that is both a
// file and another file's directory, and names the layout reserves. It
// returns the sorted top-level names the files use.
func check(files []File) ([]string, error) {
	seen := make(map[string]bool, len(files))
	var names []string
	for _, f := range files {
		if err := checkPath(f.Path); err != nil {
			return nil, err
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("path %q is written twice", f.Path)
		}
		seen[f.Path] = true
		top, _, below := strings.Cut(f.Path, "/")
		if strings.HasPrefix(top, "..") && (top != BinDir || !below) {
			return nil, fmt.Errorf("path %q: names beginning with .. belong to the injector's output layout", f.Path)
		}
		names = append(names, top)
	}
	for _, f := range files {
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			if seen[d] {
				return nil, fmt.Errorf("path %q is inside %q, which is also a file", f.Path, d)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

func checkPath(p string) error {
	if p == "" || p == "." || path.Clean(p) != p || !filepath.IsLocal(filepath.FromSlash(p)) || strings.Contains(p, `\`) {
		return fmt.Errorf("path %q is not a clean path inside the output root", p)
	}
	return nil
}

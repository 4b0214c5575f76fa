package writer

import (
	"io/fs"
	"os"
	"path"
	"slices"
)

// dirPerm is the mode and owner a directory of a generation gets.
type dirPerm struct {
	mode     fs.FileMode
	uid, gid int
}

// dirPerm is the mode and owner of a directory holding only files written
// with o.
func (o Options) dirPerm() dirPerm { return dirPerm{mode: o.dirMode(), uid: o.UID, gid: o.GID} }

// setOwnerMode gives directory d the mode and owner p.
func (p dirPerm) setOwnerMode(d *os.File) error {
	return setOwnerMode(d, p.mode, Options{UID: p.uid, GID: p.gid})
}

// dirPerms gives each directory of a generation ("." and every one files
// need) its mode and owner. A directory whose files, at any depth, all
// have one mode and owner gets that owner and the mode it gives (rwx for
// the owner, r-x for each class that can read the files): with no file's
// Perm set, every directory is as opts say. A directory holding files of
// different modes or owners (the generation itself, when two items give
// different ones) gets opts' owner, rwx for it, and r-x for each class
// that a file's readers need to pass through it: its group for a file
// whose group can read it and is the directory's group, everyone for a
// file of another owner, or whose group is another one, or that everyone
// can read. Passing through lists names only: each file's own mode still
// decides who can read it.
func dirPerms(files []File, opts Options) map[string]dirPerm {
	// What each file is written with: its mode and owner.
	type written struct {
		mode     fs.FileMode
		uid, gid int
	}
	below := map[string][]written{}
	for _, f := range files {
		o := opts.With(f.Perm)
		w := written{o.Mode, o.UID, o.GID}
		for d := path.Dir(f.Path); ; d = path.Dir(d) {
			if !slices.Contains(below[d], w) {
				below[d] = append(below[d], w)
			}
			if d == "." {
				break
			}
		}
	}
	perms := make(map[string]dirPerm, len(below))
	for d, set := range below {
		if len(set) == 1 {
			perms[d] = Options{Mode: set[0].mode, UID: set[0].uid, GID: set[0].gid}.dirPerm()
			continue
		}
		p := dirPerm{mode: 0o700, uid: opts.UID, gid: opts.GID}
		for _, o := range set {
			groupRead, otherRead := o.mode&0o040 != 0, o.mode&0o004 != 0
			if o.uid != opts.UID || otherRead || groupRead && o.gid != opts.GID {
				p.mode |= 0o005
			}
			if groupRead && o.gid == opts.GID {
				p.mode |= 0o050
			}
		}
		perms[d] = p
	}
	return perms
}

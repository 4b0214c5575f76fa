package testsupport

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Entry is one entry of a Tree.
type Entry struct {
	Mode fs.FileMode // type and permission bits
	Size int64
	Data []byte // a regular file's content
	Link string // a symbolic link's target
	// Err says why the entry could not be read: a top-level link that does
	// not resolve, or (at ".") a root that is not a directory.
	Err error
}

// Tree maps slash-separated paths relative to a root to their entries.
// Directories have no trailing slash. A root that is not a directory is a
// Tree of one entry, ".".
type Tree map[string]Entry

// ReadTree lists every entry below dir, not following symbolic links.
func ReadTree(dir string) (Tree, error) {
	t := Tree{}
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		e := Entry{Err: err}
		if err == nil {
			e.Mode, e.Size = fi.Mode(), fi.Size()
		}
		t["."] = e
		return t, nil
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e, err := readEntry(p, fi)
		if err != nil {
			return err
		}
		t[filepath.ToSlash(rel)] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	return t, nil
}

func readEntry(p string, fi fs.FileInfo) (Entry, error) {
	e := Entry{Mode: fi.Mode(), Size: fi.Size()}
	var err error
	switch {
	case fi.Mode().IsRegular():
		e.Data, err = os.ReadFile(p)
	case fi.Mode()&fs.ModeSymlink != 0:
		e.Link, err = os.Readlink(p)
	}
	return e, err
}

// Follow says whether a top-level symbolic link to target is followed.
type Follow func(target string) bool

// AllLinks follows every top-level link, as an application does.
func AllLinks(string) bool { return true }

// InjectorLinks follows only the injector's own top-level links, into
// ..data; any other link is listed as a link.
func InjectorLinks(target string) bool { return strings.HasPrefix(target, "..data/") }

// ReadVisible lists what an application sees in the output root dir: the
// top-level names beginning with ".." (the injector's own) are left out, a
// top-level link that follow accepts is listed as what it resolves to (a
// directory with every entry below it, as ReadTree lists them), and
// anything else as ReadTree lists it.
func ReadVisible(dir string, follow Follow) (Tree, error) {
	all, err := ReadTree(dir)
	if err != nil {
		return nil, err
	}
	if _, ok := all["."]; ok {
		return all, nil
	}
	t := Tree{}
	for p, e := range all {
		top, _, _ := strings.Cut(p, "/")
		if strings.HasPrefix(top, "..") {
			continue
		}
		t[p] = e
		if p != top || e.Mode&fs.ModeSymlink == 0 || !follow(e.Link) {
			continue
		}
		full := filepath.Join(dir, p)
		fi, err := os.Stat(full)
		if err != nil {
			e.Err = err
			t[p] = e
			continue
		}
		if t[p], err = readEntry(full, fi); err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			continue
		}
		below, err := ReadTree(full + "/")
		if err != nil {
			return nil, err
		}
		for q, e := range below {
			t[p+"/"+q] = e
		}
	}
	return t, nil
}

// Visible is ReadVisible following every top-level link, failing tb on an
// error.
func Visible(tb testing.TB, dir string) Tree {
	tb.Helper()
	t, err := ReadVisible(dir, AllLinks)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// VisibleFiles maps each regular file an application reads under the
// output root dir to its content: Visible's files, with a link below the
// top level read through to its target. A name that does not resolve, or
// resolves to neither a directory nor a regular file, fails tb: an
// application could not read it.
func VisibleFiles(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	m := map[string]string{}
	for p, e := range Visible(tb, dir) {
		switch {
		case e.Err != nil:
			tb.Fatalf("%s: %v", p, e.Err)
		case e.Mode.IsDir():
		case e.Mode.IsRegular():
			m[p] = string(e.Data)
		case e.Mode&fs.ModeSymlink != 0:
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
			if err != nil {
				tb.Fatal(err)
			}
			m[p] = string(b)
		default:
			tb.Fatalf("%s: a %s, not a file an application reads", p, e.Mode.Type())
		}
	}
	return m
}

// Contents describes each entry by its content: a directory as "" (its
// path followed by "/"), a regular file as its content, a link as "->
// target", an entry that did not resolve as "unresolved: " and why, and
// anything else by its type.
func (t Tree) Contents() map[string]string {
	m := make(map[string]string, len(t))
	for p, e := range t {
		switch {
		case e.Err != nil:
			m[p] = "unresolved: " + e.Err.Error()
		case e.Mode.IsDir():
			m[p+"/"] = ""
		case e.Mode.IsRegular():
			m[p] = string(e.Data)
		case e.Mode&fs.ModeSymlink != 0:
			m[p] = "-> " + e.Link
		default:
			m[p] = e.Mode.Type().String()
		}
	}
	return m
}

// Files maps each regular file to its content, leaving everything else
// out.
func (t Tree) Files() map[string]string {
	m := map[string]string{}
	for p, e := range t {
		if e.Err == nil && e.Mode.IsRegular() {
			m[p] = string(e.Data)
		}
	}
	return m
}

// Digests describes each entry without its content: type, permission
// bits, and a file's size and a digest of its content or a link's target.
// They can be printed in a failure message of a test on secrets.
func (t Tree) Digests() map[string]string {
	m := make(map[string]string, len(t))
	for p, e := range t {
		if p == "." {
			m[p] = fmt.Sprintf("not a directory: %v", e.Err)
			if e.Err == nil {
				m[p] = fmt.Sprintf("%s %v %d bytes", e.Mode.Type(), e.Mode.Perm(), e.Size)
			}
			continue
		}
		desc := fmt.Sprintf("%s %v", e.Mode.Type(), e.Mode.Perm())
		switch {
		case e.Mode.IsRegular():
			sum := sha256.Sum256(e.Data)
			desc += fmt.Sprintf(" %d bytes sha256:%x", len(e.Data), sum[:8])
		case e.Mode&fs.ModeSymlink != 0:
			desc += " -> " + e.Link
		}
		if e.Err != nil {
			desc += ", unresolved: " + e.Err.Error()
		}
		m[p] = desc
	}
	return m
}

// InjectorNames returns the top-level names beginning with ".." under dir
// (the injector's own), sorted, and the target of ..data ("" if there is
// none).
func InjectorNames(dir string) (names []string, data string, err error) {
	entries, err := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") {
			names = append(names, e.Name())
		}
	}
	data, _ = os.Readlink(filepath.Join(dir, "..data"))
	return names, data, err
}

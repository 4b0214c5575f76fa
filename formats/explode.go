package formats

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/ecs-secret-injector/injector/internal/strictjson"
)

// Explode writes a directory with one file per top-level key of a JSON
// object, or per parameter under an SSM path.
const Explode Name = "explode"

func init() { add(Explode, explode{}) }

type explode struct{ base }

func (explode) Doc() string {
	return "a directory with one file per top-level key of a JSON object"
}

func (explode) Layout() Layout { return Dir }

func (explode) Note(readsPath bool) string {
	if readsPath {
		return "a file per parameter under the path, at its name below it"
	}
	return "a file per top-level key of the JSON value, named by the key"
}

func (explode) Render(s Source) ([]File, error) {
	split := RenderExplode
	if s.ReadsPath {
		split = ExplodePath
	}
	parts, err := split(s.Inputs["value"])
	if err != nil {
		return nil, err
	}
	for i := range parts {
		parts[i].Path = path.Join(s.Path, parts[i].Path)
	}
	return parts, nil
}

// maxNameLen is NAME_MAX on Linux file systems: longer names cannot be
// created, so they are rejected here rather than failing at write time.
const maxNameLen = 255

// RenderExplode renders a JSON object as one file per top-level key.
//
// Each key is sanitised to a single safe path element: every rune outside
// [A-Za-z0-9._-] becomes '_' (so "a/b" -> "a_b" and "../x" -> ".._x").
// Keys that sanitise to "", "." or ".." or to a name longer than 255 bytes are
// rejected, as are two keys that sanitise to the same name; the error names
// the keys. String values are written raw (decoded, unquoted); other values as
// their compact JSON text. Files are sorted by Path.
func RenderExplode(value []byte) ([]File, error) {
	members, err := strictjson.Object(value)
	if err != nil {
		return nil, fmt.Errorf("explode: %w", err)
	}
	owner := make(map[string]string, len(members)) // file name -> key
	files := make([]File, 0, len(members))
	for _, m := range members {
		name, err := fileName(m.Key)
		if err != nil {
			return nil, fmt.Errorf("explode: %w", err)
		}
		if prev, taken := owner[name]; taken {
			return nil, fmt.Errorf("explode: keys %q and %q both become file name %q: %w", prev, m.Key, name, ErrNameCollision)
		}
		owner[name] = m.Key
		files = append(files, File{Path: name, Data: m.Text()})
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// fileName sanitises a JSON key into a single path element.
func fileName(key string) (string, error) {
	var b strings.Builder
	b.Grow(len(key))
	for _, r := range key {
		if isNameRune(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	name := b.String()
	switch {
	case name == "":
		return "", fmt.Errorf("key %q: empty name: %w", key, ErrInvalidName)
	case name == "." || name == "..":
		return "", fmt.Errorf("key %q: name %q is not allowed: %w", key, name, ErrInvalidName)
	case len(name) > maxNameLen:
		return "", fmt.Errorf("key %q: name is %d bytes, longer than %d: %w", key, len(name), maxNameLen, ErrInvalidName)
	}
	return name, nil
}

// isNameRune reports whether r is kept in a file name: [A-Za-z0-9._-]
// (also every character of SSM parameter names but '/').
func isNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '.' || r == '_' || r == '-'
}

// ExplodePath renders the value of an SSM path as one file per parameter at
// its name relative to the path: /app/prod/db/url under ssm:/app/prod/
// becomes db/url. Names are SSM's, whose characters ([A-Za-z0-9_.-] and /)
// are all safe in file names; an element that is empty, "." or "..", longer
// than 255 bytes or holds any other character is an error, and so is a name
// that is both a parameter and a level above another (db and db/url).
// Files are sorted by Path.
func ExplodePath(value []byte) ([]File, error) {
	params, err := decodePath(value)
	if err != nil {
		return nil, fmt.Errorf("explode: %w", err)
	}
	names := slices.Sorted(maps.Keys(params))
	files := make([]File, 0, len(names))
	for _, name := range names {
		for elem := range strings.SplitSeq(name, "/") {
			if elem == "" || elem == "." || elem == ".." || len(elem) > maxNameLen || strings.ContainsFunc(elem, func(r rune) bool { return !isNameRune(r) }) {
				return nil, fmt.Errorf("explode: parameter %q: %q cannot be a file name: %w", name, elem, ErrInvalidName)
			}
		}
		for j := range len(name) {
			if name[j] == '/' && params[name[:j]] != nil {
				return nil, fmt.Errorf("explode: parameter %q is also a level of %q; it cannot be both a file and a directory: %w",
					name[:j], name, ErrNameCollision)
			}
		}
		files = append(files, File{Path: name, Data: []byte(*params[name])})
	}
	return files, nil
}

package render

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ecs-secret-injector/injector/internal/strictjson"
)

// maxNameLen is NAME_MAX on Linux file systems: longer names cannot be
// created, so they are rejected here rather than failing at write time.
const maxNameLen = 255

// File is one rendered output, Path relative (slash-separated) to the item's path.
type File struct {
	Path string
	Data []byte
}

// Explode renders a JSON object as one file per top-level key.
//
// Each key is sanitised to a single safe path element: every rune outside
// [A-Za-z0-9._-] becomes '_' (so "a/b" -> "a_b" and "../x" -> ".._x").
// Keys that sanitise to "", "." or ".." or to a name longer than 255 bytes are
// rejected, as are two keys that sanitise to the same name; the error names
// the keys. String values are written raw (decoded, unquoted); other values as
// their compact JSON text. Files are sorted by Path.
func Explode(value []byte) ([]File, error) {
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

func isNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '.' || r == '_' || r == '-'
}

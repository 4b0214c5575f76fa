package render

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ecs-secret-injector/injector/internal/strictjson"
)

// The value of an SSM path (ssm:/app/prod/) is a JSON object that maps each
// parameter's name relative to the path to its value:
//
//	{"db/password": "...", "db/url": "...", "region": "..."}
//
// raw and template take it as it is; ExplodePath and DotenvPath turn it
// into files and variables.

// decodePath decodes the value of an SSM path with the one strict decoder
// for values: an object whose every member is a string, each name once.
func decodePath(value []byte) (map[string]*string, error) {
	members, err := strictjson.Object(value)
	if err != nil {
		if errors.Is(err, ErrInvalidJSON) {
			return nil, fmt.Errorf("not the value of an SSM path: %w", err)
		}
		return nil, fmt.Errorf("not the value of an SSM path: %w: %w", ErrInvalidJSON, err)
	}
	m := make(map[string]*string, len(members))
	for _, mb := range members {
		s, ok := mb.Value.(string)
		if !ok {
			return nil, fmt.Errorf("not the value of an SSM path: parameter %q is not a string: %w", mb.Key, ErrInvalidJSON)
		}
		m[mb.Key] = &s
	}
	return m, nil
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
			if elem == "" || elem == "." || elem == ".." || len(elem) > maxNameLen || strings.ContainsFunc(elem, func(r rune) bool { return !isPathRune(r) }) {
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

func isPathRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}

// PathKey maps a parameter name relative to an SSM path to a dotenv
// variable name: upper-cased, every character other than A-Z, 0-9 and _
// replaced by _, and _ put in front of a leading digit.
//
//	db/url -> DB_URL    api-key -> API_KEY    2fa/seed -> _2FA_SEED
func PathKey(name string) string {
	var b strings.Builder
	for i, r := range strings.ToUpper(name) {
		switch {
		case r >= '0' && r <= '9' && i == 0:
			b.WriteByte('_')
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// DotenvPath renders the value of an SSM path as dotenv lines (see Dotenv),
// one variable per parameter named by PathKey. Two parameters whose names
// map to one variable (db/url and db-url) are an error naming both.
func DotenvPath(value []byte) ([]byte, error) {
	params, err := decodePath(value)
	if err != nil {
		return nil, fmt.Errorf("dotenv: %w", err)
	}
	vars := make(map[string]string, len(params))
	owner := make(map[string]string, len(params))
	for _, name := range slices.Sorted(maps.Keys(params)) {
		key := PathKey(name)
		if prev, taken := owner[key]; taken {
			return nil, fmt.Errorf("dotenv: parameters %q and %q both become variable %s: %w", prev, name, key, ErrNameCollision)
		}
		owner[key] = name
		vars[key] = *params[name]
	}
	obj, err := strictjson.Marshal(vars, "")
	if err != nil {
		return nil, fmt.Errorf("dotenv: %w", ErrInvalidValue)
	}
	return Dotenv(obj)
}

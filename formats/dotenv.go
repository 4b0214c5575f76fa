package formats

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	dotenvsyntax "github.com/ecs-secret-injector/injector/internal/dotenv"
	"github.com/ecs-secret-injector/injector/internal/strictjson"
)

// Dotenv writes KEY='value' lines from a JSON object, or one variable per
// parameter under an SSM path.
const Dotenv Name = "dotenv"

func init() { add(Dotenv, dotenv{}) }

type dotenv struct{ base }

func (dotenv) Doc() string { return "KEY='value' lines from a JSON object, for `set -a; . FILE`" }

func (dotenv) Note(readsPath bool) string {
	if readsPath {
		return "a variable per parameter under the path, named by its name below it"
	}
	return ""
}

func (dotenv) Render(s Source) ([]File, error) {
	if s.ReadsPath {
		return oneFile(s)(DotenvPath(s.Inputs["value"]))
	}
	return oneFile(s)(RenderDotenv(s.Inputs["value"]))
}

// RenderDotenv renders a JSON object as shell assignments, one KEY='value' line per
// member, sorted by key.
//
// Every value is single-quoted, and each single quote inside it is written as
// close-quote, backslash-quote, reopen-quote:
//
//	KEY='it'\''s'
//
// so that `set -a; . ./file; set +a` in bash (or any POSIX sh) gives back the
// value byte for byte: newlines, $, `, \, spaces and non-ASCII text included.
// String values are used raw (decoded, unquoted); other JSON values as their
// compact JSON text.
//
// Keys must be shell identifiers ([A-Za-z_][A-Za-z0-9_]*) and must not be one
// of the bash variables that are read-only or dynamic (UID, RANDOM, LINENO,
// _ ...), since assigning those cannot give the value back. Nothing is renamed:
// such keys are errors. A value containing a NUL byte is an error, as shell
// variables cannot hold NUL. Errors name keys, never values.
func RenderDotenv(value []byte) ([]byte, error) {
	members, err := strictjson.Object(value)
	if err != nil {
		return nil, fmt.Errorf("dotenv: %w", err)
	}
	slices.SortFunc(members, func(a, b strictjson.Member) int { return strings.Compare(a.Key, b.Key) })
	var out []byte
	for _, m := range members {
		if err := checkShellName(m.Key); err != nil {
			return nil, fmt.Errorf("dotenv: %w", err)
		}
		text := m.Text()
		if bytes.IndexByte(text, 0) >= 0 {
			return nil, fmt.Errorf("dotenv: key %q: value contains a NUL byte, which a shell variable cannot hold: %w", m.Key, ErrInvalidValue)
		}
		out = dotenvsyntax.AppendAssignment(out, m.Key, text)
	}
	return out, nil
}

// checkShellName reports whether key can be assigned and read back as a
// shell variable.
func checkShellName(key string) error {
	if !isShellIdentifier(key) {
		return fmt.Errorf("key %q is not a valid shell variable name (must match [A-Za-z_][A-Za-z0-9_]*): %w", key, ErrInvalidKey)
	}
	if isBashSpecial(key) {
		return fmt.Errorf("key %q is a read-only or special bash variable whose value cannot be set by assignment: %w", key, ErrInvalidKey)
	}
	return nil
}

// isShellIdentifier and isBashSpecial are internal/dotenv's, which the exec
// helper shares.
func isShellIdentifier(s string) bool { return dotenvsyntax.IsName(s) }

func isBashSpecial(name string) bool { return dotenvsyntax.IsBashSpecial(name) }

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
	return RenderDotenv(obj)
}

package ref

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ecs-secret-injector/injector/internal/strictjson"
)

// ErrNoMatch is wrapped when a reference's JSON pointer selects nothing in
// the value.
var ErrNoMatch = errors.New("JSON pointer selects nothing")

// parsePointer checks a JSON pointer (RFC 6901), written after '#' in a
// reference, and returns its reference tokens, unescaped (~1 is '/', ~0 is
// '~'). The pointer is taken as written: it is not percent-decoded.
func parsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, errors.New(`empty JSON pointer after "#" (a pointer starts with /, as in #/db/password)`)
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("JSON pointer %q must start with / (as in #/db/password)", p)
	}
	tokens := strings.Split(p[1:], "/")
	for i, t := range tokens {
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || t[j+1] != '0' && t[j+1] != '1') {
				return nil, fmt.Errorf("JSON pointer %q: ~ must be written ~0 (and / in a key ~1)", p)
			}
		}
		tokens[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return tokens, nil
}

// escapeToken writes a key as a reference token of a pointer.
func escapeToken(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

// Tokens are the reference tokens of r's JSON pointer, unescaped (nil for
// a reference without one).
func (r Ref) Tokens() []string {
	if r.Pointer == "" {
		return nil
	}
	tokens, _ := parsePointer(r.Pointer) // checked by Parse
	return tokens
}

// point walks the pointer's tokens from root. Its error says how far the
// pointer got and what it found there by JSON type, never a value.
func point(root *strictjson.Node, pointer string, tokens []string) (*strictjson.Node, error) {
	n := root
	at := ""
	for _, t := range tokens {
		switch {
		case n.IsObject():
			c, ok := n.Members[t]
			if !ok {
				return nil, fmt.Errorf("%w: %s: no key %q in the object at %s", ErrNoMatch, pointer, t, where(at))
			}
			n = c
		case n.IsArray():
			i, ok := arrayIndex(t)
			if !ok {
				return nil, fmt.Errorf("%w: %s: %q is not an array index (0, 1, ...) for the array at %s", ErrNoMatch, pointer, t, where(at))
			}
			if i >= len(n.Elems) {
				return nil, fmt.Errorf("%w: %s: index %d is past the end of the array at %s (%d elements)", ErrNoMatch, pointer, i, where(at), len(n.Elems))
			}
			n = n.Elems[i]
		default:
			return nil, fmt.Errorf("%w: %s: the value at %s is %s, not an object or array", ErrNoMatch, pointer, where(at), n.Kind())
		}
		at += "/" + escapeToken(t)
	}
	return n, nil
}

// where names a place in the document by its pointer; the root is "".
func where(at string) string {
	if at == "" {
		return "the top level"
	}
	return at
}

// arrayIndex reads an array index token: digits without a leading zero
// (RFC 6901; "-", the element after the last, never exists in a value).
func arrayIndex(t string) (int, bool) {
	if t == "" || len(t) > 1 && t[0] == '0' {
		return 0, false
	}
	for i := range len(t) {
		if t[i] < '0' || t[i] > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(t)
	return i, err == nil
}

package ref

import (
	"errors"
	"fmt"

	"github.com/ecs-secret-injector/injector/internal/strictjson"
)

// ErrNoKey is wrapped when a JSON key selected by a reference is missing.
var ErrNoKey = errors.New("json key not found")

// Extract returns the part of a fetched value that r selects: the whole value,
// or for a JSON key the key's string value (raw) or its compact JSON text,
// numbers exactly as written. The value is read with the strict decoder: a
// duplicate key, invalid UTF-8 or a lone surrogate escape anywhere in it is
// an error, as the selected text would not be what the secret says.
// Errors never contain the value.
func (r Ref) Extract(value []byte) ([]byte, error) {
	if r.JSONKey == "" {
		return value, nil
	}
	return r.Select(DecodeObject(value))
}

// Object is a fetched value decoded once as a JSON object, for selecting
// several keys of it (Select) without decoding it again for each.
type Object struct {
	members map[string]strictjson.Member
	err     error
}

// DecodeObject decodes value as a JSON object with the strict decoder. A
// value that is not one is no error here: Select reports it, naming the
// reference.
func DecodeObject(value []byte) *Object {
	members, err := strictjson.Object(value)
	if err != nil {
		return &Object{err: err}
	}
	m := make(map[string]strictjson.Member, len(members))
	for _, mb := range members {
		m[mb.Key] = mb
	}
	return &Object{members: m}
}

// Select is Extract for a reference with a JSON key, over the value
// already decoded. Errors never contain the value.
func (r Ref) Select(o *Object) ([]byte, error) {
	if o.err != nil {
		what := "value is not a JSON object"
		if errors.Is(o.err, strictjson.ErrDuplicateKey) {
			what = "value is ambiguous"
		}
		return nil, fmt.Errorf("%s: %s, cannot select key %q: %w", r.Raw, what, r.JSONKey, o.err)
	}
	if m, ok := o.members[r.JSONKey]; ok {
		return m.Text(), nil
	}
	return nil, fmt.Errorf("%s: %w: %q", r.Raw, ErrNoKey, r.JSONKey)
}

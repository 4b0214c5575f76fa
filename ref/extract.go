package ref

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ecs-secret-injector/injector/internal/strictjson"
)

// ErrNoKey is wrapped when a JSON key selected by a reference is missing.
var ErrNoKey = errors.New("json key not found")

// Selects reports whether r takes part of its value (a JSON key or a JSON
// pointer) rather than all of it.
func (r Ref) Selects() bool { return r.JSONKey != "" || r.Pointer != "" }

// Extract returns the part of a fetched value that r selects: the whole
// value, or for a JSON key or a JSON pointer the selected string's value
// (raw) or the selected value's compact JSON text, numbers exactly as
// written. The value is read with the strict decoder: a duplicate key,
// invalid UTF-8 or a lone surrogate escape anywhere in it is an error, as
// the selected text would not be what the secret says. Errors never
// contain the value.
func (r Ref) Extract(value []byte) ([]byte, error) {
	if !r.Selects() {
		return value, nil
	}
	return r.Select(DecodeObject(value))
}

// Object is a fetched value decoded once as JSON, for selecting several
// parts of it (Select) without decoding it again for each.
type Object struct {
	root *strictjson.Node
	err  error
	// start is the byte offset where the value starts, after white space.
	start int
}

// DecodeObject decodes value as JSON with the strict decoder. A value that
// is not JSON, or not the object a JSON key needs, is no error here:
// Select reports it, naming the reference.
func DecodeObject(value []byte) *Object {
	root, err := strictjson.Tree(value)
	return &Object{root: root, err: err, start: len(value) - len(bytes.TrimLeft(value, " \t\n\r"))}
}

// Select is Extract for a reference with a JSON key or a JSON pointer,
// over the value already decoded. Errors never contain the value.
func (r Ref) Select(o *Object) ([]byte, error) {
	what := func() string {
		if r.Pointer != "" {
			return "cannot select " + r.Pointer
		}
		return fmt.Sprintf("cannot select key %q", r.JSONKey)
	}
	if o.err != nil {
		problem := "value is not JSON"
		if r.Pointer == "" {
			problem = "value is not a JSON object"
		}
		if errors.Is(o.err, strictjson.ErrDuplicateKey) {
			problem = "value is ambiguous"
		}
		return nil, fmt.Errorf("%s: %s, %s: %w", r.Raw, problem, what(), o.err)
	}
	if r.Pointer != "" {
		n, err := point(o.root, r.Pointer, r.Tokens())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Raw, err)
		}
		return n.Text(), nil
	}
	if !o.root.IsObject() {
		err := &strictjson.Error{Err: strictjson.ErrNotObject, Offset: o.start, Msg: "the top level is " + o.root.Kind()}
		return nil, fmt.Errorf("%s: value is not a JSON object, %s: %w", r.Raw, what(), err)
	}
	if m, ok := o.root.Members[r.JSONKey]; ok {
		return m.Text(), nil
	}
	return nil, fmt.Errorf("%s: %w: %q", r.Raw, ErrNoKey, r.JSONKey)
}

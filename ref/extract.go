package ref

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrNoKey is wrapped when a JSON key selected by a reference is missing.
var ErrNoKey = errors.New("json key not found")

// Extract returns the part of a fetched value that r selects: the whole value,
// or for a JSON key the key's string value (raw) or its compact JSON text.
// Errors never contain the value.
func (r Ref) Extract(value []byte) ([]byte, error) {
	if r.JSONKey == "" {
		return value, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(value, &obj); err != nil {
		return nil, fmt.Errorf("%s: value is not a JSON object, cannot select key %q", r.Raw, r.JSONKey)
	}
	raw, ok := obj[r.JSONKey]
	if !ok {
		return nil, fmt.Errorf("%s: %w: %q", r.Raw, ErrNoKey, r.JSONKey)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []byte(s), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fmt.Errorf("%s: key %q holds invalid JSON", r.Raw, r.JSONKey)
	}
	return buf.Bytes(), nil
}

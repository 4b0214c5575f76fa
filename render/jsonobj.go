package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// member is one top-level member of a JSON object, in document order.
type member struct {
	key string
	raw json.RawMessage
}

// decodeObject parses value as a single JSON object and returns its members
// in document order. It rejects invalid UTF-8 (encoding/json would silently
// replace it, corrupting the secret), duplicate keys (encoding/json would
// silently keep the last one) and trailing data. Errors never quote value.
func decodeObject(value []byte) ([]member, error) {
	if len(bytes.TrimSpace(value)) == 0 {
		return nil, fmt.Errorf("%w: empty value", ErrInvalidJSON)
	}
	if !utf8.Valid(value) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrInvalidJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, safeJSONError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%w: top level is %s", ErrNotObject, tokenKind(tok))
	}
	var members []member
	seen := make(map[string]struct{})
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, safeJSONError(err)
		}
		key, ok := tok.(string)
		if !ok { // the decoder already enforces this; be defensive
			return nil, fmt.Errorf("%w: object key is not a string", ErrInvalidJSON)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, safeJSONError(err)
		}
		if _, dup := seen[key]; dup {
			return nil, fmt.Errorf("%w: key %q appears more than once", ErrDuplicateKey, key)
		}
		seen[key] = struct{}{}
		members = append(members, member{key: key, raw: raw})
	}
	if _, err := dec.Token(); err != nil { // closing '}'
		return nil, safeJSONError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, safeJSONError(err)
		}
		return nil, fmt.Errorf("%w: unexpected data after the JSON object at byte offset %d", ErrInvalidJSON, dec.InputOffset())
	}
	return members, nil
}

// valueText returns the bytes a JSON member value stands for: the decoded
// text of a string, or the compact JSON text of anything else.
func valueText(raw json.RawMessage) ([]byte, error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, safeJSONError(err)
		}
		return []byte(s), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, safeJSONError(err)
	}
	return buf.Bytes(), nil
}

// safeJSONError converts an encoding/json error into one that keeps only the
// byte offset. The original text can quote input bytes ("invalid character
// 'x' ...", "cannot unmarshal number 1234 ..."), so it is dropped, not wrapped.
func safeJSONError(err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%w: syntax error at byte offset %d", ErrInvalidJSON, syn.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: unexpected end of input", ErrInvalidJSON)
	default:
		return fmt.Errorf("%w: malformed JSON", ErrInvalidJSON)
	}
}

// tokenKind names the kind of a top-level JSON token without its value.
func tokenKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return "a delimiter"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	default:
		return "not an object"
	}
}

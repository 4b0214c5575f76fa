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
	members, err := strictjson.Object(value)
	if err != nil {
		what := "value is not a JSON object"
		if errors.Is(err, strictjson.ErrDuplicateKey) {
			what = "value is ambiguous"
		}
		return nil, fmt.Errorf("%s: %s, cannot select key %q: %w", r.Raw, what, r.JSONKey, err)
	}
	for _, m := range members {
		if m.Key == r.JSONKey {
			return m.Text(), nil
		}
	}
	return nil, fmt.Errorf("%s: %w: %q", r.Raw, ErrNoKey, r.JSONKey)
}

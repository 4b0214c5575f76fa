package ref

import (
	"errors"
	"strings"
)

// parsePrefix parses PREFIX/*, every secret whose name starts with PREFIX/
// (secret names cannot hold a '*', so no name is taken for a prefix). The
// prefix ends in '/', so that app/prod/* never reads app/production.
// Target.ID is the prefix with idPrefix (the ARN's, or "") before it.
func parsePrefix(rest, idPrefix string, opts ...option) (Ref, error) {
	prefix, ok := strings.CutSuffix(rest, "*")
	switch {
	case !ok || strings.Contains(prefix, "*"):
		return Ref{}, errors.New("a secret prefix is written PREFIX/* ('*' only at the end, after a '/')")
	case strings.Contains(prefix, ":"):
		return Ref{}, errors.New("a secret prefix takes no json-key, version-stage or version-id")
	case !strings.HasSuffix(prefix, "/") || prefix == "/":
		return Ref{}, errors.New("a secret prefix must end in '/' before its '*' (app/prod/*), so that it never reads a neighbour (app/production)")
	case strings.Contains(prefix, "//"):
		return Ref{}, errors.New("a secret prefix must not hold an empty element (//)")
	}
	r := Ref{Target: Target{Source: SecretsPrefix, ID: idPrefix + prefix}}
	for _, o := range opts {
		o(&r)
	}
	return r, nil
}

// PrefixName is the name prefix a SecretsPrefix target reads: its ID
// without an ARN's part before the name.
func (t Target) PrefixName() string {
	if i := strings.Index(t.ID, ":secret:"); strings.HasPrefix(t.ID, "arn:") && i >= 0 {
		return t.ID[i+len(":secret:"):]
	}
	return t.ID
}

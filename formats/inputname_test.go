package formats

import (
	"regexp"
	"testing"
)

// isInputName is the pattern ^[A-Za-z_][A-Za-z0-9_]*$, checked by hand.
func TestIsInputName(t *testing.T) {
	pattern := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	for _, k := range []string{
		"", "a", "Z", "_", "db", "DB_URL", "_x9", "x9_", "9x", "9", "a-b", "a.b", "a b", "é", "aé",
		"a\n", "\na", "value", "A0", "[", "`", "@", "{", "/", ":", "z0z_Z",
	} {
		if got, want := isInputName(k), pattern.MatchString(k); got != want {
			t.Errorf("isInputName(%q) = %v, want %v", k, got, want)
		}
	}
}

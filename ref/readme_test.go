package ref

import (
	"os"
	"strings"
	"testing"
)

// The reference table of docs/configuration.md shows every scheme the
// parser knows.
func TestREADMESchemes(t *testing.T) {
	readme, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "| form | notes |")
	if !ok {
		t.Fatal("docs/configuration.md has no reference table")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	for _, sc := range schemes {
		if !strings.Contains(table, "| `"+sc.prefix) {
			t.Errorf("docs/configuration.md's reference table has no row for %s", sc.prefix)
		}
	}
}

package formats

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The format table of docs/formats.md lists exactly the formats of this
// package: the table is kept from the package, not by hand.
func TestREADMEFormats(t *testing.T) {
	readme, err := os.ReadFile("../docs/formats.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "| `format` | output |")
	if !ok {
		t.Fatal("docs/formats.md has no format table")
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z-]+)`")
	var listed []Name
	for _, line := range strings.Split(table, "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		if m := row.FindStringSubmatch(line); m != nil {
			listed = append(listed, Name(strings.TrimSuffix(m[1], " (default)")))
		}
	}
	slices.Sort(listed)
	if want := Names(); !slices.Equal(listed, want) {
		t.Errorf("docs/formats.md lists formats %v, package formats has %v", listed, want)
	}
}

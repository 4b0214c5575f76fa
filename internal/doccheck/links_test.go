package doccheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// root is the repository's root, from this package's directory.
const root = "../.."

var (
	fence      = regexp.MustCompile("(?ms)^```.*?^```[ \t]*$")
	inlineCode = regexp.MustCompile("`[^`\n]*`")
	link       = regexp.MustCompile(`\[[^\]\n]*\]\(([^)\s]+)\)`)
	heading    = regexp.MustCompile(`(?m)^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$`)
)

// prose is a Markdown document without its code: fenced blocks, indented
// blocks and inline code hold no link.
func prose(doc string) string {
	doc = fence.ReplaceAllString(doc, "")
	var b strings.Builder
	for line := range strings.Lines(doc) {
		if strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t") {
			continue
		}
		b.WriteString(inlineCode.ReplaceAllString(line, ""))
	}
	return b.String()
}

// anchors are the ids GitHub gives a document's headings: lower case,
// punctuation dropped, spaces as hyphens, a repeated one numbered.
func anchors(doc string) []string {
	seen := map[string]int{}
	var ids []string
	for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(doc, ""), -1) {
		text := link.ReplaceAllStringFunc(m[1], func(l string) string { return l[1:strings.Index(l, "](")] })
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		id := b.String()
		if n := seen[id]; n > 0 {
			seen[id]++
			id = fmt.Sprintf("%s-%d", id, n)
		} else {
			seen[id] = 1
		}
		ids = append(ids, id)
	}
	return ids
}

// documents are the Markdown files whose links must resolve.
func documents(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("no docs/*.md")
	}
	return append(docs, filepath.Join(root, "README.md"), filepath.Join(root, "examples", "taskdefs", "README.md"))
}

// TestLinks: every relative link names an existing file, and an anchor in
// a Markdown file one of its headings.
func TestLinks(t *testing.T) {
	for _, doc := range documents(t) {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		name, _ := filepath.Rel(root, doc)
		for _, m := range link.FindAllStringSubmatch(prose(string(data)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			file := doc
			if path != "" {
				file = filepath.Join(filepath.Dir(doc), path)
				if _, err := os.Stat(file); err != nil {
					t.Errorf("%s: link %s: %v", name, target, err)
					continue
				}
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(file, ".md") {
				t.Errorf("%s: link %s: an anchor into a file that is not Markdown", name, target)
				continue
			}
			body, err := os.ReadFile(file)
			if err != nil {
				t.Errorf("%s: link %s: %v", name, target, err)
				continue
			}
			if !slices.Contains(anchors(string(body)), anchor) {
				t.Errorf("%s: link %s: no such heading (there are %v)", name, target, anchors(string(body)))
			}
		}
	}
}

// TestAnchors: headings get the ids GitHub gives them.
func TestAnchors(t *testing.T) {
	doc := "# Output layout\n## Who can read the files\n## SSM paths (`ssm:/PATH/`)\n" +
		"## Secrets from the injector's environment (`env:`)\n## Fleet: 200 tasks start at once\n" +
		"```\n# not a heading\n```\n## Errors\n## Errors\n"
	want := []string{"output-layout", "who-can-read-the-files", "ssm-paths-ssmpath",
		"secrets-from-the-injectors-environment-env", "fleet-200-tasks-start-at-once", "errors", "errors-1"}
	if got := anchors(doc); !slices.Equal(got, want) {
		t.Errorf("anchors %q, want %q", got, want)
	}
}

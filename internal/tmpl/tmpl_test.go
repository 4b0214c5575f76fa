package tmpl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"text/template"
	"time"
)

// escaperInputs hold every kind of byte the escapers treat apart.
var escaperInputs = []string{
	"", "plain", `<a href="x">&'</a>`, "a=b\\c", "\x00\x01\x1f\x20\x7e\x7f", "\u00a0\u00e9\u2028\u2029\ufeff\ufffd",
	"\xff\xfe", "\xe2\x80", "\U0001F600\U000E0001\U0010FFFF", "\u200b\ue000\u0300", "a b&c=d/é?#%+~_.-", "\t\n\r\v\f",
}

// TestEscapersMatchTextTemplate: html, js and urlquery escape as
// text/template's escapers do.
func TestEscapersMatchTextTemplate(t *testing.T) {
	for _, s := range escaperInputs {
		checkEscapers(t, s)
	}
	for r := rune(0); r < 0x3000; r++ {
		checkEscapers(t, "x"+string(r)+"y")
	}
}

func checkEscapers(t *testing.T, s string) {
	t.Helper()
	for _, c := range []struct {
		name      string
		got, want string
	}{
		{"html", htmlEscape(s), template.HTMLEscapeString(s)},
		{"js", jsEscape(s), template.JSEscapeString(s)},
		{"urlquery", queryEscape(s), template.URLQueryEscaper(s)},
	} {
		if c.got != c.want {
			t.Errorf("%s(%q) = %q, want %q", c.name, s, c.got, c.want)
		}
	}
}

func FuzzEscapers(f *testing.F) {
	for _, s := range escaperInputs {
		f.Add(s)
	}
	f.Fuzz(checkEscapers)
}

func TestScanFormat(t *testing.T) {
	tests := []struct {
		format         string
		pad, verbs     int64
		other, indexed bool
		ok             bool
	}{
		{"plain", 0, 0, false, false, true},
		{"%s %v", 0, 2, false, false, true},
		{"%d", 0, 1, true, false, true},
		{"%#v", 0, 1, true, false, true},
		{"%08d|%-12s|%.3f|%9.2f", 8 + 12 + 3 + 9 + 2, 4, true, false, true},
		{"%[2]d %[1]05s", 5, 2, true, true, true},
		{"100%% %5s", 5, 1, false, false, true},
		{"%*d", 0, 0, false, false, false},
		{"%.*f", 0, 0, false, false, false},
		{"%99999999999999999999d", 1 << 40, 1, true, false, true},
	}
	for _, tt := range tests {
		pad, verbs, other, indexed, ok := scanFormat(tt.format)
		if pad != tt.pad || verbs != tt.verbs || other != tt.other || indexed != tt.indexed || ok != tt.ok {
			t.Errorf("scanFormat(%q) = %d, %d, %v, %v, %v; want %d, %d, %v, %v, %v", tt.format,
				pad, verbs, other, indexed, ok, tt.pad, tt.verbs, tt.other, tt.indexed, tt.ok)
		}
	}
}

// TestPrintfSize: the bound is never below what fmt.Sprintf makes.
func TestPrintfSize(t *testing.T) {
	list := []any{"", "a", nil, true, 1.5, map[string]any{"k": []any{}}, []any{"", ""}}
	m := map[string]string{"": "", "k": "\x00"}
	tests := []struct {
		format string
		args   []any
	}{
		{"%s", []any{"abc"}},
		{"%v", []any{list}},
		{"%10v", []any{list}},
		{"%-10s|%10v", []any{m, list}},
		{"%d", []any{list}},
		{"%x", []any{"\xff\xff"}},
		{"% #x", []any{"abc"}},
		{"%q", []any{"\x00\x01\xff"}},
		{"%+q", []any{"\U0010FFFF\u00a0"}},
		{"%#v", []any{list, m}},
		{"%[1]s%[1]s%[1]s%[1]s", []any{"abcdef"}},
		{"%[1]*d", []any{3, 4}},
		{"%08d", []any{1}},
		{"%v %v", []any{1i + 2, -9223372036854775807}},
		{"%d %s", []any{"x"}},
		{"%s", []any{"a", "b", 1}},
	}
	for _, tt := range tests {
		n, ok := printfSize(tt.format, tt.args)
		if !ok {
			if !strings.Contains(tt.format, "*") {
				t.Errorf("printfSize(%q) refused", tt.format)
			}
			continue
		}
		if got := int64(len(fmt.Sprintf(tt.format, tt.args...))); got > n {
			t.Errorf("printfSize(%q, %v) = %d, but Sprintf makes %d bytes", tt.format, tt.args, n, got)
		}
	}
}

// TestLimits: output, and strings that builtins make, stay under the limit
// without being made first.
func TestLimits(t *testing.T) {
	data := map[string]string{"big": strings.Repeat("<", 1000), "s": "x"}
	list := func(string) (any, error) {
		l := make([]any, 1000)
		for i := range l {
			l[i] = ""
		}
		return l, nil
	}
	tests := []struct {
		name, text string
	}{
		{"output", `{{ range 1000 }}{{ $.big }}{{ end }}`},
		{"width of each element", `{{ printf "%0999v" (list .s) }}`},
		{"one argument many times", `{{ printf "` + strings.Repeat("%[1]s", 100) + `" .big }}`},
		{"escaper growth", `{{ html .big .big }}`},
		{"print", `{{ $s := .big }}{{ range 10 }}{{ $s = print $s $s }}{{ end }}`},
		{"width", `{{ printf "%0100000d" 1 }}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := Parse("main", tt.text, map[string]Func{"list": list})
			if err != nil {
				t.Fatal(err)
			}
			out, err := tm.Execute(context.Background(), data, 10000)
			var le *LimitError
			if !errors.As(err, &le) || le.Max != 10000 || out != nil {
				t.Fatalf("Execute = %d bytes, %v; want a *LimitError", len(out), err)
			}
		})
	}
	t.Run("star", func(t *testing.T) {
		tm, err := Parse("main", `{{ printf "%*d" 5 1 }}`, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tm.Execute(context.Background(), nil, 10000); !errors.Is(err, ErrUnbounded) {
			t.Fatalf("err = %v, want ErrUnbounded", err)
		}
	})
}

// TestStops: a template that loops, however it loops, returns soon after
// its context is done, with the context's cause. Execution runs in the
// caller's goroutine, so nothing is left running. (How soon is reported,
// not asserted: the machine may be slow.)
func TestStops(t *testing.T) {
	for _, text := range []string{
		`{{ range 1000000000000 }}{{ end }}`,
		`{{ range 1000000 }}{{ range 1000000 }}{{ end }}{{ end }}`,
		`{{ range 1000000000000 }}{{ if . }}{{ continue }}{{ end }}{{ end }}`,
		`{{ define "t" }}{{ if lt (len .) 60 }}{{ template "t" (print . "x") }}{{ template "t" (print . "y") }}{{ end }}{{ end }}{{ template "t" "" }}`,
	} {
		t.Run(text, func(t *testing.T) {
			tm, err := Parse("main", text, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			canceled := make(chan time.Time, 1)
			time.AfterFunc(50*time.Millisecond, func() { canceled <- time.Now(); cancel() })
			out, err := tm.Execute(ctx, nil, 1<<20)
			if !errors.Is(err, context.Canceled) || out != nil {
				t.Fatalf("Execute = %q, %v; want context.Canceled", out, err)
			}
			if !strings.Contains(err.Error(), "stopped") {
				t.Errorf("error %q does not say stopped", err)
			}
			t.Logf("returned %s after the cancel", time.Since(<-canceled))
		})
	}
}

// TestErrorsHoldNoData: what went wrong is told with template text and type
// names; data stays out, even where text/template would print it.
func TestErrorsHoldNoData(t *testing.T) {
	const secret = "s3cr3t-value-4711"
	funcs := map[string]Func{
		"list": func(string) (any, error) { return []any{secret}, nil },
		"num":  func(string) (any, error) { return map[string]any{"n": json.Number("4711")}, nil },
	}
	data := map[string]string{"a": secret, "n": "4711"}
	for _, text := range []string{
		`{{ range .a }}{{ end }}`,
		`{{ with $x := .a }}{{ range $x }}{{ end }}{{ end }}`,
		`{{ index (list .a) 5 }}`,
		`{{ index (list .a) (len .a) }}`,
		`{{ slice .a (len .a) 1 }}`,
		`{{ eq (list .a) (list .a) }}`,
		`{{ eq .a 1 }}`,
		`{{ lt (list .a) 1 }}`,
		`{{ call .a }}`,
		`{{ .a.x }}`,
		`{{ (num .a).n.x }}`,
		`{{ range $i, $e := len .a }}{{ end }}`,
		`{{ len (index (list .a) 0 0) }}`,
		`{{ (index (list .a) 0).Int64 }}`,
		`{{ index . (num .a).n }}`,
	} {
		tm, err := Parse("main", text, funcs)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		_, err = tm.Execute(context.Background(), data, 1<<20)
		if err == nil {
			t.Errorf("%s: no error", text)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "4711") || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: error holds data: %v", text, err)
		}
		if !strings.HasPrefix(err.Error(), "template: main:1:") {
			t.Errorf("%s: error has no location: %v", text, err)
		}
	}
}

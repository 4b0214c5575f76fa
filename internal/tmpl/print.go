package tmpl

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

func sprint(a []any) string   { return fmt.Sprint(a...) }
func sprintln(a []any) string { return fmt.Sprintln(a...) }

// escaperArg is the text html, js and urlquery escape: their one string
// argument, or else what print makes of their arguments with nil shown as
// an action shows it.
func escaperArg(args []any) string {
	if len(args) == 1 {
		if s, ok := args[0].(string); ok {
			return s
		}
	}
	a := make([]any, len(args))
	for i, v := range args {
		if v == nil {
			v = "<no value>"
		}
		a[i] = v
	}
	return fmt.Sprint(a...)
}

// htmlEscape replaces ' " & < > with entities and NUL with U+FFFD.
func htmlEscape(s string) string {
	if !strings.ContainsAny(s, "'\"&<>\x00") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			b.WriteString("\uFFFD")
		case '"':
			b.WriteString("&#34;")
		case '\'':
			b.WriteString("&#39;")
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// jsEscape escapes for a JavaScript string: backslash and quotes with a
// backslash; < > & = and ASCII control characters as \u00XX; other runes
// that are not printable as \uXXXX. Invalid UTF-8 is kept.
func jsEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if unicode.IsPrint(r) {
				b.WriteString(s[i : i+size])
			} else {
				fmt.Fprintf(&b, `\u%04X`, r)
			}
			i += size
			continue
		}
		switch c {
		case '\\', '\'', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '<', '>', '&', '=':
			fmt.Fprintf(&b, `\u%04X`, c)
		default:
			if c < ' ' {
				fmt.Fprintf(&b, `\u%04X`, c)
			} else {
				b.WriteByte(c)
			}
		}
		i++
	}
	return b.String()
}

func queryEscape(s string) string { return url.QueryEscape(s) }

// printf is fmt.Sprintf, refused when the result could pass the limit.
func (s *state) printf(format string, args []any) (any, error) {
	size, ok := printfSize(format, args)
	if !ok {
		return nil, ErrUnbounded
	}
	if size > s.out.max {
		return nil, &LimitError{What: "result", Max: s.out.max}
	}
	return fmt.Sprintf(format, args...), nil
}

// printfSize bounds from above the length of fmt.Sprintf(format, args...):
// a width or precision can apply to every value inside an argument (the
// elements of a slice, the keys and values of a map), verbs other than %s
// and %v print text up to six times as long and wrap a string they do not
// take in a note such as %!d(string=...), and with explicit argument
// indexes one argument can be printed by every verb. It reports false for
// a '*' (a width or precision taken from an argument), which it cannot
// bound.
func printfSize(format string, args []any) (int64, bool) {
	pad, verbs, other, indexed, ok := scanFormat(format)
	if !ok {
		return 0, false
	}
	var sum, most extent
	for _, a := range args {
		e := measure(a)
		sum = extent{sum.size + e.size, sum.text + e.text, sum.texts + e.texts, sum.values + e.values}
		most = extent{max(most.size, e.size), max(most.text, e.text), max(most.texts, e.texts), max(most.values, e.values)}
	}
	if indexed {
		sum = extent{verbs * most.size, verbs * most.text, verbs * most.texts, verbs * most.values}
	}
	n := satAdd(int64(len(format))+16, sum.size, satMul(pad, max(sum.values, 1)))
	if other {
		n = satAdd(n, satMul(5, sum.text), satMul(32, sum.texts))
	}
	return n, true
}

// scanFormat reads a fmt format: the sum of its widths and precisions, the
// number of verbs, whether it has verbs other than %s and %v (or with a
// '#'), whether it has argument indexes, and false if it has a '*'.
func scanFormat(format string) (pad, verbs int64, other, indexed, ok bool) {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		sharp := false
	verb:
		for i++; i < len(format); i++ {
			switch c := format[i]; {
			case c == '*':
				return 0, 0, false, false, false
			case c >= '0' && c <= '9':
				var n int64
				for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
					n = min(n*10+int64(format[i]-'0'), 1<<40)
				}
				i--
				pad = satAdd(pad, n)
			case c == '[':
				// An argument index: its digits are not a width.
				indexed = true
				for i < len(format) && format[i] != ']' {
					i++
				}
			case c == '#':
				sharp = true
			case c == '+' || c == '-' || c == ' ' || c == '.':
			default:
				// The verb, or the second '%' of "%%".
				if c != '%' {
					verbs++
				}
				if c != '%' && (sharp || c != 's' && c != 'v') {
					other = true
				}
				break verb
			}
		}
	}
	return pad, verbs, other, indexed, true
}

// extent bounds what fmt prints for a value.
type extent struct {
	size   int64 // bytes %v prints, at most
	text   int64 // bytes of the strings and map keys in it
	texts  int64 // number of strings and map keys in it
	values int64 // number of values a width pads: scalars and map keys
}

func measure(v any) extent {
	switch v := v.(type) {
	case string:
		return extent{int64(len(v)) + 2, int64(len(v)), 1, 1}
	case json.Number:
		return extent{int64(len(v)) + 2, int64(len(v)), 1, 1}
	case []any:
		sum := extent{size: 2}
		for _, e := range v {
			x := measure(e)
			sum = extent{sum.size + x.size + 1, sum.text + x.text, sum.texts + x.texts, sum.values + x.values}
		}
		return sum
	case map[string]any:
		sum := extent{size: 5}
		for k, e := range v {
			x := measure(e)
			n := int64(len(k))
			sum = extent{sum.size + n + x.size + 4, sum.text + n + x.text, sum.texts + 1 + x.texts, sum.values + 1 + x.values}
		}
		return sum
	case map[string]string:
		sum := extent{size: 5}
		for k, e := range v {
			n := int64(len(k) + len(e))
			sum = extent{sum.size + n + 6, sum.text + n, sum.texts + 2, sum.values + 2}
		}
		return sum
	case complex128:
		return extent{size: 64, values: 1}
	}
	return extent{size: 32, values: 1}
}

// sizeOf bounds from above the bytes print makes of values.
func sizeOf(values []any) int64 {
	var n int64
	for _, v := range values {
		n += measure(v).size
	}
	return n
}

func satAdd(a ...int64) int64 {
	var s int64
	for _, x := range a {
		if s > 1<<62 || x > 1<<62 {
			return 1 << 62
		}
		s += x
	}
	return min(s, 1<<62)
}

func satMul(a, b int64) int64 {
	if a != 0 && b > (1<<62)/a {
		return 1 << 62
	}
	return a * b
}

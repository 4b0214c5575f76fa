// Package strictjson decodes JSON documents that hold secret values, so that
// every byte of the result stands for exactly what the document says.
//
// It differs from encoding/json where encoding/json would silently change or
// choose a value:
//
//   - an object with the same key twice is an error (encoding/json keeps the
//     last one, so the value would be ambiguous);
//   - invalid UTF-8 inside a string, and a \u escape of a lone UTF-16
//     surrogate, are errors (encoding/json replaces them with U+FFFD);
//   - numbers are json.Number, keeping their exact text;
//   - anything after the one JSON value, other than white space, is an error.
//
// Errors are *Error values. Their text names byte offsets, the place in the
// document (array indexes and object keys) and what was expected, and never
// holds any other byte of the input.
package strictjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Sentinel errors; every *Error wraps exactly one of them.
var (
	// ErrInvalid reports input that is not one well-formed UTF-8 JSON value.
	ErrInvalid = errors.New("invalid JSON")
	// ErrDuplicateKey reports an object with the same key twice.
	ErrDuplicateKey = errors.New("duplicate JSON key")
	// ErrNotObject reports a valid JSON value that is not an object where
	// one is required.
	ErrNotObject = errors.New("JSON value is not an object")
)

// MaxDepth is the deepest nesting of arrays and objects accepted, as in
// encoding/json.
const MaxDepth = 10000

// Error describes why a document was refused, without quoting it.
type Error struct {
	Err    error // ErrInvalid, ErrDuplicateKey or ErrNotObject
	Offset int   // byte offset in the input where the problem was found
	// Path is where in the document the problem is: an int for an array
	// index, a string for an object key, outermost first.
	Path []any
	Msg  string // what is wrong; holds no input byte except object keys
	Key  string // for ErrDuplicateKey, the key given twice
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if len(e.Path) > 0 {
		b.WriteString(" in ")
		b.WriteString(FormatPath(e.Path))
	}
	fmt.Fprintf(&b, " (byte offset %d)", e.Offset)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// FormatPath writes a document path as JavaScript-like accessors, e.g.
// [1].path or ["a b"][0].
func FormatPath(path []any) string {
	var b strings.Builder
	for _, el := range path {
		switch v := el.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", v)
		case string:
			if isIdent(v) {
				b.WriteString("." + v)
			} else {
				b.WriteString("[" + strconv.Quote(v) + "]")
			}
		}
	}
	s := b.String()
	if strings.HasPrefix(s, ".") {
		return s[1:]
	}
	return s
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// Decode parses data as exactly one JSON value. Objects become
// map[string]any, arrays []any, strings string, numbers json.Number, and
// true, false and null bool and nil.
func Decode(data []byte) (any, error) {
	p := &parser{data: data}
	if err := p.start(); err != nil {
		return nil, err
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return v, nil
}

// Member is one member of a JSON object.
type Member struct {
	Key   string
	Value any    // as Decode returns it
	Raw   []byte // the value's text in the input
}

// Text is the bytes the member's value stands for: the decoded text of a
// string, or the compact JSON text of any other value (numbers exactly as
// written).
func (m Member) Text() []byte {
	if s, ok := m.Value.(string); ok {
		return []byte(s)
	}
	return compact(m.Raw)
}

// Object parses data as exactly one JSON object and returns its members in
// document order. A valid value that is not an object is ErrNotObject.
func Object(data []byte) ([]Member, error) {
	p := &parser{data: data}
	if err := p.start(); err != nil {
		return nil, err
	}
	if c := p.data[p.pos]; c != '{' {
		start := p.pos
		if _, err := p.value(); err != nil {
			return nil, err
		}
		if err := p.end(); err != nil {
			return nil, err
		}
		return nil, &Error{Err: ErrNotObject, Offset: start, Msg: "the top level is " + kindOf(c)}
	}
	var members []Member
	err := p.object(func(key string) error {
		start := p.pos
		v, err := p.value()
		if err != nil {
			return err
		}
		members = append(members, Member{Key: key, Value: v, Raw: p.data[start:p.pos]})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return members, nil
}

// kindOf names the kind of value that starts with c.
func kindOf(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

type parser struct {
	data  []byte
	pos   int
	path  []any
	depth int
	nodes *nodeSlab // Tree's
}

func (p *parser) fail(kind error, format string, args ...any) error {
	return &Error{Err: kind, Offset: p.pos, Path: append([]any(nil), p.path...), Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) syntax(format string, args ...any) error {
	if p.pos >= len(p.data) {
		return p.fail(ErrInvalid, "unexpected end of input")
	}
	return p.fail(ErrInvalid, format, args...)
}

func (p *parser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// start skips leading white space and refuses empty input.
func (p *parser) start() error {
	p.space()
	if p.pos == len(p.data) {
		return p.fail(ErrInvalid, "empty value")
	}
	return nil
}

// end refuses anything but white space after the value.
func (p *parser) end() error {
	p.space()
	if p.pos != len(p.data) {
		return p.fail(ErrInvalid, "trailing data after the JSON value")
	}
	return nil
}

func (p *parser) value() (any, error) {
	p.space()
	if p.pos >= len(p.data) {
		return nil, p.syntax("")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		m := map[string]any{}
		err := p.object(func(key string) error {
			v, err := p.value()
			m[key] = v
			return err
		})
		return m, err
	case c == '[':
		out := []any{}
		err := p.array(func() error {
			v, err := p.value()
			out = append(out, v)
			return err
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	default:
		return nil, p.syntax("want a JSON value")
	}
}

func (p *parser) literal(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return p.syntax("want a JSON value")
	}
	p.pos += len(word)
	return nil
}

func (p *parser) enter() error {
	if p.depth++; p.depth > MaxDepth {
		return p.fail(ErrInvalid, "nested deeper than %d", MaxDepth)
	}
	return nil
}

// object parses an object at p.pos ('{') and calls member for each key,
// with p.pos at the start of the key's value (after white space), which
// member parses; p.pos is then just after the object.
func (p *parser) object(member func(key string) error) error {
	if err := p.enter(); err != nil {
		return err
	}
	p.pos++ // '{'
	seen := map[string]struct{}{}
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.depth--
		return nil
	}
	for {
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return p.syntax("want an object key (a string)")
		}
		keyAt := p.pos
		key, err := p.str()
		if err != nil {
			return err
		}
		if _, dup := seen[key]; dup {
			p.pos = keyAt
			err := p.fail(ErrDuplicateKey, "key %q occurs more than once", key)
			err.(*Error).Key = key
			return err
		}
		seen[key] = struct{}{}
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return p.syntax("want ':' after an object key")
		}
		p.pos++
		p.space()
		p.path = append(p.path, key)
		if err := member(key); err != nil {
			return err
		}
		p.path = p.path[:len(p.path)-1]
		p.space()
		if p.pos < len(p.data) && p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			p.depth--
			return nil
		}
		return p.syntax("want ',' or '}' after an object member")
	}
}

// array parses an array at p.pos ('[') and calls elem for each element,
// with p.pos at its start, which elem parses; p.pos is then just after the
// array.
func (p *parser) array(elem func() error) error {
	if err := p.enter(); err != nil {
		return err
	}
	p.pos++ // '['
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return nil
	}
	for i := 0; ; i++ {
		p.path = append(p.path, i)
		p.space()
		if err := elem(); err != nil {
			return err
		}
		p.path = p.path[:len(p.path)-1]
		p.space()
		if p.pos < len(p.data) && p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			p.depth--
			return nil
		}
		return p.syntax("want ',' or ']' after an array element")
	}
}

func (p *parser) number() (json.Number, error) {
	start := p.pos
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.data[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(p.data) && p.data[p.pos] == '0':
		p.pos++
	case digits() == 0:
		return "", p.syntax("want a digit in a number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return "", p.syntax("want a digit after the decimal point")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return "", p.syntax("want a digit in an exponent")
		}
	}
	return json.Number(p.data[start:p.pos]), nil
}

// str parses a string at p.pos ('"').
func (p *parser) str() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := string(p.data[start:p.pos])
			p.pos++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if err := p.plain(c); err != nil {
			return "", err
		}
	}
	buf := append([]byte(nil), p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch c {
		case '"':
			p.pos++
			return string(buf), nil
		case '\\':
			r, err := p.escape()
			if err != nil {
				return "", err
			}
			buf = utf8.AppendRune(buf, r)
		default:
			at := p.pos
			if err := p.plain(c); err != nil {
				return "", err
			}
			buf = append(buf, p.data[at:p.pos]...)
		}
	}
	return "", p.syntax("")
}

// plain consumes one unescaped character of a string starting with byte c.
func (p *parser) plain(c byte) error {
	if c < 0x20 {
		return p.fail(ErrInvalid, "control character in a string")
	}
	if c < utf8.RuneSelf {
		p.pos++
		return nil
	}
	r, n := utf8.DecodeRune(p.data[p.pos:])
	if r == utf8.RuneError && n <= 1 {
		return p.fail(ErrInvalid, "string is not valid UTF-8")
	}
	p.pos += n
	return nil
}

// escape decodes an escape sequence at p.pos ('\\'), joining a UTF-16
// surrogate pair and refusing a lone surrogate.
func (p *parser) escape() (rune, error) {
	if p.pos+1 >= len(p.data) {
		p.pos = len(p.data)
		return 0, p.syntax("")
	}
	c := p.data[p.pos+1]
	if r, ok := simpleEscape(c); ok {
		p.pos += 2
		return r, nil
	}
	if c != 'u' {
		p.pos++
		return 0, p.fail(ErrInvalid, "invalid escape in a string")
	}
	r, err := p.hex4()
	if err != nil {
		return 0, err
	}
	if !utf16.IsSurrogate(r) {
		return r, nil
	}
	at := p.pos - 6
	if r < 0xdc00 && p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
		low, err := p.hex4()
		if err != nil {
			return 0, err
		}
		if pair := utf16.DecodeRune(r, low); pair != utf8.RuneError {
			return pair, nil
		}
	}
	p.pos = at
	return 0, p.fail(ErrInvalid, "\\u escape of a lone UTF-16 surrogate, which is not a character")
}

func simpleEscape(c byte) (rune, bool) {
	switch c {
	case '"', '\\', '/':
		return rune(c), true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// hex4 reads \uXXXX at p.pos.
func (p *parser) hex4() (rune, error) {
	if len(p.data)-p.pos < 6 {
		p.pos = len(p.data)
		return 0, p.syntax("")
	}
	var r rune
	for _, c := range p.data[p.pos+2 : p.pos+6] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			p.pos++
			return 0, p.fail(ErrInvalid, "invalid \\u escape in a string")
		}
		r = r<<4 | rune(d)
	}
	p.pos += 6
	return r, nil
}

// compact removes the white space outside strings from valid JSON text.
func compact(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inString:
			out = append(out, c)
			if c == '\\' && i+1 < len(raw) {
				i++
				out = append(out, raw[i])
			} else if c == '"' {
				inString = false
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			out = append(out, c)
			inString = c == '"'
		}
	}
	return out
}

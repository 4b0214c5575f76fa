// Package dotenv is the one definition of the dotenv syntax the injector
// writes: the formats package renders it (AppendAssignment) and the exec
// helper cmd/with-env reads it back (Parse). It uses the standard library
// only, so that the helper stays a small program without other
// dependencies.
//
// A file is a sequence of lines
//
//	NAME='value'
//
// each ending in a newline, where NAME is a shell identifier
// ([A-Za-z_][A-Za-z0-9_]*) other than the bash variables that cannot be
// assigned (IsBashSpecial), and the value is single-quoted: every byte is
// literal except the single quote, which is written as close quote,
// backslash-quote, reopen quote:
//
//	NAME='it'\''s'
//
// A value may hold any byte but NUL, newlines included, so `set -a; . FILE`
// in a POSIX shell gives back the value byte for byte. Parse accepts
// exactly what AppendAssignment writes and nothing else: no comments, blank
// lines, `export`, double quotes or unquoted values.
package dotenv

import (
	"bytes"
	"fmt"
)

// AppendAssignment appends the line NAME='value' and its newline to dst.
// The caller checks name (IsName, IsBashSpecial) and that value holds no
// NUL byte.
func AppendAssignment(dst []byte, name string, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, '=', '\'')
	for {
		i := bytes.IndexByte(value, '\'')
		if i < 0 {
			break
		}
		dst = append(dst, value[:i]...)
		dst = append(dst, `'\''`...)
		value = value[i+1:]
	}
	dst = append(dst, value...)
	return append(dst, '\'', '\n')
}

// IsName reports whether s is a shell identifier, [A-Za-z_][A-Za-z0-9_]*.
func IsName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// IsBashSpecial lists the bash (5.x) variables for which `NAME='v'` followed
// by reading $NAME does not give v back: read-only ones (assignment fails)
// and dynamic ones (bash recomputes or ignores them), plus two whose
// assignment is validated and has side effects. The formats package checks
// the list against bash (TestDotenvBashSpecialNames).
func IsBashSpecial(name string) bool {
	switch name {
	case "_",
		"BASHOPTS", "BASHPID", "BASH_ARGC", "BASH_ARGV", "BASH_COMMAND",
		"BASH_COMPAT", "BASH_LINENO", "BASH_SOURCE", "BASH_SUBSHELL",
		"BASH_VERSINFO", "BASH_XTRACEFD", "DIRSTACK", "EPOCHREALTIME",
		"EPOCHSECONDS", "EUID", "FUNCNAME", "GROUPS", "HISTCMD", "LINENO",
		"OPTIND", "PIPESTATUS", "PPID", "RANDOM", "SECONDS", "SHELLOPTS",
		"SRANDOM", "UID":
		return true
	}
	return false
}

// Var is one assignment of a file.
type Var struct {
	Name  string
	Value string
}

// SyntaxError says where a file is not in the syntax AppendAssignment
// writes. Its message holds the line number and a fixed reason only, never
// a byte of the file, since a name or value there may be a secret.
type SyntaxError struct {
	Line   int    // 1-based line of the offending byte
	Reason string // fixed text
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// The reasons of a SyntaxError.
const (
	reasonEmptyLine   = "empty line (the injector writes none)"
	reasonComment     = "a comment (the injector writes none)"
	reasonExport      = "shell syntax (`export`); the injector writes NAME='value' lines only"
	reasonName        = "not NAME='value' with NAME a shell identifier ([A-Za-z_][A-Za-z0-9_]*)"
	reasonSpecial     = "the name is a read-only or special shell variable, which the injector never writes"
	reasonUnquoted    = "the value is not single-quoted"
	reasonUnclosed    = "the single-quoted value is not closed before the end of the file"
	reasonAfterQuote  = "unexpected text after the closing quote (only '\\'' or the end of the line may follow)"
	reasonNoNewline   = "the last line does not end in a newline"
	reasonNUL         = "a NUL byte, which an environment variable cannot hold"
	reasonDuplicateFn = "the variable of line %d is set again"
)

// Parse reads a file in the syntax AppendAssignment writes and returns its
// assignments in file order. Anything else is a *SyntaxError; a name set
// twice is one too.
func Parse(data []byte) ([]Var, error) {
	p := parser{data: data, line: 1}
	var vars []Var
	lines := make(map[string]int)
	for p.pos < len(p.data) {
		start := p.line
		v, err := p.assignment()
		if err != nil {
			return nil, err
		}
		if first, dup := lines[v.Name]; dup {
			return nil, &SyntaxError{Line: start, Reason: fmt.Sprintf(reasonDuplicateFn, first)}
		}
		lines[v.Name] = start
		vars = append(vars, v)
	}
	return vars, nil
}

type parser struct {
	data []byte
	pos  int
	line int // of data[pos]
	buf  []byte
}

func (p *parser) fail(reason string) error { return &SyntaxError{Line: p.line, Reason: reason} }

// assignment reads one NAME='value' line and its newline.
func (p *parser) assignment() (Var, error) {
	rest := p.data[p.pos:]
	eq := bytes.IndexByte(rest, '=')
	nl := bytes.IndexByte(rest, '\n')
	switch {
	case nl == 0:
		return Var{}, p.fail(reasonEmptyLine)
	case rest[0] == '#':
		return Var{}, p.fail(reasonComment)
	case bytes.HasPrefix(rest, []byte("export")) && len(rest) > len("export") && (rest[6] == ' ' || rest[6] == '\t'):
		return Var{}, p.fail(reasonExport)
	case eq < 0 || (nl >= 0 && nl < eq) || !IsName(string(rest[:eq])):
		if i := bytes.IndexByte(rest[:lineEnd(rest)], 0); i >= 0 {
			return Var{}, p.fail(reasonNUL)
		}
		return Var{}, p.fail(reasonName)
	}
	name := string(rest[:eq])
	if IsBashSpecial(name) {
		return Var{}, p.fail(reasonSpecial)
	}
	p.pos += eq + 1
	value, err := p.quoted()
	if err != nil {
		return Var{}, err
	}
	return Var{Name: name, Value: value}, nil
}

// lineEnd returns the index of the first newline in b, or len(b).
func lineEnd(b []byte) int {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return i
	}
	return len(b)
}

// quoted reads '...' ('\” '...')* and the newline after it.
func (p *parser) quoted() (string, error) {
	if p.pos >= len(p.data) || p.data[p.pos] != '\'' {
		if p.pos < len(p.data) && p.data[p.pos] == 0 {
			return "", p.fail(reasonNUL)
		}
		return "", p.fail(reasonUnquoted)
	}
	p.pos++
	p.buf = p.buf[:0]
	for {
		rest := p.data[p.pos:]
		end := bytes.IndexByte(rest, '\'')
		if end < 0 {
			end = len(rest)
		}
		chunk := rest[:end]
		if i := bytes.IndexByte(chunk, 0); i >= 0 {
			p.advance(i)
			return "", p.fail(reasonNUL)
		}
		p.buf = append(p.buf, chunk...)
		p.advance(end)
		if end == len(rest) {
			return "", p.fail(reasonUnclosed)
		}
		// At the quote that ends chunk.
		after := p.data[p.pos+1:]
		switch {
		case bytes.HasPrefix(after, []byte(`\''`)):
			p.buf = append(p.buf, '\'')
			p.pos += 4
		case len(after) > 0 && after[0] == '\n':
			p.pos += 2
			p.line++
			return string(p.buf), nil
		case len(after) == 0:
			return "", p.fail(reasonNoNewline)
		default:
			p.pos++
			return "", p.fail(reasonAfterQuote)
		}
	}
}

// advance moves n bytes on, counting lines.
func (p *parser) advance(n int) {
	p.line += bytes.Count(p.data[p.pos:p.pos+n], []byte{'\n'})
	p.pos += n
}

// Package tmpl executes templates written in Go's text/template language
// over the injector's data, without text/template's executor.
//
// text/template finds methods by name at run time
// (reflect.Value.MethodByName), which makes the Go linker keep every
// exported method of every reachable type: about half of the injector's
// binary. This package parses with text/template/parse, which uses no
// reflection, and walks the tree itself over a closed set of types, giving
// the output text/template gives for the same template and data:
//
//   - the data: map[string]string;
//   - what functions return: string, and what strictjson.Decode returns
//     (map[string]any, []any, string, json.Number, bool, nil);
//   - constants in the template: int, float64, complex128, bool, string,
//     nil;
//   - what builtins and methods make from those: bool (comparisons, not),
//     int (len), uint8 (index of a string), int64 and float64 (the Int64
//     and Float64 methods of json.Number).
//
// The whole language is supported: actions, pipelines, fields of maps,
// variables, if, with, range (over slices, maps in key order, integers),
// break, continue, define, template, block, comments, trim markers, the
// builtins (and, or, not, len, index, slice, eq, ne, lt, le, gt, ge, print,
// printf, println, html, js, urlquery, call) and json.Number's methods.
// Missing map keys are errors, as with text/template's missingkey=error.
//
// Unlike text/template, execution is bounded: it stops when its context is
// done, when the output would pass a byte limit, and when print, printf,
// println, html, js or urlquery would make a string past that limit
// (printf refuses '*' widths, which the check cannot bound). Its errors
// never hold the data: they give the place in the template and a message
// made of template text and Go type names only.
package tmpl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/template/parse"
)

// Func is a template function of one string argument. Its result must be
// one of the types listed in the package documentation, and its error's
// text is put in execution errors as it is, so it must not hold data.
type Func func(string) (any, error)

// Template is a parsed template with the templates it defines.
type Template struct {
	name  string
	trees map[string]*parse.Tree
	funcs map[string]Func
}

// Parse parses text as the template name, with funcs added to the builtins
// (a function in funcs hides a builtin of the same name). Its errors are
// text/template/parse's: they quote the template text, never data.
func Parse(name, text string, funcs map[string]Func) (*Template, error) {
	known := make(map[string]any, len(builtinNames)+len(funcs))
	for _, n := range builtinNames {
		known[n] = true
	}
	for n := range funcs {
		known[n] = true
	}
	trees, err := parse.Parse(name, text, "", "", known)
	if err != nil {
		return nil, err
	}
	return &Template{name: name, trees: trees, funcs: funcs}, nil
}

// Execute runs the template with data as dot and returns its output. It
// stops when ctx is done and when the output, or a string that a builtin
// would make, passes maxBytes bytes. On error there is no output.
func (t *Template) Execute(ctx context.Context, data map[string]string, maxBytes int64) (out []byte, err error) {
	tree := t.trees[t.name]
	if tree == nil || tree.Root == nil {
		return nil, fmt.Errorf("template: %q is an incomplete or empty template", t.name)
	}
	s := &state{
		ctx:  ctx,
		tmpl: t,
		tree: tree,
		out:  &output{max: maxBytes},
		vars: []variable{{"$", data}},
	}
	defer func() {
		// Not expected; but a bug must not take the process down, and the
		// panic value could hold data.
		if r := recover(); r != nil {
			out, err = nil, errors.New("template: execution failed unexpectedly (internal error)")
		}
	}()
	if _, err := s.walk(data, tree.Root); err != nil {
		return nil, err
	}
	return s.out.buf.Bytes(), nil
}

// ExecError is an execution error. Its text is built from the template text
// and Go type names, and from Err.
type ExecError struct {
	Name     string // the template executing (the top one or a defined one)
	Location string // NAME:LINE:COLUMN in the template text
	Context  string // the node that failed, as template text
	Msg      string // what failed
	Err      error  // the cause, or nil: a function's error, a *LimitError, or the context's cause
}

func (e *ExecError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "template: %s: executing %q at <%s>: %s", e.Location, e.Name, e.Context, e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *ExecError) Unwrap() error { return e.Err }

// ErrUnbounded reports a printf format with a '*' width or precision,
// whose output size cannot be bounded before it is made.
var ErrUnbounded = errors.New("a '*' width or precision is not supported")

// LimitError reports output, or a string that a builtin would make, larger
// than the limit given to Execute.
type LimitError struct {
	What string // "output", or "result" for a builtin's result
	Max  int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s would be larger than the %d-byte limit", e.What, e.Max)
}

package render

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"text/template"

	"github.com/ecs-secret-injector/injector/internal/strictjson"
)

// templateName is the name of the top-level template in error locations.
const templateName = "main"

// minScrubLen is the shortest input value that is searched for in an error
// message as a last line of defence; shorter values would match by chance.
const minScrubLen = 4

// Template executes Go text/template text over named inputs.
//
// The data is a map from input name to the input's value as a string, so
// {{ .db }} is the raw value of input "db" (use {{ index . "my-db" }} for
// names that are not identifiers). Missing keys are errors
// (missingkey=error), also inside values returned by json. Functions:
//
//	json   parses its argument as one JSON value with the strict decoder
//	       (a duplicate key or invalid UTF-8 is an error); numbers keep
//	       their exact text (json.Number), e.g. {{ (json .db).password }}
//	b64enc standard base64 with padding
//	b64dec standard base64, padded or not
//	trim   strings.TrimSpace
//
// Execution is bounded: it stops when ctx is done (the run's timeout, or a
// signal), and when the output, or a string that printf, print, println,
// html, js, urlquery or b64enc would make, passes maxBytes. text/template
// cannot be interrupted, so a template that loops without writing is left
// running in its goroutine and Template returns at once; the process is
// about to exit with an error.
//
// The template text is not secret, so parse errors are reported as they are.
// Execution errors are reduced to their location in the template plus a
// detail taken from a list of messages that cannot contain data; any other
// detail is withheld, because text/template formats some values into its
// messages (for example "range can't iterate over <value>").
// On error no partial output is returned.
func Template(ctx context.Context, text string, inputs map[string][]byte, maxBytes int64) ([]byte, error) {
	b := &budget{ctx: ctx, max: maxBytes}
	tmpl, err := template.New(templateName).
		Option("missingkey=error").
		Funcs(templateFuncs(b)).
		Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%w: parse: %w", ErrTemplate, err)
	}
	data := make(map[string]string, len(inputs))
	for name, v := range inputs {
		data[name] = string(v)
	}
	out := &boundedWriter{budget: b}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- errors.New("template execution panicked")
			}
		}()
		done <- tmpl.Execute(out, data)
	}()
	select {
	case err := <-done:
		if err != nil {
			return nil, execError(err, inputs)
		}
		return out.buf.Bytes(), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: stopped before it finished: %w", ErrTemplate, context.Cause(ctx))
	}
}

// funcError is returned by the template functions; its text never contains
// the function's argument.
type funcError struct {
	fn  string
	msg string
}

func (e *funcError) Error() string { return e.fn + ": " + e.msg }

func templateFuncs(b *budget) template.FuncMap {
	return template.FuncMap{
		"json":   guard(b, "json", jsonFunc),
		"b64enc": b.b64enc,
		"b64dec": guard(b, "b64dec", b64decFunc),
		"trim":   guard(b, "trim", func(s string) (string, error) { return strings.TrimSpace(s), nil }),
		// The builtins that make strings, bounded (the escapers grow their
		// input at most 6, 10 and 3 times).
		"printf":   b.printf,
		"print":    b.bounded("print", 1, fmt.Sprint),
		"println":  b.bounded("println", 1, fmt.Sprintln),
		"html":     b.bounded("html", 6, template.HTMLEscaper),
		"js":       b.bounded("js", 10, template.JSEscaper),
		"urlquery": b.bounded("urlquery", 3, template.URLQueryEscaper),
	}
}

func jsonFunc(s string) (any, error) {
	v, err := strictjson.Decode([]byte(s))
	if err != nil {
		return nil, &funcError{fn: "json", msg: "argument is not valid JSON: " + err.Error()}
	}
	return v, nil
}

func b64decFunc(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return "", &funcError{fn: "b64dec", msg: "argument is not valid base64"}
	}
	return string(b), nil
}

// splitExecMessage splits a text/template execution message
//
//	template: NAME:LINE:COL: executing "NAME" at <NODE>: DETAIL
//
// into its location (built from template text only) and its detail. If NODE
// itself contains ">: " the split comes early and the detail then fails the
// allow-list, which only errs towards withholding.
func splitExecMessage(msg string) (location, detail string, ok bool) {
	if !strings.HasPrefix(msg, "template: ") {
		return "", "", false
	}
	i := strings.Index(msg, `: executing "`)
	if i < 0 {
		return "", "", false
	}
	j := strings.Index(msg[i:], `" at <`)
	if j < 0 {
		return "", "", false
	}
	k := strings.Index(msg[i+j:], ">: ")
	if k < 0 {
		return "", "", false
	}
	end := i + j + k + 1
	return msg[:end], msg[end+2:], true
}

// execError converts a text/template execution error into one that cannot
// carry input data.
func execError(err error, inputs map[string][]byte) error {
	msg := err.Error()
	location, detail, ok := splitExecMessage(msg)
	if !ok {
		location, detail = "template: "+templateName, strings.TrimPrefix(msg, "template: "+templateName+": ")
	}
	var fe *funcError
	var out error
	switch {
	case errors.As(err, &fe):
		out = fmt.Errorf("%w: %s: %w", ErrTemplate, location, fe)
	case isSafeExecDetail(detail):
		out = fmt.Errorf("%w: %s: %s", ErrTemplate, location, detail)
	default:
		out = fmt.Errorf("%w: %s: execution failed (detail withheld: it may contain secret data)", ErrTemplate, location)
	}
	// Last line of defence: never let a known input value through.
	text := out.Error()
	for _, v := range inputs {
		for _, s := range [][]byte{v, bytes.TrimSpace(v)} {
			if len(s) >= minScrubLen && strings.Contains(text, string(s)) {
				return fmt.Errorf("%w: execution failed (detail withheld: it may contain secret data)", ErrTemplate)
			}
		}
	}
	return out
}

// isSafeExecDetail reports whether a text/template execution detail is one
// of the messages that are built only from template text and Go type names.
func isSafeExecDetail(d string) bool {
	if strings.ContainsAny(d, "\n\r") {
		return false
	}
	for _, p := range []string{
		"map has no entry for key ", // key from template text
		"can't evaluate field ",     // field from template text, type name
		"nil pointer evaluating ",
		"wrong number of args for ",
		"wrong type for value; expected ",
		"invalid value; expected ",
		"can't give argument to non-function ",
		"undefined variable: ",
		"exceeded maximum template depth ",
	} {
		if strings.HasPrefix(d, p) {
			return true
		}
	}
	if strings.HasPrefix(d, `template "`) && strings.HasSuffix(d, `" not defined`) {
		return true
	}
	if rest, ok := strings.CutPrefix(d, "error calling "); ok {
		_, why, ok := strings.Cut(rest, ": ")
		if !ok {
			return false
		}
		for _, p := range []string{
			"incompatible types for comparison",
			"invalid type for comparison",
			"missing argument for comparison",
			"len of type ",
			"len of nil pointer",
			"can't index item of type ",
			"cannot index slice/array with type ",
			"cannot index slice/array with nil",
			"index of untyped nil",
			"index of nil pointer",
			"can't slice item of type ",
			"slice of untyped nil",
			"slice of nil pointer",
			"cannot 3-index slice a string",
		} {
			if strings.HasPrefix(why, p) {
				return true
			}
		}
	}
	return false
}

package formats

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/ecs-secret-injector/injector/internal/strictjson"
	"github.com/ecs-secret-injector/injector/internal/tmpl"
)

// Template writes the output of Go text/template text over named inputs.
const Template Name = "template"

func init() { add(Template, templateFormat{}) }

type templateFormat struct{ base }

func (templateFormat) Doc() string { return "Go text/template over named inputs" }

func (templateFormat) Fields() Fields { return Fields{Template: true} }

// Inputs are the item's named inputs and its from reference, as "value".
func (templateFormat) Inputs(it Item) (map[string]string, error) {
	if it.Template == "" {
		return nil, fmt.Errorf("format %s needs template text", it.Format)
	}
	if it.From == "" && len(it.Inputs) == 0 {
		return nil, fmt.Errorf("format %s needs from or inputs", it.Format)
	}
	named := make(map[string]string, len(it.Inputs)+1)
	for k, v := range it.Inputs {
		if !isInputName(k) || k == "value" {
			return nil, fmt.Errorf("input name %q must be an identifier other than value", k)
		}
		named[k] = v
	}
	if it.From != "" {
		named["value"] = it.From
	}
	return named, nil
}

func (templateFormat) Render(s Source) ([]File, error) {
	return oneFile(s)(RenderTemplate(s.Ctx, s.Template, s.Inputs, s.MaxBytes))
}

// isInputName reports whether k is a template input's name: a letter or _,
// then letters, digits and _ (checked by hand: a regular expression would
// be compiled at every start-up).
func isInputName(k string) bool {
	for i := range len(k) {
		c := k[i]
		letter := c == '_' || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return k != ""
}

// templateName is the name of the top-level template in error locations.
const templateName = "main"

// minScrubLen is the shortest input value that is searched for in an error
// message as a last line of defence; shorter values would match by chance.
const minScrubLen = 4

// RenderTemplate executes Go text/template text over named inputs.
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
// The template runs in internal/tmpl, which gives text/template's output
// without linking its executor. Execution is bounded: it stops when ctx is
// done (the run's timeout, or a signal), and when the output, or a string
// that printf, print, println, html, js, urlquery or b64enc would make,
// passes maxBytes.
//
// The template text is not secret, so parse errors are reported as they are.
// Execution errors give their location in the template and a message made
// of template text and type names, never of data. On error no partial
// output is returned.
func RenderTemplate(ctx context.Context, text string, inputs map[string][]byte, maxBytes int64) ([]byte, error) {
	t, err := tmpl.Parse(templateName, text, templateFuncs(maxBytes))
	if err != nil {
		return nil, fmt.Errorf("%w: parse: %w", ErrTemplate, err)
	}
	data := make(map[string]string, len(inputs))
	for name, v := range inputs {
		data[name] = string(v)
	}
	out, err := t.Execute(ctx, data, maxBytes)
	if err != nil {
		return nil, execError(err, inputs)
	}
	return out, nil
}

// funcError is returned by the template functions; its text never contains
// the function's argument.
type funcError struct {
	fn  string
	msg string
}

func (e *funcError) Error() string { return e.fn + ": " + e.msg }

func templateFuncs(maxBytes int64) map[string]tmpl.Func {
	return map[string]tmpl.Func{
		"json": jsonFunc,
		"b64enc": func(s string) (any, error) {
			if int64(base64.StdEncoding.EncodedLen(len(s))) > maxBytes {
				return nil, &tmpl.LimitError{What: "result", Max: maxBytes}
			}
			return base64.StdEncoding.EncodeToString([]byte(s)), nil
		},
		"b64dec": b64decFunc,
		"trim":   func(s string) (any, error) { return strings.TrimSpace(s), nil },
	}
}

func jsonFunc(s string) (any, error) {
	v, err := strictjson.Decode([]byte(s))
	if err != nil {
		return nil, &funcError{fn: "json", msg: "argument is not valid JSON: " + err.Error()}
	}
	return v, nil
}

func b64decFunc(s string) (any, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, &funcError{fn: "b64dec", msg: "argument is not valid base64"}
	}
	return string(b), nil
}

// execError wraps an execution error, naming the setting behind a size
// limit. Its text is template text and type names only; as a last line of
// defence it is withheld if it holds an input value anyway.
func execError(err error, inputs map[string][]byte) error {
	out := fmt.Errorf("%w: %w", ErrTemplate, err)
	if _, ok := errors.AsType[*tmpl.LimitError](err); ok {
		out = fmt.Errorf("%w: %w (INJECTOR_MAX_VALUE_BYTES)", ErrTemplate, err)
	}
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

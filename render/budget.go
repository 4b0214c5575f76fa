package render

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"reflect"
)

// budget bounds one template execution: its context (the run's timeout or a
// signal), and the size of its output and of each string it makes.
type budget struct {
	ctx context.Context
	max int64
}

func (b *budget) stopped(fn string) error {
	if b.ctx.Err() != nil {
		return &funcError{fn: fn, msg: "stopped: " + context.Cause(b.ctx).Error()}
	}
	return nil
}

func (b *budget) limitError(fn string) error {
	return &funcError{fn: fn, msg: fmt.Sprintf("result would be larger than the %d-byte limit (INJECTOR_MAX_VALUE_BYTES)", b.max)}
}

// guard wraps a one-argument template function so that it refuses to run
// once the context is done.
func guard[T any](b *budget, fn string, f func(string) (T, error)) func(string) (T, error) {
	return func(s string) (T, error) {
		if err := b.stopped(fn); err != nil {
			var zero T
			return zero, err
		}
		return f(s)
	}
}

// bounded wraps a function that formats its arguments into a string (print,
// println, html, js, urlquery): it refuses to run when the result could pass
// the budget, estimated as growth times the printed size of the arguments,
// so that no oversized string is ever allocated.
func (b *budget) bounded(fn string, growth int64, f func(...any) string) func(...any) (string, error) {
	return func(args ...any) (string, error) {
		if err := b.stopped(fn); err != nil {
			return "", err
		}
		if growth*(sizeOf(args)+16) > b.max {
			return "", b.limitError(fn)
		}
		return f(args...), nil
	}
}

// b64enc is base64 with padding, bounded.
func (b *budget) b64enc(s string) (string, error) {
	if err := b.stopped("b64enc"); err != nil {
		return "", err
	}
	if int64(base64.StdEncoding.EncodedLen(len(s))) > b.max {
		return "", b.limitError("b64enc")
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

// printf is fmt.Sprintf, bounded: the format's widths and precisions plus
// the printed size of the arguments must fit the budget. fmt itself refuses
// widths over a million, but many such verbs would still add up; widths
// taken from arguments ('*') are refused.
func (b *budget) printf(format string, args ...any) (string, error) {
	if err := b.stopped("printf"); err != nil {
		return "", err
	}
	pad, ok := formatPadding(format)
	if !ok {
		return "", &funcError{fn: "printf", msg: "a '*' width or precision is not supported"}
	}
	if pad+int64(len(format))+sizeOf(args)+16 > b.max {
		return "", b.limitError("printf")
	}
	return fmt.Sprintf(format, args...), nil
}

// formatPadding adds up the widths and precisions written in a fmt format.
// It reports false for a '*' (a width or precision taken from an argument).
func formatPadding(format string) (int64, bool) {
	var total int64
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
	verb:
		for i++; i < len(format); i++ {
			c := format[i]
			switch {
			case c == '*':
				return 0, false
			case c >= '0' && c <= '9':
				var n int64
				for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
					n = min(n*10+int64(format[i]-'0'), 1<<40)
				}
				i--
				total += n
				continue
			case c == '[':
				// An argument index: its digits are not a width.
				for i < len(format) && format[i] != ']' {
					i++
				}
				continue
			case c == '+' || c == '-' || c == '#' || c == ' ' || c == '.':
				continue
			}
			break verb // the verb, or '%' of "%%"
		}
	}
	return total, true
}

// sizeOf bounds from above the bytes fmt prints for values (with %v or %s):
// the length of strings and byte slices (four bytes a byte, as in
// "[255 255]"), the sum over containers, and 32 for any other value.
func sizeOf(values []any) int64 {
	var n int64
	for _, v := range values {
		n += sizeOfValue(reflect.ValueOf(v), 0)
	}
	return n
}

func sizeOfValue(v reflect.Value, depth int) int64 {
	if !v.IsValid() || depth > 100 {
		return 32
	}
	switch v.Kind() {
	case reflect.String:
		return int64(v.Len()) + 2
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return 4*int64(v.Len()) + 2
		}
		n := int64(2)
		for i := range v.Len() {
			n += sizeOfValue(v.Index(i), depth+1) + 1
		}
		return n
	case reflect.Map:
		n := int64(5)
		for it := v.MapRange(); it.Next(); {
			n += sizeOfValue(it.Key(), depth+1) + sizeOfValue(it.Value(), depth+1) + 2
		}
		return n
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return 32
		}
		return sizeOfValue(v.Elem(), depth+1)
	default:
		return 32
	}
}

// boundedWriter collects template output up to the budget and fails the
// write that would pass it, or any write once the context is done; either
// ends the execution.
type boundedWriter struct {
	budget *budget
	buf    bytes.Buffer
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	if err := w.budget.stopped("output"); err != nil {
		return 0, err
	}
	if int64(w.buf.Len())+int64(len(p)) > w.budget.max {
		return 0, &funcError{fn: "output", msg: fmt.Sprintf("larger than the %d-byte limit (INJECTOR_MAX_VALUE_BYTES)", w.budget.max)}
	}
	return w.buf.Write(p)
}

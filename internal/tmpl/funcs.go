package tmpl

import (
	"encoding/json"
	"errors"
	"fmt"
)

// param is the kind of a function parameter, as text/template treats it.
type param int

const (
	none        param = iota // no parameter (no variadic part; the head of a chain)
	stringParam              // string: only a string, or a string constant
	anyParam                 // any (fmt's functions): a nil argument is nil
	valueParam               // reflect.Value (the other builtins): as anyParam, but a constant no type holds is nil
)

func (p param) String() string {
	switch p {
	case stringParam:
		return "string"
	case anyParam:
		return "interface {}"
	case valueParam:
		return "reflect.Value"
	}
	return "no type"
}

// function is a function a template can call.
type function struct {
	params   []param // fixed parameters
	variadic param   // the variadic parameter's kind, or none
	and, or  bool    // the short-circuit builtins; call is not used
	call     func(s *state, args []any) (any, error)
}

// builtinNames are the names builtin knows.
var builtinNames = [...]string{
	"and", "or", "not", "len", "index", "slice", "call",
	"eq", "ne", "lt", "le", "gt", "ge",
	"print", "printf", "println", "html", "js", "urlquery",
}

// builtin returns text/template's builtin function name.
func builtin(name string) (function, bool) {
	one := []param{valueParam}
	two := []param{valueParam, valueParam}
	compare := func(f func(a, b any) (bool, error)) function {
		return function{params: two, call: func(_ *state, a []any) (any, error) { return f(a[0], a[1]) }}
	}
	switch name {
	case "and":
		return function{params: one, variadic: valueParam, and: true}, true
	case "or":
		return function{params: one, variadic: valueParam, or: true}, true
	case "not":
		return function{params: one, call: func(_ *state, a []any) (any, error) { return !truth(a[0]), nil }}, true
	case "len":
		return function{params: one, call: func(_ *state, a []any) (any, error) { return length(a[0]) }}, true
	case "index":
		return function{params: one, variadic: valueParam, call: func(_ *state, a []any) (any, error) { return index(a[0], a[1:]) }}, true
	case "slice":
		return function{params: one, variadic: valueParam, call: func(_ *state, a []any) (any, error) { return slice(a[0], a[1:]) }}, true
	case "call":
		// Nothing in the data is a function.
		return function{params: one, variadic: valueParam, call: func(_ *state, a []any) (any, error) {
			if a[0] == nil {
				return nil, errors.New("call of nil")
			}
			return nil, fmt.Errorf("non-function of type %s", typeName(a[0]))
		}}, true
	case "eq":
		return function{params: one, variadic: valueParam, call: func(_ *state, a []any) (any, error) { return eq(a[0], a[1:]...) }}, true
	case "ne":
		return compare(func(a, b any) (bool, error) { e, err := eq(a, b); return !e, err }), true
	case "lt":
		return compare(lt), true
	case "le":
		return compare(le), true
	case "gt":
		return compare(func(a, b any) (bool, error) { v, err := le(a, b); return !v && err == nil, err }), true
	case "ge":
		return compare(func(a, b any) (bool, error) { v, err := lt(a, b); return !v && err == nil, err }), true
	case "print":
		return printer(1, sprint), true
	case "println":
		return printer(1, sprintln), true
	case "html":
		return printer(6, func(a []any) string { return htmlEscape(escaperArg(a)) }), true
	case "js":
		return printer(10, func(a []any) string { return jsEscape(escaperArg(a)) }), true
	case "urlquery":
		return printer(3, func(a []any) string { return queryEscape(escaperArg(a)) }), true
	case "printf":
		return function{params: []param{stringParam}, variadic: anyParam, call: func(s *state, a []any) (any, error) {
			return s.printf(a[0].(string), a[1:])
		}}, true
	}
	return function{}, false
}

// numberMethod returns json.Number's method name bound to n.
func numberMethod(n json.Number, name string) (function, bool) {
	var f func() (any, error)
	switch name {
	case "String":
		f = func() (any, error) { return n.String(), nil }
	case "Int64":
		f = func() (any, error) { i, err := n.Int64(); return parsed(i, err, "an int64") }
	case "Float64":
		f = func() (any, error) { x, err := n.Float64(); return parsed(x, err, "a float64") }
	default:
		return function{}, false
	}
	return function{call: func(*state, []any) (any, error) { return f() }}, true
}

// parsed is a json.Number method's result, with an error that does not
// quote the number (strconv's does).
func parsed[T int64 | float64](v T, err error, what string) (any, error) {
	if err != nil {
		return nil, errors.New("the number is not " + what)
	}
	return v, nil
}

// truth is text/template's truth: not the zero value of its type.
func truth(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		return v != ""
	case json.Number:
		return v != ""
	case int:
		return v != 0
	case int64:
		return v != 0
	case uint8:
		return v != 0
	case float64:
		return v != 0
	case complex128:
		return v != 0
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	case map[string]string:
		return len(v) > 0
	}
	return true
}

func length(v any) (int, error) {
	switch v := v.(type) {
	case string:
		return len(v), nil
	case json.Number:
		return len(v), nil
	case []any:
		return len(v), nil
	case map[string]any:
		return len(v), nil
	case map[string]string:
		return len(v), nil
	case nil:
		return 0, errors.New("len of nil")
	}
	return 0, fmt.Errorf("len of type %s", typeName(v))
}

// indexArg converts an index, which must be in [0, limit].
func indexArg(v any, limit int) (int, error) {
	var x int64
	switch v := v.(type) {
	case int:
		x = int64(v)
	case int64:
		x = v
	case uint8:
		x = int64(v)
	case nil:
		return 0, errors.New("cannot index slice/array with nil")
	default:
		return 0, fmt.Errorf("cannot index slice/array with type %s", typeName(v))
	}
	if x < 0 || x > int64(limit) {
		return 0, errors.New("index out of range") // no number: it may come from the data
	}
	return int(x), nil
}

// mapKey converts a map index, which must be a string.
func mapKey(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case nil:
		return "", errors.New("value is nil; should be of type string")
	}
	return "", fmt.Errorf("value has type %s; should be string", typeName(v))
}

// index is x[i][j]...; a missing map key gives the map's zero value.
func index(item any, indexes []any) (any, error) {
	if item == nil {
		return nil, errors.New("index of untyped nil")
	}
	for _, ix := range indexes {
		var err error
		switch it := item.(type) {
		case nil:
			return nil, errors.New("index of nil pointer")
		case []any:
			var i int
			if i, err = elementIndex(ix, len(it)); err == nil {
				item = it[i]
			}
		case string:
			var i int
			if i, err = elementIndex(ix, len(it)); err == nil {
				item = it[i]
			}
		case json.Number:
			var i int
			if i, err = elementIndex(ix, len(it)); err == nil {
				item = it[i]
			}
		case map[string]any:
			var k string
			k, err = mapKey(ix)
			item = it[k]
		case map[string]string:
			var k string
			k, err = mapKey(ix)
			item = it[k]
		default:
			return nil, fmt.Errorf("can't index item of type %s", typeName(item))
		}
		if err != nil {
			return nil, err
		}
	}
	return item, nil
}

// elementIndex converts the index of an element of a sequence of length n.
func elementIndex(ix any, n int) (int, error) {
	i, err := indexArg(ix, n)
	if err == nil && i == n {
		err = errors.New("index out of range")
	}
	return i, err
}

// slice is x[i:j] or x[i:j:k] of a string or slice.
func slice(item any, indexes []any) (any, error) {
	if item == nil {
		return nil, errors.New("slice of untyped nil")
	}
	if len(indexes) > 3 {
		return nil, fmt.Errorf("too many slice indexes: %d", len(indexes))
	}
	switch it := item.(type) {
	case string:
		return sliceString(it, indexes)
	case json.Number:
		return sliceString(it, indexes)
	case []any:
		b, err := sliceBounds(len(it), cap(it), indexes)
		if err != nil {
			return nil, err
		}
		if len(indexes) == 3 {
			return it[b[0]:b[1]:b[2]], nil
		}
		return it[b[0]:b[1]], nil
	}
	return nil, fmt.Errorf("can't slice item of type %s", typeName(item))
}

func sliceString[S ~string](s S, indexes []any) (any, error) {
	if len(indexes) == 3 {
		return nil, errors.New("cannot 3-index slice a string")
	}
	b, err := sliceBounds(len(s), len(s), indexes)
	if err != nil {
		return nil, err
	}
	return s[b[0]:b[1]], nil
}

// sliceBounds checks slice indexes: each at most capacity, and in order.
func sliceBounds(length, capacity int, indexes []any) ([3]int, error) {
	b := [3]int{0, length}
	for i, ix := range indexes {
		var err error
		if b[i], err = indexArg(ix, capacity); err != nil {
			return b, err
		}
	}
	if b[0] > b[1] || len(indexes) == 3 && b[1] > b[2] {
		return b, errors.New("invalid slice index") // no numbers: they may come from the data
	}
	return b, nil
}

// basicKind classifies values for comparison as text/template does.
type basicKind int

const (
	otherKind basicKind = iota // nil, maps and slices
	boolKind
	complexKind
	intKind
	floatKind
	stringKind
	uintKind
)

func kindOf(v any) basicKind {
	switch v.(type) {
	case bool:
		return boolKind
	case complex128:
		return complexKind
	case int, int64:
		return intKind
	case float64:
		return floatKind
	case string, json.Number:
		return stringKind
	case uint8:
		return uintKind
	}
	return otherKind
}

func intOf(v any) int64 {
	if i, ok := v.(int); ok {
		return int64(i)
	}
	return v.(int64)
}

func stringOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return string(v.(json.Number))
}

var (
	errBadComparisonType = errors.New("invalid type for comparison")
	errNoComparison      = errors.New("missing argument for comparison")
)

// eq reports whether a equals any of bs.
func eq(a any, bs ...any) (bool, error) {
	if len(bs) == 0 {
		return false, errNoComparison
	}
	ka := kindOf(a)
	for _, b := range bs {
		kb := kindOf(b)
		equal := false
		switch {
		case ka == intKind && kb == uintKind:
			equal = intOf(a) >= 0 && uint64(intOf(a)) == uint64(b.(uint8))
		case ka == uintKind && kb == intKind:
			equal = intOf(b) >= 0 && uint64(a.(uint8)) == uint64(intOf(b))
		case ka != kb:
			if a != nil && b != nil {
				return false, fmt.Errorf("incompatible types for comparison: %s and %s", typeName(a), typeName(b))
			}
		case ka == otherKind:
			// Maps and slices compare only with nil.
			if a != nil && b != nil {
				return false, fmt.Errorf("non-comparable types %s and %s", typeName(a), typeName(b))
			}
			equal = a == nil && b == nil
		case ka == intKind:
			equal = intOf(a) == intOf(b)
		case ka == stringKind:
			equal = stringOf(a) == stringOf(b)
		default: // bool, float64, complex128, uint8: the same type
			equal = a == b
		}
		if equal {
			return true, nil
		}
	}
	return false, nil
}

// lt reports whether a < b.
func lt(a, b any) (bool, error) {
	ka, kb := kindOf(a), kindOf(b)
	if ka == otherKind || kb == otherKind {
		return false, errBadComparisonType
	}
	switch {
	case ka == intKind && kb == uintKind:
		return intOf(a) < 0 || uint64(intOf(a)) < uint64(b.(uint8)), nil
	case ka == uintKind && kb == intKind:
		return intOf(b) >= 0 && uint64(a.(uint8)) < uint64(intOf(b)), nil
	case ka != kb:
		return false, fmt.Errorf("incompatible types for comparison: %s and %s", typeName(a), typeName(b))
	}
	switch ka {
	case intKind:
		return intOf(a) < intOf(b), nil
	case floatKind:
		return a.(float64) < b.(float64), nil
	case stringKind:
		return stringOf(a) < stringOf(b), nil
	case uintKind:
		return a.(uint8) < b.(uint8), nil
	}
	return false, errBadComparisonType // bool, complex
}

// le reports whether a <= b.
func le(a, b any) (bool, error) {
	if less, err := lt(a, b); less || err != nil {
		return less, err
	}
	return eq(a, b)
}

// printer is a builtin that formats its arguments into a string that can
// be growth times as long as their printed size.
func printer(growth int64, f func([]any) string) function {
	return function{variadic: anyParam, call: func(s *state, a []any) (any, error) {
		if growth*(sizeOf(a)+16) > s.out.max {
			return nil, &LimitError{What: "result", Max: s.out.max}
		}
		return f(a), nil
	}}
}

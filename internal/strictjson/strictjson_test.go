package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name, in string
		want     any
	}{
		{"string", `"a\"b\\c\/d\b\f\n\r\t"`, "a\"b\\c/d\b\f\n\r\t"},
		{"unicode escapes", `"\u00e9\u20AC\ud83d\udd11"`, "é€🔑"},
		{"raw UTF-8", `"密码🔑"`, "密码🔑"},
		{"NUL escape", `"a\u0000b"`, "a\x00b"},
		{"numbers keep their text", `[0, -0, 1.50, 1e400, 12345678901234567890, -2.5E-3]`,
			[]any{json.Number("0"), json.Number("-0"), json.Number("1.50"), json.Number("1e400"), json.Number("12345678901234567890"), json.Number("-2.5E-3")}},
		{"literals", `[true,false,null]`, []any{true, false, nil}},
		{"nested", " {\"a\": {\"b\": [1, {}], \"c\": []}}\n", map[string]any{"a": map[string]any{"b": []any{json.Number("1"), map[string]any{}}, "c": []any{}}}},
		{"same key in different objects", `[{"a":1},{"a":2}]`, []any{map[string]any{"a": json.Number("1")}, map[string]any{"a": json.Number("2")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	const secret = "hunter2-secret"
	tests := []struct {
		name, in string
		want     error
		mention  []string
	}{
		{"empty", "  \n", ErrInvalid, []string{"empty"}},
		{"duplicate key", `{"password":"A","password":"B"}`, ErrDuplicateKey, []string{`"password"`, "offset 16"}},
		{"nested duplicate key", `{"db":[{"user":"` + secret + `","user":"x"}]}`, ErrDuplicateKey, []string{`"user"`, "db[0]"}},
		{"escaped duplicate key", `{"a":1,"\u0061":2}`, ErrDuplicateKey, []string{`"a"`}},
		{"invalid UTF-8", "{\"p\":\"" + secret + "\xff\"}", ErrInvalid, []string{"UTF-8", "in p"}},
		{"overlong UTF-8", "\"\xc0\xaf\"", ErrInvalid, []string{"UTF-8"}},
		{"UTF-8 surrogate bytes", "\"\xed\xa0\x80\"", ErrInvalid, []string{"UTF-8"}},
		{"lone high surrogate", `"` + secret + `\ud800"`, ErrInvalid, []string{"surrogate"}},
		{"lone low surrogate", `"\udc00"`, ErrInvalid, []string{"surrogate"}},
		{"high surrogate then other", `"\ud800\u0041"`, ErrInvalid, []string{"surrogate"}},
		{"control character", "\"a\nb\"", ErrInvalid, []string{"control character"}},
		{"bad escape", `"\x41"`, ErrInvalid, []string{"escape"}},
		{"bad hex", `"\u00zz"`, ErrInvalid, []string{"escape"}},
		{"trailing data", `{"a":"` + secret + `"} {"b":1}`, ErrInvalid, []string{"trailing data after the JSON value"}},
		{"truncated", `{"a":"` + secret, ErrInvalid, []string{"end of input"}},
		{"truncated escape", `"\u00`, ErrInvalid, []string{"end of input"}},
		{"not JSON", secret, ErrInvalid, []string{"want a JSON value", "offset 0"}},
		{"leading zero", `01`, ErrInvalid, []string{"after the JSON value"}},
		{"bare minus", `-`, ErrInvalid, []string{"end of input"}},
		{"no fraction digits", `1.`, ErrInvalid, []string{"end of input"}},
		{"no exponent digits", `1e+x`, ErrInvalid, []string{"exponent"}},
		{"single quotes", `{'a':1}`, ErrInvalid, []string{"object key"}},
		{"trailing comma", `[1,]`, ErrInvalid, []string{"want a JSON value"}},
		{"missing colon", `{"a" 1}`, ErrInvalid, []string{"':'"}},
		{"missing comma", `{"a":1 "b":2}`, ErrInvalid, []string{"',' or '}'"}},
		{"too deep", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), ErrInvalid, []string{"nested deeper"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Decode([]byte(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v (value %v), want %v", err, v, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err is %T, not *Error", err)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if strings.Contains(err.Error(), "hunter") || strings.Contains(err.Error(), `"B"`) {
				t.Errorf("error quotes the value: %v", err)
			}
			if _, terr := Tree([]byte(tt.in)); terr == nil || terr.Error() != err.Error() {
				t.Errorf("Tree err = %v, Decode err = %v", terr, err)
			}
		})
	}
}

func TestObject(t *testing.T) {
	members, err := Object([]byte(`{"s": "a\u00e9", "n": 1.0e2, "o": { "x" : [ 1 , "y z" ] }, "z": null}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ key, text string }{{"s", "aé"}, {"n", "1.0e2"}, {"o", `{"x":[1,"y z"]}`}, {"z", "null"}}
	if len(members) != len(want) {
		t.Fatalf("%d members, want %d", len(members), len(want))
	}
	for i, m := range members {
		if m.Key != want[i].key || string(m.Text()) != want[i].text {
			t.Errorf("member %d = %q: %q, want %q: %q", i, m.Key, m.Text(), want[i].key, want[i].text)
		}
	}
	for in, kind := range map[string]string{`["a"]`: "an array", `"s"`: "a string", `42`: "a number", `null`: "null", `true`: "a boolean"} {
		_, err := Object([]byte(in))
		if !errors.Is(err, ErrNotObject) || !strings.Contains(err.Error(), kind) {
			t.Errorf("Object(%s) = %v, want ErrNotObject naming %s", in, err, kind)
		}
	}
	// A document that is not valid is invalid before it is not an object.
	if _, err := Object([]byte(`["a",]`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid array: %v", err)
	}
	if _, err := Object([]byte(`{"a":1}x`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("trailing data: %v", err)
	}
}

func TestFormatPath(t *testing.T) {
	if got := FormatPath([]any{1, "path", "a b", 0}); got != `[1].path["a b"][0]` {
		t.Errorf("got %s", got)
	}
	if got := FormatPath([]any{"db", "x"}); got != "db.x" {
		t.Errorf("got %s", got)
	}
}

// FuzzDecode checks the decoder against encoding/json: what it accepts,
// encoding/json reads the same; what encoding/json accepts, it accepts too,
// unless the document has a duplicate key, invalid UTF-8 or a lone surrogate
// escape, which encoding/json would change silently.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"a":"b","c":[1,2.5e3,true,null]}`, `{"a":1,"a":2}`, "\"\xff\"", `"\ud800"`, `"\ud83d\udd11"`,
		`[]`, `{}`, ` 0 `, `-1.5E+2`, `"\u0000"`, `{"a":{"b":{"c":"d"}}}`, `[1,]`, `01`, `"a` + "\x01" + `"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Decode(data)
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var want any
		stdErr := dec.Decode(&want)
		stdValid := json.Valid(data)
		if err == nil {
			if !stdValid || stdErr != nil {
				t.Fatalf("accepted what encoding/json refuses: %v", stdErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded %#v, encoding/json %#v", got, want)
			}
			checkObject(t, data, got)
			checkTree(t, data, got)
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T", err)
		}
		if _, terr := Tree(data); terr == nil || terr.Error() != err.Error() {
			t.Fatalf("Tree err = %v, Decode err = %v", terr, err)
		}
		if !utf8.ValidString(err.Error()) {
			t.Fatalf("error text is not UTF-8")
		}
		if stdValid && errors.Is(err, ErrInvalid) && utf8.Valid(data) &&
			!strings.Contains(e.Msg, "surrogate") && !strings.Contains(e.Msg, "nested deeper") {
			t.Fatalf("refused valid JSON: %v", err)
		}
	})
}

func checkObject(t *testing.T, data []byte, decoded any) {
	t.Helper()
	members, err := Object(data)
	obj, isObj := decoded.(map[string]any)
	if !isObj {
		if !errors.Is(err, ErrNotObject) {
			t.Fatalf("Object of a non-object: %v", err)
		}
		return
	}
	if err != nil || len(members) != len(obj) {
		t.Fatalf("Object: %d members, %v; Decode: %d", len(members), err, len(obj))
	}
	for _, m := range members {
		if !reflect.DeepEqual(m.Value, obj[m.Key]) {
			t.Fatalf("member %q differs", m.Key)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, m.Raw); err != nil {
			t.Fatalf("member %q raw text: %v", m.Key, err)
		}
		if _, isStr := m.Value.(string); !isStr && !bytes.Equal(buf.Bytes(), m.Text()) {
			t.Fatalf("member %q text %q, json.Compact %q", m.Key, m.Text(), buf.Bytes())
		}
	}
}

func TestMarshal(t *testing.T) {
	got, err := Marshal(map[string]string{"k": "<a&b>"}, "")
	if err != nil || string(got) != `{"k":"<a&b>"}` {
		t.Fatalf("Marshal = %q, %v", got, err)
	}
	got, err = Marshal(map[string]string{"k": "v"}, "  ")
	if err != nil || string(got) != "{\n  \"k\": \"v\"\n}" {
		t.Fatalf("Marshal indented = %q, %v", got, err)
	}
}

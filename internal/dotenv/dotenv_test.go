package dotenv

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// allBytes is every byte but NUL, in order.
func allBytes() string {
	var b strings.Builder
	for c := 1; c < 256; c++ {
		b.WriteByte(byte(c))
	}
	return b.String()
}

func TestAppendAssignment(t *testing.T) {
	tests := []struct{ name, value, want string }{
		{"A", "", "A=''\n"},
		{"A", "x", "A='x'\n"},
		{"A", "it's", `A='it'\''s'` + "\n"},
		{"A", "'", `A=''\'''` + "\n"},
		{"A", "''", `A=''\'''\'''` + "\n"},
		{"A", "a\nb\n", "A='a\nb\n'\n"},
		{"A", `\'$x`, `A='\'\''$x'` + "\n"},
	}
	for _, tt := range tests {
		if got := string(AppendAssignment(nil, tt.name, []byte(tt.value))); got != tt.want {
			t.Errorf("AppendAssignment(%q) = %q, want %q", tt.value, got, tt.want)
		}
	}
}

func TestParseRoundTrip(t *testing.T) {
	values := []string{
		"", "plain", "'", "''", "it's", `'\''`, "a\nb", "\n", "\n\n'\n",
		"$HOME ${X} $(id) `id`", `\ \\ \n \' \"`, "trailing\\", "x\r\n",
		"pässwörd ✓ 🔑", "\xff\xfe\x80", "a=b==", "  spaced  ", "\t",
		allBytes(), strings.Repeat("'x\n", 50000),
	}
	var file []byte
	for i, v := range values {
		file = AppendAssignment(file, fmt.Sprintf("V%d", i), []byte(v))
	}
	vars, err := Parse(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(vars) != len(values) {
		t.Fatalf("got %d vars, want %d", len(vars), len(values))
	}
	for i, v := range vars {
		if want := fmt.Sprintf("V%d", i); v.Name != want {
			t.Errorf("var %d named %q, want %q", i, v.Name, want)
		}
		if v.Value != values[i] {
			t.Errorf("%s = %q, want %q", v.Name, v.Value, values[i])
		}
	}
	if vars, err := Parse(nil); err != nil || len(vars) != 0 {
		t.Errorf("empty file: %v, %v", vars, err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		reason   string
	}{
		{"empty line", "A='1'\n\nB='2'\n", 2, reasonEmptyLine},
		{"comment", "# secret\n", 1, reasonComment},
		{"export", "export A='1'\n", 1, reasonExport},
		{"export tab", "export\tA='1'\n", 1, reasonExport},
		{"no equals", "A='1'\nSECRET\n", 2, reasonName},
		{"no equals at end", "SECRET", 1, reasonName},
		{"space before equals", "A ='1'\n", 1, reasonName},
		{"dash", "A-B='1'\n", 1, reasonName},
		{"leading digit", "1A='1'\n", 1, reasonName},
		{"empty name", "='1'\n", 1, reasonName},
		{"newline before equals", "A\n='1'\n", 1, reasonName},
		{"non-ASCII name", "É='1'\n", 1, reasonName},
		{"special", "UID='1'\n", 1, reasonSpecial},
		{"underscore", "_='1'\n", 1, reasonSpecial},
		{"unquoted", "A=secret\n", 1, reasonUnquoted},
		{"unquoted empty", "A=\n", 1, reasonUnquoted},
		{"double quoted", "A=\"secret\"\n", 1, reasonUnquoted},
		{"dollar", "A=$'x'\n", 1, reasonUnquoted},
		{"equals at end of file", "A=", 1, reasonUnquoted},
		{"unclosed", "A='1'\nB='line\nline\n", 4, reasonUnclosed},
		{"text after quote", "A='1'x\n", 1, reasonAfterQuote},
		{"second word", "A='1' B='2'\n", 1, reasonAfterQuote},
		{"comment after", "A='1' # c\n", 1, reasonAfterQuote},
		{"CRLF", "A='1'\r\n", 1, reasonAfterQuote},
		{"shell concatenation", "A='1'\"2\"\n", 1, reasonAfterQuote},
		{"non-canonical quote", "A='1'\\'\n", 1, reasonAfterQuote},
		{"after multi-line value", "A='a\nb'c\n", 2, reasonAfterQuote},
		{"no final newline", "A='1'", 1, reasonNoNewline},
		{"no final newline after quote", "A='1'\\''", 1, reasonUnclosed},
		{"NUL in value", "A='a\nb\x00'\n", 2, reasonNUL},
		{"NUL in name", "A\x00='1'\n", 1, reasonNUL},
		{"NUL as value", "A=\x00\n", 1, reasonNUL},
		{"duplicate", "A='1'\nB='2\n'\nA='3'\n", 4, fmt.Sprintf(reasonDuplicateFn, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars, err := Parse([]byte(tt.in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse = %v, %v; want a SyntaxError", vars, err)
			}
			if se.Line != tt.line || se.Reason != tt.reason {
				t.Errorf("got line %d %q, want line %d %q", se.Line, se.Reason, tt.line, tt.reason)
			}
			if vars != nil {
				t.Errorf("vars returned with the error")
			}
		})
	}
}

// reasons are the fixed texts a SyntaxError may carry.
var reasons = []string{reasonEmptyLine, reasonComment, reasonExport, reasonName, reasonSpecial,
	reasonUnquoted, reasonUnclosed, reasonAfterQuote, reasonNoNewline, reasonNUL}

// checkSyntaxError fails unless err is a SyntaxError with a fixed reason and a
// line inside data.
func checkSyntaxError(t *testing.T, data []byte, err error) {
	t.Helper()
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a SyntaxError", err)
	}
	if se.Line < 1 || se.Line > bytes.Count(data, []byte{'\n'})+1 {
		t.Fatalf("line %d outside the file", se.Line)
	}
	known := strings.HasPrefix(se.Reason, "the variable of line ")
	for _, r := range reasons {
		known = known || se.Reason == r
	}
	if !known {
		t.Fatalf("reason %q is not a fixed text", se.Reason)
	}
}

// FuzzParse: whatever Parse accepts, AppendAssignment writes again byte for
// byte (Parse accepts exactly the injector's syntax); whatever it refuses, it
// refuses with a fixed reason.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "A='1'\n", "A=''\\'''\n", "A='1'\nB='x\ny'\n", "export A=1\n",
		"A='1'", "A=\"1\"\n", "# c\n", "A='\x00'\n", "A='1'\nA='2'\n", "A='1'\\'\n", "UID='0'\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vars, err := Parse(data)
		if err != nil {
			checkSyntaxError(t, data, err)
			return
		}
		var again []byte
		for _, v := range vars {
			if !IsName(v.Name) || IsBashSpecial(v.Name) || strings.Contains(v.Value, "\x00") {
				t.Fatalf("Parse accepted a name or value the injector does not write")
			}
			again = AppendAssignment(again, v.Name, []byte(v.Value))
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("Parse accepted %q, which renders as %q", data, again)
		}
	})
}

// FuzzRoundTrip: AppendAssignment then Parse gives back every name and value
// the injector may write.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []struct{ k, v string }{
		{"A", ""}, {"A", "'"}, {"A", "it's"}, {"A", "\n"}, {"A", "$HOME`id`\\"}, {"_x1", "ünï ✓"},
		{"B", "'\n'\\''"}, {"C", "\xff\xfe"}, {"D", "\r\n\t "}, {"E", "'\\''"},
	} {
		f.Add(s.k, s.v, "second")
	}
	f.Fuzz(func(t *testing.T, name, value, second string) {
		if !IsName(name) || IsBashSpecial(name) || name == "Z" || strings.ContainsRune(value+second, 0) {
			return
		}
		file := AppendAssignment(nil, name, []byte(value))
		file = AppendAssignment(file, "Z", []byte(second))
		vars, err := Parse(file)
		if err != nil {
			t.Fatalf("Parse(%q): %v", file, err)
		}
		if len(vars) != 2 || vars[0] != (Var{name, value}) || vars[1] != (Var{"Z", second}) {
			t.Fatalf("Parse(%q) = %q", file, vars)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	var file []byte
	for i := range 200 {
		file = AppendAssignment(file, fmt.Sprintf("VAR_%d", i), []byte(strings.Repeat("it's a\nvalue ", 20)))
	}
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if _, err := Parse(file); err != nil {
			b.Fatal(err)
		}
	}
}

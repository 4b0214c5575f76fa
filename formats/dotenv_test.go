package formats

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// bashSource writes dotenv to a file, sources it in bash with
// `set -a; . file; set +a` and returns the value of each key, read back with
// printf '%s\0'. It fails the test if bash writes anything to stderr.
func bashSource(t testing.TB, dotenv []byte, locale string, keys ...string) map[string]string {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	file := filepath.Join(t.TempDir(), "secrets.env")
	if err := os.WriteFile(file, dotenv, 0o600); err != nil {
		t.Fatal(err)
	}
	const script = `set -a; . "$1"; set +a; shift; for k in "$@"; do printf '%s\0' "${!k}"; done`
	cmd := exec.Command(bash, append([]string{"-c", script, "_", file}, keys...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=" + locale}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bash: %v; stderr: %s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Fatalf("bash wrote to stderr: %s", stderr.String())
	}
	parts := strings.Split(stdout.String(), "\x00")
	if len(parts) != len(keys)+1 || parts[len(keys)] != "" {
		t.Fatalf("bash printed %d NUL-terminated values, want %d", len(parts)-1, len(keys))
	}
	got := make(map[string]string, len(keys))
	for i, k := range keys {
		got[k] = parts[i]
	}
	return got
}

// parseSingleQuoted is an independent Go reading of the dotenv output: lines
// KEY=WORD where WORD is only a sequence of '...' (every byte literal up to the
// next ') and \' (a literal '), exactly the subset of sh quoting Dotenv may
// use. Anything else (an unquoted byte that a shell could interpret) is an
// error, so the parser also checks that the output stays in that subset.
func parseSingleQuoted(data []byte) (map[string]string, []string, error) {
	vals := make(map[string]string)
	var order []string
	for len(data) > 0 {
		eq := bytes.IndexByte(data, '=')
		if eq < 0 {
			return nil, nil, errors.New("line without '='")
		}
		key := string(data[:eq])
		if !isShellIdentifier(key) {
			return nil, nil, fmt.Errorf("bad key %q", key)
		}
		data = data[eq+1:]
		var val []byte
		for done := false; !done; {
			if len(data) == 0 {
				return nil, nil, errors.New("missing final newline")
			}
			switch data[0] {
			case '\'':
				end := bytes.IndexByte(data[1:], '\'')
				if end < 0 {
					return nil, nil, errors.New("unterminated single quote")
				}
				val = append(val, data[1:1+end]...)
				data = data[end+2:]
			case '\\':
				if len(data) < 2 || data[1] != '\'' {
					return nil, nil, errors.New("backslash not followed by '")
				}
				val = append(val, '\'')
				data = data[2:]
			case '\n':
				data = data[1:]
				done = true
			default:
				return nil, nil, fmt.Errorf("unquoted byte %q", data[0])
			}
		}
		if _, dup := vals[key]; dup {
			return nil, nil, fmt.Errorf("key %q twice", key)
		}
		vals[key] = string(val)
		order = append(order, key)
	}
	return vals, order, nil
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDotenvBashRoundTrip(t *testing.T) {
	values := map[string]string{
		"EMPTY":            "",
		"PLAIN":            "hunter2",
		"SINGLE_QUOTE":     "it's",
		"ONLY_QUOTE":       "'",
		"QUOTES":           `'"''"'`,
		"DOUBLE_QUOTES":    `say "hi"`,
		"NEWLINES":         "line1\nline2\n\nline4",
		"TRAILING_NEWLINE": "value\n",
		"ONLY_NEWLINES":    "\n\n",
		"CRLF":             "a\r\nb\r",
		"DOLLAR_HOME":      "$HOME ${HOME} $(id) $((1+1)) $1 $@ $*",
		"BACKTICKS":        "`id` `echo pwned`",
		"BACKSLASHES":      `\ \\ \n \' \" \$ trailing\`,
		"SPACES":           "  leading and trailing  ",
		"TABS":             "\tx\t",
		"UNICODE":          "pässwörd ✓ 密码 🔑 \u200b",
		"LEADING_DASH":     "-n -e --help",
		"EQUALS":           "a=b==c=",
		"GLOB":             "* ? [a-z] ~ ~root",
		"SHELL_META":       "; & | < > ( ) { } ! # %",
		"HISTORY":          "!! !$ !-1",
		"PEM":              "-----BEGIN KEY-----\nMIIB+/=\n-----END KEY-----\n",
		"CONTROL":          "\x01\x02\x1b[31m\x7f",
		"lower_case":       "ok",
		"_UNDERSCORE1":     "x",
	}
	input := mustJSON(t, values)
	// Non-string values are written as compact JSON text.
	input = append(input[:len(input)-1], []byte(`,"NUMBER": 12.50e3 ,"BOOL":true,"NULL":null,"NESTED": { "a" : [1, "it's", {"b":null}] }}`)...)
	want := map[string]string{
		"NUMBER": "12.50e3",
		"BOOL":   "true",
		"NULL":   "null",
		"NESTED": `{"a":[1,"it's",{"b":null}]}`,
	}
	for k, v := range values {
		want[k] = v
	}

	out, err := RenderDotenv(input)
	if err != nil {
		t.Fatalf("Dotenv: %v", err)
	}
	parsed, order, err := parseSingleQuoted(out)
	if err != nil {
		t.Fatalf("output is not in the single-quote subset: %v\n%s", err, out)
	}
	if len(parsed) != len(want) {
		t.Errorf("got %d keys, want %d", len(parsed), len(want))
	}
	for i := 1; i < len(order); i++ {
		if order[i-1] >= order[i] {
			t.Errorf("keys not sorted: %q before %q", order[i-1], order[i])
		}
	}
	for _, locale := range []string{"C", "C.UTF-8"} {
		got := bashSource(t, out, locale, order...)
		for k, w := range want {
			if got[k] != w {
				t.Errorf("LC_ALL=%s: bash $%s = %q, want %q", locale, k, got[k], w)
			}
			if parsed[k] != w {
				t.Errorf("Go parser %s = %q, want %q", k, parsed[k], w)
			}
		}
	}
}

func TestDotenvFormat(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty object", `{}`, ""},
		{"sorted", `{"B":"2","A":"1","a":"3"}`, "A='1'\nB='2'\na='3'\n"},
		{"quote", `{"K":"it's"}`, "K='it'\\''s'\n"},
		{"empty value", `{"K":""}`, "K=''\n"},
		{"escaped JSON string", `{"K":"\u0041\n\"\\"}`, "K='A\n\"\\'\n"},
		{"number kept verbatim", `{"K":1e400}`, "K='1e400'\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RenderDotenv([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDotenvErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
		mention string // the error must name this
	}{
		{"not JSON", `KEY=value`, ErrInvalidJSON, "offset"},
		{"empty", ``, ErrInvalidJSON, "empty"},
		{"array", `["a"]`, ErrNotObject, "array"},
		{"string", `"a"`, ErrNotObject, "string"},
		{"trailing data", `{"A":"1"} {"B":"2"}`, ErrInvalidJSON, "after"},
		{"truncated", `{"A":"1"`, ErrInvalidJSON, ""},
		{"invalid UTF-8", "{\"A\":\"\xff\"}", ErrInvalidJSON, "UTF-8"},
		{"duplicate key", `{"A":"1","A":"2"}`, ErrDuplicateKey, `"A"`},
		{"dash", `{"MY-KEY":"v"}`, ErrInvalidKey, `"MY-KEY"`},
		{"leading digit", `{"1KEY":"v"}`, ErrInvalidKey, `"1KEY"`},
		{"empty key", `{"":"v"}`, ErrInvalidKey, `""`},
		{"dot", `{"a.b":"v"}`, ErrInvalidKey, `"a.b"`},
		{"space", `{"A B":"v"}`, ErrInvalidKey, `"A B"`},
		{"unicode key", `{"KÉY":"v"}`, ErrInvalidKey, `"KÉY"`},
		{"injection key", `{"A=1;id;B":"v"}`, ErrInvalidKey, `A=1;id;B`},
		{"readonly", `{"UID":"v"}`, ErrInvalidKey, `"UID"`},
		{"dynamic", `{"RANDOM":"v"}`, ErrInvalidKey, `"RANDOM"`},
		{"underscore", `{"_":"v"}`, ErrInvalidKey, `"_"`},
		{"NUL", `{"OK":"x","K":"a\u0000b"}`, ErrInvalidValue, `"K"`},
		{"NUL in nested", `{"K":["\u0000"]}`, nil, ""}, // JSON text escapes it: no NUL byte
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := RenderDotenv([]byte(tt.in))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if out != nil {
				t.Errorf("output %q returned with error", out)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}

// TestDotenvBashSpecialNames shows why Dotenv rejects these identifiers: bash
// does not give back a value assigned to them (or complains about it).
func TestDotenvBashSpecialNames(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	names := []string{"_", "BASHOPTS", "BASHPID", "BASH_ARGC", "BASH_ARGV", "BASH_COMMAND",
		"BASH_COMPAT", "BASH_LINENO", "BASH_SOURCE", "BASH_SUBSHELL", "BASH_VERSINFO",
		"BASH_XTRACEFD", "DIRSTACK", "EPOCHREALTIME", "EPOCHSECONDS", "EUID", "FUNCNAME",
		"GROUPS", "HISTCMD", "LINENO", "OPTIND", "PIPESTATUS", "PPID", "RANDOM", "SECONDS",
		"SHELLOPTS", "SRANDOM", "UID"}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			if _, err := RenderDotenv(mustJSON(t, map[string]string{name: "zz"})); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Dotenv accepted %s: %v", name, err)
			}
			file := filepath.Join(t.TempDir(), "env")
			if err := os.WriteFile(file, []byte(name+"='zz'\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bash, "-c", `set -a; . "$1"; set +a; printf %s "${!2}"`, "_", file, name)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			_ = cmd.Run()
			if stdout.String() == "zz" && stderr.Len() == 0 {
				t.Errorf("bash round-trips %s; it need not be rejected", name)
			}
		})
	}
	// Ordinary names that merely look special are accepted.
	for _, name := range []string{"PATH_SECRET", "HOME", "UID2", "_X", "user"} {
		if _, err := RenderDotenv(mustJSON(t, map[string]string{name: "v"})); err != nil {
			t.Errorf("Dotenv rejected %s: %v", name, err)
		}
	}
}

func FuzzDotenv(f *testing.F) {
	for _, s := range []struct{ k, v string }{
		{"A", ""}, {"A", "'"}, {"A", "it's"}, {"A", "\n"}, {"A", "$HOME`id`\\"},
		{"A", "a\x00b"}, {"A-B", "v"}, {"UID", "v"}, {"_x1", "ünï ✓"}, {"B", "'\n'\\''"},
		{"C", "\xff\xfe"}, {"D", "\r\n\t "},
	} {
		f.Add(s.k, s.v)
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		input := mustJSON(t, map[string]string{key: value})
		var decoded map[string]string // what the JSON really says (invalid UTF-8 becomes U+FFFD)
		if err := json.Unmarshal(input, &decoded); err != nil {
			t.Fatal(err)
		}
		want := decoded[key]

		out, err := RenderDotenv(input)
		valid := isShellIdentifier(key) && !isBashSpecial(key) && !strings.Contains(want, "\x00")
		if err != nil {
			if valid {
				t.Fatalf("Dotenv rejected a valid key/value: %v", err)
			}
			if !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			// The error must not depend on the value: another value with the
			// same NUL-ness gives the very same message.
			other := "x"
			if strings.Contains(want, "\x00") {
				other = "\x00"
			}
			_, err2 := RenderDotenv(mustJSON(t, map[string]string{key: other}))
			if err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("error depends on the value: %v vs %v", err, err2)
			}
			return
		}
		if !valid {
			t.Fatalf("Dotenv accepted key %q / value with NUL", key)
		}
		parsed, _, err := parseSingleQuoted(out)
		if err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		if len(parsed) != 1 || parsed[key] != want {
			t.Fatalf("Go parser got %q, want %q", parsed, want)
		}
		if got := bashSource(t, out, "C", key)[key]; got != want {
			t.Fatalf("bash got %q, want %q", got, want)
		}
	})
}

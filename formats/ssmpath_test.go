package formats

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

func TestExplodePath(t *testing.T) {
	files, err := ExplodePath([]byte(`{"db/url":"postgres://x","db/password":"p<w>","region":"eu-west-1","a.b/c-d/e_f":"deep"}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Path+"="+string(f.Data))
	}
	want := "a.b/c-d/e_f=deep db/password=p<w> db/url=postgres://x region=eu-west-1"
	if strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
	if files, err := ExplodePath([]byte(`{}`)); err != nil || len(files) != 0 {
		t.Errorf("empty path: %v %v", files, err)
	}
}

func TestExplodePathInvalid(t *testing.T) {
	tests := []struct {
		value string
		want  error
	}{
		{`{"db":"x","db/url":"y"}`, ErrNameCollision},
		{`{"a/db":"x","a/db/url/z":"y","a/db0":"z"}`, ErrNameCollision},
		{`{"db":"x","db-x":"y","db.y":"y","db/url":"z"}`, ErrNameCollision},
		{`{"../x":"v"}`, ErrInvalidName},
		{`{"a//b":"v"}`, ErrInvalidName},
		{`{"a/./b":"v"}`, ErrInvalidName},
		{`{"a b":"v"}`, ErrInvalidName},
		{`{"` + strings.Repeat("n", 256) + `":"v"}`, ErrInvalidName},
		{`["not","an","object"]`, ErrInvalidJSON},
		{`{"a":1}`, ErrInvalidJSON},
		{`{"a":null}`, ErrInvalidJSON},
	}
	for _, tt := range tests {
		if _, err := ExplodePath([]byte(tt.value)); !errors.Is(err, tt.want) {
			t.Errorf("ExplodePath(%.40s) err = %v, want %v", tt.value, err, tt.want)
		}
	}
}

func TestPathKey(t *testing.T) {
	for name, want := range map[string]string{
		"db/url": "DB_URL", "api-key": "API_KEY", "2fa/seed": "_2FA_SEED", "a.b_c": "A_B_C", "Mixed/Case": "MIXED_CASE",
	} {
		if got := PathKey(name); got != want {
			t.Errorf("PathKey(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestDotenvPath(t *testing.T) {
	const pass = `it's "$x" <y>`
	out, err := DotenvPath([]byte(`{"db/url":"postgres://x","db/password":"it's \"$x\" <y>"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "DB_URL='postgres://x'\n") {
		t.Errorf("dotenv:\n%s", out)
	}
	got, err := exec.Command("bash", "-c", `set -a; eval "$1"; set +a; printf '%s' "$DB_PASSWORD"`, "_", string(out)).Output()
	if err != nil || string(got) != pass {
		t.Errorf("bash read back %q, %v", got, err)
	}
	for value, want := range map[string]error{
		`{"db/url":"a","db-url":"b"}`: ErrNameCollision,
		`{"uid":"1"}`:                 ErrInvalidKey, // UID is read-only in bash
		`{"x":"a\u0000b"}`:            ErrInvalidValue,
	} {
		_, err := DotenvPath([]byte(value))
		if !errors.Is(err, want) {
			t.Errorf("DotenvPath(%s) err = %v, want %v", value, err, want)
		}
		if err != nil && strings.Contains(err.Error(), `"a"`) {
			t.Errorf("error holds a value: %v", err)
		}
	}
}

// The value of a path is read by the one strict decoder: a parameter named
// twice is refused, not silently given its last value.
func TestExplodePathStrict(t *testing.T) {
	for _, v := range []string{`{"a":"1","a":"2"}`, "{\"a\":\"\xff\"}"} {
		if _, err := ExplodePath([]byte(v)); !errors.Is(err, ErrInvalidJSON) && !errors.Is(err, ErrDuplicateKey) {
			t.Errorf("ExplodePath(%q) err = %v, want a strict JSON error", v, err)
		}
	}
}

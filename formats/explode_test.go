package formats

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

func TestExplode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []File // sorted by Path
	}{
		{"empty object", `{}`, []File{}},
		{
			"strings raw, others compact JSON, sorted",
			`{"password":"p@ss\nword\n","port":5432,"tls":true,"none":null,"obj":{ "a" : [ 1, 2 ] },"big":12345678901234567890,"str":"\"q\""}`,
			[]File{
				{"big", []byte("12345678901234567890")},
				{"none", []byte("null")},
				{"obj", []byte(`{"a":[1,2]}`)},
				{"password", []byte("p@ss\nword\n")},
				{"port", []byte("5432")},
				{"str", []byte(`"q"`)},
				{"tls", []byte("true")},
			},
		},
		{
			"sanitised names",
			`{"a/b":"1","../x":"2","DB_PASS-1.txt":"3","spa ce":"4","ünï":"5","/":"6","...":"7",".env":"8","-rf":"9"}`,
			[]File{
				{"-rf", []byte("9")},
				{"...", []byte("7")},
				{".._x", []byte("2")},
				{".env", []byte("8")},
				{"DB_PASS-1.txt", []byte("3")},
				{"_", []byte("6")},
				{"_n_", []byte("5")},
				{"a_b", []byte("1")},
				{"spa_ce", []byte("4")},
			},
		},
		{"empty string value", `{"k":""}`, []File{{"k", []byte{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RenderExplode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Explode: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d files %v, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if got[i].Path != tt.want[i].Path || string(got[i].Data) != string(tt.want[i].Data) {
					t.Errorf("file %d = {%q, %q}, want {%q, %q}", i, got[i].Path, got[i].Data, tt.want[i].Path, tt.want[i].Data)
				}
			}
			// Every path stays inside the item's directory when written.
			dir := t.TempDir()
			for _, f := range got {
				p := filepath.Join(dir, filepath.FromSlash(f.Path))
				if filepath.Dir(p) != dir {
					t.Errorf("path %q escapes to %q", f.Path, p)
				}
				if err := os.WriteFile(p, f.Data, 0o600); err != nil {
					t.Errorf("write %q: %v", f.Path, err)
				}
			}
		})
	}
}

func TestExplodeErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantErr  error
		mentions []string
	}{
		{"not JSON", `password=hunter2`, ErrInvalidJSON, nil},
		{"array", `[{"a":"b"}]`, ErrNotObject, []string{"array"}},
		{"string", `"secret"`, ErrNotObject, []string{"string"}},
		{"number", `42`, ErrNotObject, []string{"number"}},
		{"null", `null`, ErrNotObject, []string{"null"}},
		{"empty input", "  \n", ErrInvalidJSON, []string{"empty"}},
		{"dot", `{".":"x"}`, ErrInvalidName, []string{`"."`}},
		{"dotdot", `{"..":"x"}`, ErrInvalidName, []string{`".."`}},
		{"empty key", `{"":"x"}`, ErrInvalidName, []string{`""`}},
		{"too long", `{"` + strings.Repeat("a", 256) + `":"x"}`, ErrInvalidName, []string{"256"}},
		{"collision slash", `{"a/b":"1","a_b":"2"}`, ErrNameCollision, []string{`"a/b"`, `"a_b"`}},
		{"collision unicode", `{"é":"1","ü":"2"}`, ErrNameCollision, []string{`"é"`, `"ü"`, `"_"`}},
		{"duplicate key", `{"a":"1","a":"2"}`, ErrDuplicateKey, []string{`"a"`}},
		{"trailing garbage", `{"a":"1"}x`, ErrInvalidJSON, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := RenderExplode([]byte(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if files != nil {
				t.Errorf("files returned with error: %v", files)
			}
			for _, m := range tt.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %s", err, m)
				}
			}
		})
	}
	// A 255-byte name is still fine.
	if _, err := RenderExplode([]byte(`{"` + strings.Repeat("a", 255) + `":"x"}`)); err != nil {
		t.Errorf("255-byte name: %v", err)
	}
}

func checkExplodedPaths(t *testing.T, files []File) {
	t.Helper()
	seen := make(map[string]bool)
	for i, f := range files {
		switch {
		case f.Path == "", f.Path == ".", f.Path == "..":
			t.Fatalf("bad path %q", f.Path)
		case strings.ContainsAny(f.Path, "/\\\x00"):
			t.Fatalf("path %q contains a separator or NUL", f.Path)
		case path.Clean(f.Path) != f.Path || path.Base(f.Path) != f.Path:
			t.Fatalf("path %q is not a single clean element", f.Path)
		case len(f.Path) > maxNameLen:
			t.Fatalf("path %q too long", f.Path)
		case seen[f.Path]:
			t.Fatalf("path %q twice", f.Path)
		case i > 0 && files[i-1].Path >= f.Path:
			t.Fatalf("paths not sorted: %q before %q", files[i-1].Path, f.Path)
		}
		for _, r := range f.Path {
			if !isNameRune(r) {
				t.Fatalf("path %q has rune %q", f.Path, r)
			}
		}
		seen[f.Path] = true
	}
}

func FuzzExplode(f *testing.F) {
	for _, s := range []string{
		`{}`, `{".":"1"}`, `{"..":"1"}`, `{"../x":"1"}`, `{"a/b":"1","a_b":"2"}`, `{"/":1}`,
		`{"\\":1}`, `{"\u0000":1}`, `{"a":{"b":"c"}}`, `[]`, `"x"`, `{"a":1,"a":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// As raw JSON.
		if files, err := RenderExplode(data); err == nil {
			checkExplodedPaths(t, files)
		} else if files != nil {
			t.Fatal("files returned with error")
		}
		// As a key of a one-member object.
		files, err := RenderExplode(mustJSON(t, map[string]int{string(data): 1}))
		if err != nil {
			if !errors.Is(err, ErrInvalidName) {
				t.Fatalf("unexpected error for key: %v", err)
			}
			return
		}
		if len(files) != 1 {
			t.Fatalf("got %d files", len(files))
		}
		checkExplodedPaths(t, files)
	})
}

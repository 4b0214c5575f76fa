package formats

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTemplate(t *testing.T) {
	inputs := map[string][]byte{
		"db":      []byte(`{"username":"app","password":"p@ss'w\"rd","port":5432,"id":12345678901234567890,"tags":["a","b"]}`),
		"api_key": []byte("  key-123\n"),
		"cert":    []byte("-----BEGIN CERT-----\nAAA\n-----END CERT-----\n"),
		"b64":     []byte("aGVsbG8gd29ybGQ="),
		"raw-b64": []byte("aGk"),
		"my-name": []byte("dashed"),
	}
	tests := []struct {
		name, text, want string
	}{
		{"plain text", "no actions\n", "no actions\n"},
		{"json field", `{{ (json .db).password }}`, `p@ss'w"rd`},
		{"json number exact", `{{ (json .db).port }}/{{ (json .db).id }}`, "5432/12345678901234567890"},
		{"json nested", `{{ index (json .db).tags 1 }}`, "b"},
		{"json with", `{{ with json .db }}postgres://{{ .username }}@db:{{ .port }}{{ end }}`, "postgres://app@db:5432"},
		{"several inputs", "user={{ (json .db).username }}\nkey={{ trim .api_key }}\n{{ .cert }}",
			"user=app\nkey=key-123\n-----BEGIN CERT-----\nAAA\n-----END CERT-----\n"},
		{"raw keeps whitespace", `[{{ .api_key }}]`, "[  key-123\n]"},
		{"b64dec", `{{ b64dec .b64 }}`, "hello world"},
		{"b64dec unpadded", `{{ b64dec (index . "raw-b64") }}`, "hi"},
		{"b64enc", `{{ b64enc "hello world" }}`, "aGVsbG8gd29ybGQ="},
		{"b64 round trip", `{{ b64dec (b64enc .cert) }}`, "-----BEGIN CERT-----\nAAA\n-----END CERT-----\n"},
		{"index for non-identifier", `{{ index . "my-name" }}`, "dashed"},
		{"no HTML escaping", `{{ "<&>" }}`, "<&>"},
		{"range", `{{ range (json .db).tags }}{{ . }};{{ end }}`, "a;b;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RenderTemplate(context.Background(), tt.text, inputs, 1<<20)
			if err != nil {
				t.Fatalf("Template: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTemplateErrors(t *testing.T) {
	inputs := map[string][]byte{
		"db":   []byte(`{"username":"app","password":"s3cr3t-db-pass"}`),
		"text": []byte("not-json-s3cr3t"),
		"dup":  []byte(`{"password":"s3cr3t-A","password":"s3cr3t-B"}`),
		"utf8": []byte("{\"password\":\"s3cr3t\xff\"}"),
	}
	tests := []struct {
		name     string
		text     string
		mentions []string
	}{
		{"parse error", `{{ .db `, []string{"parse"}},
		{"unknown function", `{{ nosuch .db }}`, []string{`"nosuch"`}},
		{"missing input", `{{ .nosuch }}`, []string{`"nosuch"`, "no entry"}},
		{"missing JSON key", `{{ (json .db).pasword }}`, []string{`"pasword"`}},
		{"json of non-JSON", `{{ (json .text).x }}`, []string{"json", "not valid JSON"}},
		{"json duplicate key", `{{ (json .dup).password }}`, []string{"json", `key "password" occurs more than once`}},
		{"json invalid UTF-8", `{{ (json .utf8).password }}`, []string{"json", "UTF-8"}},
		{"trailing data", `{{ json (printf "%s %s" .db .db) }}`, []string{"after the JSON value"}},
		{"b64dec of non-base64", `{{ b64dec .text }}`, []string{"b64dec", "base64"}},
		{"field of string", `{{ .db.password }}`, []string{"can't evaluate field password"}},
		{"range over string", `{{ range .text }}{{ end }}`, []string{"<.text>", "range can't iterate over a value of type string"}},
		{"comparison of types", `{{ if eq (json .db) "x" }}{{ end }}`, []string{"incompatible types"}},
		{"comparison of maps", `{{ if eq (json .db) (json .db) }}{{ end }}`, []string{"<eq (json .db) (json .db)>", "non-comparable types"}},
		{"wrong arg count", `{{ trim }}`, []string{"wrong number of args"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := RenderTemplate(context.Background(), tt.text, inputs, 1<<20)
			if !errors.Is(err, ErrTemplate) {
				t.Fatalf("err = %v, want ErrTemplate", err)
			}
			if out != nil {
				t.Errorf("partial output %q returned with error", out)
			}
			for _, m := range tt.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			for _, secret := range []string{"s3cr3t", "app"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error leaks %q: %v", secret, err)
				}
			}
		})
	}
}

// TestTemplateBounded: a template stops when its context is done, and when
// its output or a string it makes would pass the limit, without allocating
// that string first.
func TestTemplateBounded(t *testing.T) {
	const limit = 1 << 16
	inputs := map[string][]byte{"db": []byte(`{"password":"s3cr3t-db-pass"}`), "big": []byte(strings.Repeat("<", limit/4))}
	tests := []struct {
		name    string
		text    string
		timeout time.Duration // 0: none
		mention []string
	}{
		{"loop without output, timeout", `{{ range 100000000000 }}{{ end }}`, 200 * time.Millisecond, []string{"stopped", "deadline exceeded"}},
		{"loop calling functions, timeout", `{{ range 100000000000 }}{{ $x := trim "a" }}{{ end }}`, 200 * time.Millisecond, []string{"stopped"}},
		{"loop with output", `{{ range 100000000000 }}x{{ end }}`, 0, []string{"larger than the 65536-byte limit"}},
		{"huge width", `{{ printf "%01000000d" 1 }}`, 0, []string{"printf", "65536-byte limit"}},
		{"many widths", `{{ printf "` + strings.Repeat("%09000d", 10) + `" 1 2 3 4 5 6 7 8 9 10 }}`, 0, []string{"printf", "limit"}},
		{"width from an argument", `{{ printf "%*d" 5 1 }}`, 0, []string{"'*'"}},
		{"doubling string", `{{ $s := .db }}{{ range 100 }}{{ $s = printf "%s%s" $s $s }}{{ end }}{{ $s }}`, 0, []string{"printf", "limit"}},
		{"doubling with print", `{{ $s := .db }}{{ range 100 }}{{ $s = print $s $s }}{{ end }}`, 0, []string{"print", "limit"}},
		{"escaper growth", `{{ $x := html .big }}`, 0, []string{"html", "limit"}},
		{"b64enc growth", `{{ $s := .big }}{{ range 10 }}{{ $s = b64enc $s }}{{ end }}`, 0, []string{"b64enc", "limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			start := time.Now()
			out, err := RenderTemplate(ctx, tt.text, inputs, limit)
			if !errors.Is(err, ErrTemplate) || out != nil {
				t.Fatalf("Template = %d bytes, %v; want ErrTemplate", len(out), err)
			}
			// A generous bound: the point is that it ends at all.
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("took %s", d)
			}
			for _, m := range append(tt.mention, "template failed") {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error leaks the value: %v", err)
			}
		})
	}
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := RenderTemplate(ctx, `{{ range 100000000000 }}{{ end }}`, inputs, limit)
		if !errors.Is(err, ErrTemplate) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want ErrTemplate and context.Canceled", err)
		}
	})
	t.Run("output up to the limit", func(t *testing.T) {
		text := `{{ range 8 }}{{ printf "%08d" 1 }}{{ end }}`
		if out, err := RenderTemplate(context.Background(), text, inputs, 64); err != nil || len(out) != 64 {
			t.Fatalf("64 bytes under a 64-byte limit: %d bytes, %v", len(out), err)
		}
		if _, err := RenderTemplate(context.Background(), text, inputs, 63); !errors.Is(err, ErrTemplate) {
			t.Fatalf("64 bytes under a 63-byte limit: %v", err)
		}
	})
}

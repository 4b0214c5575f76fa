package render

import (
	"errors"
	"strings"
	"testing"
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
			got, err := Template(tt.text, inputs)
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
		{"trailing data", `{{ json (printf "%s %s" .db .db) }}`, []string{"after the JSON value"}},
		{"b64dec of non-base64", `{{ b64dec .text }}`, []string{"b64dec", "base64"}},
		{"field of string", `{{ .db.password }}`, []string{"can't evaluate field password"}},
		{"range over string withheld", `{{ range .text }}{{ end }}`, []string{"withheld", "<.text>"}},
		{"comparison of types", `{{ if eq (json .db) "x" }}{{ end }}`, []string{"incompatible types"}},
		{"comparison of maps withheld", `{{ if eq (json .db) (json .db) }}{{ end }}`, []string{"withheld"}},
		{"wrong arg count", `{{ trim }}`, []string{"wrong number of args"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Template(tt.text, inputs)
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

func TestIsSafeExecDetail(t *testing.T) {
	for _, d := range []string{
		`map has no entry for key "x"`,
		"can't evaluate field x in type string",
		"error calling eq: incompatible types for comparison: string and int",
		"error calling len: len of type float64",
		`template "x" not defined`,
	} {
		if !isSafeExecDetail(d) {
			t.Errorf("%q should be kept", d)
		}
	}
	for _, d := range []string{
		"range can't iterate over SECRET",
		"if/with can't use SECRET",
		"error calling index: index out of range: 1234",
		"error calling eq: non-comparable types map[a:SECRET]: map[string]interface {}, string: x",
		`map has no entry for key "x"` + "\nSECRET",
		"error calling nosuch",
	} {
		if isSafeExecDetail(d) {
			t.Errorf("%q should be withheld", d)
		}
	}
}

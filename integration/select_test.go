package integration_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// TestNestedSelection selects nested values with JSON pointers (#/a/b)
// through the built injector: keys holding '.', '-', '/' and '~', array
// elements, an object (written as compact JSON), as raw files, as a
// template input and exploded; each secret is fetched once however many
// pointers select from it. A pointer that selects nothing is exit 4 naming
// the item's path and the pointer, never the value, and writes nothing.
func TestNestedSelection(t *testing.T) {
	p := uniq()
	const (
		dbPass = "nested-pass-Q7"
		token  = "slash-tilde-token-Z3"
	)
	putSecret(t, p+"/app", `{
		"db": {"primary": {"password": "`+dbPass+`", "port": 5432}},
		"a.b": {"c-d": {"e/f": {"g~h": "`+token+`"}}},
		"hosts": [{"name": "h0"}, {"name": "h1", "ratio": 1.50}],
		"env": {"B": "2", "A": "one"}
	}`)
	putParameter(t, "/"+p+"/cfg", `{"tls": {"cert-chain": ["leaf", "ca"]}}`, ssmtypes.ParameterTypeSecureString)
	sm := "secretsmanager:" + p + "/app"
	spec := specJSON(t,
		item(sm+"#/db/primary/password", "db/password"),
		item(sm+"#/db/primary/port", "db/port"),
		item(sm+"#/a.b/c-d/e~1f/g~0h", "token"),
		item(sm+"#/hosts/1", "host1.json"),
		item(sm+"#/hosts/1/ratio", "ratio"),
		item("ssm:/"+p+"/cfg#/tls/cert-chain/1", "ca"),
		map[string]any{"from": sm + "#/env", "path": "env", "format": "explode"},
		map[string]any{"inputs": map[string]string{"pw": sm + "#/db/primary/password", "host": sm + "#/hosts/0/name"},
			"path": "app.conf", "format": "template", "template": "{{ .host }}:{{ .pw }}\n"},
	)
	dir := t.TempDir()
	res := h.injectOK(t, spec, dir)
	assertNoSecret(t, res.output, dbPass, token)
	if got := h.proxy.count("GetSecretValue"); got != 1 {
		t.Errorf("GetSecretValue calls = %d, want 1 (one secret, many pointers)", got)
	}
	for file, want := range map[string]string{
		"db/password": dbPass, "db/port": "5432", "token": token,
		"host1.json": `{"name":"h1","ratio":1.50}`, "ratio": "1.50", "ca": "ca",
		"env/A": "one", "env/B": "2", "app.conf": "h0:" + dbPass + "\n",
	} {
		if b, err := os.ReadFile(filepath.Join(dir, file)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", file, b, err, want)
		}
	}

	t.Run("validate shows the pointer", func(t *testing.T) {
		env := append(h.env(h.moto, h.minio), "INJECTOR_DIR="+t.TempDir(), "INJECTOR_SPEC="+spec)
		r, err := runBinary(h.bin, env, time.Minute, "validate", "--json")
		if err != nil || r.code != 0 {
			t.Fatalf("validate: %v, exit %d:\n%s", err, r.code, r.output)
		}
		if !strings.Contains(r.output, `"pointer": "/a.b/c-d/e~1f/g~0h"`) {
			t.Errorf("validate --json does not show the pointer:\n%s", r.output)
		}
	})

	t.Run("missing", func(t *testing.T) {
		for _, tt := range []struct{ pointer, why string }{
			{"/db/primary/user", `no key "user" in the object at /db/primary`},
			{"/hosts/2", "index 2 is past the end of the array at /hosts"},
			{"/db/primary/password/x", "the value at /db/primary/password is a string"},
			{"/a.b/c-d/e/f", `no key "e"`},
		} {
			out := t.TempDir()
			spec := specJSON(t, item(sm+"#/db/primary/port", "port"), item(sm+"#"+tt.pointer, "missing/file"))
			r := h.inject(t, spec, out)
			if r.code != 4 {
				t.Fatalf("%s: exit %d, want 4:\n%s", tt.pointer, r.code, r.output)
			}
			// The log quotes the error: its quotes are escaped.
			output := strings.ReplaceAll(r.output, `\"`, `"`)
			for _, w := range []string{"missing/file", tt.pointer, tt.why, "JSON pointer selects nothing"} {
				if !strings.Contains(output, w) {
					t.Errorf("%s: output does not say %q:\n%s", tt.pointer, w, r.output)
				}
			}
			assertNoSecret(t, r.output, dbPass, token)
			if names, data := injectorNames(out); len(visibleTree(t, out)) != 0 || data != "" || len(names) != 1 {
				t.Errorf("%s: written: %v, ..data %q", tt.pointer, names, data)
			}
		}
	})
}

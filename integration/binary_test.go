package integration_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinaryValues reads arbitrary bytes (every byte value, NUL and
// invalid UTF-8 among them) from a SecretBinary, by GetSecretValue and by
// BatchGetSecretValue, and from an S3 object, and writes them byte for
// byte: raw, through a template, and through b64enc and b64dec. The
// formats that read a value as JSON refuse a binary one: exit 4, no value
// in the message, nothing written.
func TestBinaryValues(t *testing.T) {
	p := uniq()
	bin := make([]byte, 256+4096)
	for i := range 256 {
		bin[i] = byte(i)
	}
	_, _ = rand.Read(bin[256:])
	b64 := base64.StdEncoding.EncodeToString(bin)
	putSecret(t, p+"/bin", bin)
	putSecret(t, p+"/b64", b64)
	bucket := p + "-bucket"
	makeBucket(t, bucket)
	putObject(t, bucket, "blob.bin", string(bin), "sse-s3", nil)
	sm := "secretsmanager:" + p + "/bin"
	s3 := "s3://" + bucket + "/blob.bin"
	tmpl := func(path, text string, inputs map[string]string) map[string]any {
		return map[string]any{"inputs": inputs, "path": path, "format": "template", "template": text}
	}
	spec := specJSON(t,
		item(sm, "sm.bin"),
		item(s3, "s3.bin"),
		tmpl("sm.b64", "{{ b64enc .v }}", map[string]string{"v": sm}),
		tmpl("s3.b64", "{{ b64enc .v }}", map[string]string{"v": s3}),
		tmpl("b64dec.bin", "{{ b64dec .v }}", map[string]string{"v": "secretsmanager:" + p + "/b64"}),
		tmpl("both.bin", "{{ .a }}{{ .b }}", map[string]string{"a": sm, "b": s3}),
		tmpl("round.bin", "{{ b64dec (b64enc .v) }}", map[string]string{"v": sm}),
	)
	want := map[string][]byte{
		"sm.bin": bin, "s3.bin": bin, "sm.b64": []byte(b64), "s3.b64": []byte(b64),
		"b64dec.bin": bin, "both.bin": append(append([]byte{}, bin...), bin...), "round.bin": bin,
	}
	for _, batch := range []string{"never", "always"} {
		t.Run("INJECTOR_SECRETS_BATCH="+batch, func(t *testing.T) {
			dir := t.TempDir()
			h.proxy.reset(nil)
			r := h.inject(t, spec, dir, "INJECTOR_SECRETS_BATCH="+batch)
			if r.code != 0 {
				t.Fatalf("exit %d:\n%s", r.code, r.output)
			}
			op := map[string]string{"never": "GetSecretValue", "always": "BatchGetSecretValue"}[batch]
			if h.proxy.count(op) == 0 {
				t.Errorf("no %s call", op)
			}
			for file, w := range want {
				if got, err := os.ReadFile(filepath.Join(dir, file)); err != nil || !bytes.Equal(got, w) {
					t.Errorf("%s: %d bytes, %v; want the %d bytes", file, len(got), err, len(w))
				}
			}
		})
	}

	t.Run("refused", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			item map[string]any
			msg  string
		}{
			{"explode", map[string]any{"from": sm, "path": "out", "format": "explode"}, "explode: invalid JSON: want a JSON value"},
			{"dotenv of S3", map[string]any{"from": s3, "path": "out", "format": "dotenv"}, "dotenv: invalid JSON: want a JSON value"},
			{"dockerconfigjson", map[string]any{"from": sm, "path": "out", "format": "dockerconfigjson", "registry": "ghcr.io"}, "credential secret: invalid JSON"},
			{"template json", tmpl("out", "{{ (json .v).k }}", map[string]string{"v": s3}), "argument is not valid JSON"},
			{"JSON pointer", item(sm+"#/k", "out"), "value is not JSON, cannot select /k"},
			{"JSON key", item(sm+":k::", "out"), "value is not a JSON object"},
		} {
			dir := t.TempDir()
			r := h.inject(t, specJSON(t, tt.item), dir)
			if r.code != 4 || !strings.Contains(r.output, tt.msg) || !strings.Contains(r.output, "out") {
				t.Errorf("%s: exit %d, want 4 saying %q:\n%s", tt.name, r.code, tt.msg, r.output)
			}
			if bytes.Contains([]byte(r.output), bin[250:256]) {
				t.Errorf("%s: output holds value bytes", tt.name)
			}
			assertNoSecret(t, r.output, b64)
			if names, data := injectorNames(dir); len(visibleTree(t, dir)) != 0 || data != "" || len(names) != 1 {
				t.Errorf("%s: written: %v, ..data %q", tt.name, names, data)
			}
		}
	})
}

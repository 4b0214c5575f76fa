package formats

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
)

// allBytes is every byte value once, NUL first: not UTF-8, not JSON.
func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// A binary value (SecretBinary, an S3 object) reaches raw and template
// output byte for byte, and through b64enc and b64dec; the formats that
// read the value as JSON refuse it, saying so and never quoting it.
func TestBinaryValues(t *testing.T) {
	bin := allBytes()
	b64 := base64.StdEncoding.EncodeToString(bin)
	render := func(format Name, text string, value []byte) ([]byte, error) {
		f, _ := Lookup(format)
		src := Source{Ctx: context.Background(), Path: "out", Template: text, MaxBytes: 1 << 20,
			Inputs: map[string][]byte{"value": value},
			Logins: []Login{{Registry: "ghcr.io", Ref: "secretsmanager:bin", Value: value}}}
		files, err := f.Render(src)
		if err != nil {
			return nil, err
		}
		return files[0].Data, nil
	}
	for _, tt := range []struct {
		name   string
		format Name
		text   string
		value  []byte
		want   []byte
	}{
		{"raw", Raw, "", bin, bin},
		{"template value", Template, "{{ .value }}", bin, bin},
		{"template b64enc", Template, "{{ b64enc .value }}", bin, []byte(b64)},
		{"template b64dec", Template, "{{ b64dec .value }}", []byte(b64), bin},
		{"template round trip", Template, "{{ b64dec (b64enc .value) }}", bin, bin},
		{"template around", Template, "<{{ .value }}>", bin, append(append([]byte("<"), bin...), '>')},
	} {
		got, err := render(tt.format, tt.text, tt.value)
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("%s: %d bytes, %v; want the %d bytes", tt.name, len(got), err, len(tt.want))
		}
	}
	for _, tt := range []struct {
		format Name
		text   string
		want   string
	}{
		{Explode, "", "want a JSON value"},
		{Dotenv, "", "want a JSON value"},
		{DockerConfigJSON, "", "want a JSON value"},
		{DockerCfg, "", "want a JSON value"},
		{ECSConfig, "", "want a JSON value"},
		{Template, "{{ (json .value).k }}", "want a JSON value"},
	} {
		_, err := render(tt.format, tt.text, bin)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %s: err = %v, want it to say %q", tt.format, tt.text, err, tt.want)
		}
		if err != nil && (strings.IndexByte(err.Error(), 0) >= 0 || strings.IndexByte(err.Error(), 0xff) >= 0) {
			t.Errorf("%s: error holds value bytes: %q", tt.format, err)
		}
	}
}

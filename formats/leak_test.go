package formats

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
)

// TestErrorsNeverContainSecrets feeds recognisable secret strings into every
// function in ways that fail, and checks that no error message contains them
// (nor their base64 form, nor a telling fragment).
func TestErrorsNeverContainSecrets(t *testing.T) {
	const (
		s1 = "TOPSECRET-alpha-7391"
		s2 = "TOPSECRET-bravo-2846"
		n1 = "987654321987" // a secret that is a JSON number
	)
	secrets := []string{s1, s2, n1, "TOPSECRET", base64.StdEncoding.EncodeToString([]byte(s1)), "alpha-7391", "bravo-2846"}

	type call struct {
		name string
		run  func() error
	}
	explode := func(v string) func() error { return func() error { _, err := RenderExplode([]byte(v)); return err } }
	dotenv := func(v string) func() error { return func() error { _, err := RenderDotenv([]byte(v)); return err } }
	tmpl := func(text string, in map[string]string) func() error {
		return func() error {
			inputs := make(map[string][]byte)
			for k, v := range in {
				inputs[k] = []byte(v)
			}
			_, err := RenderTemplate(context.Background(), text, inputs, 1<<20)
			return err
		}
	}
	cred := func(v string) func() error {
		return func() error { _, err := ParseCredential("ghcr.io", []byte(v)); return err }
	}
	badCreds := [][]Credential{
		{{Registry: "ghcr.io", Username: s1 + ":x", Password: s2}},
		{{Registry: "ghcr.io", Username: s1, Password: s2 + "\x00"}},
		{{Registry: "ghcr.io", Username: s1}},
		{{Registry: "ghcr.io", Password: s2}},
		{{Registry: "ghcr.io", Username: s1, Password: s2, Email: "\"" + s1}},
		{{Registry: "ghcr.io", Username: s1, Password: s2}, {Registry: "ghcr.io", Username: s2, Password: s1}},
	}

	calls := []call{
		{"explode raw secret", explode(s1)},
		{"explode quoted secret", explode(`"` + s1 + `"`)},
		{"explode number secret", explode(n1)},
		{"explode array", explode(`["` + s1 + `"]`)},
		{"explode truncated", explode(`{"k":"` + s1)},
		{"explode bad escape", explode(`{"k":"` + s1 + `\q"}`)},
		{"explode bad token", explode(`{"k":` + s1 + `}`)},
		{"explode trailing", explode(`{"k":"v"}` + s1)},
		{"explode duplicate", explode(`{"k":"` + s1 + `","k":"` + s2 + `"}`)},
		{"explode bad name", explode(`{"..":"` + s1 + `"}`)},
		{"explode collision", explode(`{"a/b":"` + s1 + `","a_b":"` + s2 + `"}`)},
		{"explode invalid UTF-8", explode(`{"k":"` + s1 + "\xff\"}")},
		{"dotenv raw secret", dotenv(s1)},
		{"dotenv NUL", dotenv(`{"KEY":"` + s1 + `\u0000` + s2 + `"}`)},
		{"dotenv bad key", dotenv(`{"BAD-KEY":"` + s1 + `"}`)},
		{"dotenv special key", dotenv(`{"UID":"` + s1 + `"}`)},
		{"dotenv number", dotenv(n1)},
		{"dotenv unexpected", dotenv(`{"K":` + n1 + `x}`)},
		{"template json of non-JSON", tmpl(`{{ (json .a).x }}`, map[string]string{"a": s1})},
		{"template json of broken JSON", tmpl(`{{ (json .a).x }}`, map[string]string{"a": `{"x":"` + s1})},
		{"template missing key in JSON", tmpl(`{{ (json .a).nosuch }}`, map[string]string{"a": `{"x":"` + s1 + `"}`})},
		{"template b64dec", tmpl(`{{ b64dec .a }}`, map[string]string{"a": s1})},
		{"template range over string", tmpl(`{{ range .a }}{{ end }}`, map[string]string{"a": s1})},
		{"template range over b64", tmpl(`{{ range (b64enc .a) }}{{ end }}`, map[string]string{"a": s1})},
		{"template if on map", tmpl(`{{ if eq (json .a) 1 }}{{ end }}`, map[string]string{"a": `{"x":"` + s1 + `"}`})},
		{"template eq on maps", tmpl(`{{ if eq (json .a) (json .a) }}{{ end }}`, map[string]string{"a": `{"x":"` + s1 + `"}`})},
		{"template index out of range", tmpl(`{{ index (json .b) (len .a) }}`, map[string]string{"a": s1, "b": `[]`})},
		{"template index number", tmpl(`{{ index (json .b) (json .a) }}`, map[string]string{"a": n1, "b": `[]`})},
		{"template field of string", tmpl(`{{ .a.x }}`, map[string]string{"a": s1})},
		{"template call", tmpl(`{{ call .a }}`, map[string]string{"a": s1})},
		{"template missing input", tmpl(`{{ .nosuch }}`, map[string]string{"a": s1})},
		{"template slice", tmpl(`{{ slice .a 5 2 }}`, map[string]string{"a": s1})},
		{"credential raw secret", cred(s1)},
		{"credential number user", cred(`{"username":` + n1 + `,"password":"` + s2 + `"}`)},
		{"credential bool password", cred(`{"username":"` + s1 + `","password":true}`)},
		{"credential colon", cred(`{"username":"` + s1 + `:x","password":"` + s2 + `"}`)},
		{"credential missing password", cred(`{"username":"` + s1 + `"}`)},
		{"credential broken", cred(`{"username":"` + s1 + `","password":` + s2 + `}`)},
	}
	for i, creds := range badCreds {
		calls = append(calls,
			call{"DockerCfg " + string(rune('a'+i)), func() error { _, err := RenderDockerCfg(creds); return err }},
			call{"DockerConfigJSON " + string(rune('a'+i)), func() error { _, err := RenderDockerConfigJSON(creds); return err }},
			call{"ECSConfig " + string(rune('a'+i)), func() error { _, err := RenderECSConfig([]byte("A="+s1+"\n"), creds); return err }},
		)
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil {
				t.Fatal("expected an error")
			}
			msg := err.Error()
			for _, s := range secrets {
				if strings.Contains(msg, s) {
					t.Errorf("error leaks %q: %s", s, msg)
				}
			}
		})
	}
}

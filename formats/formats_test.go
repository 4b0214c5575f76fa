package formats

import (
	"context"
	"slices"
	"testing"
)

// Every format of the table says what it writes and renders an output; a
// name not in it is no format.
func TestFormats(t *testing.T) {
	names := Names()
	if want := []Name{DockerCfg, DockerConfigJSON, Dotenv, ECSConfig, Explode, Raw, Template}; !slices.Equal(names, want) {
		t.Fatalf("Names() = %v, want %v", names, want)
	}
	for _, n := range names {
		f, ok := Lookup(n)
		if !ok || f.Doc() == "" || n.Doc() != f.Doc() {
			t.Errorf("format %s: found %v, doc %q", n, ok, n.Doc())
		}
	}
	if _, ok := Lookup("yaml"); ok || Name("yaml").Dir() || Name("yaml").InPlace() {
		t.Error("an unknown name is a format")
	}
	if !Explode.Dir() || Raw.Dir() || !ECSConfig.InPlace() || DockerCfg.InPlace() {
		t.Error("layouts are not as the formats say")
	}
	src := Source{Ctx: context.Background(), Path: "out", Template: "{{ .value }}", MaxBytes: 1 << 20,
		Inputs: map[string][]byte{"value": []byte(`{"K":"v"}`)},
		Logins: []Login{{Registry: "ghcr.io", Ref: "env:X", Value: []byte(`{"username":"u","password":"p"}`)}}}
	for _, n := range names {
		f, _ := Lookup(n)
		files, err := f.Render(src)
		if err != nil || len(files) == 0 {
			t.Errorf("format %s: Render = %v, %v", n, files, err)
		}
	}
}

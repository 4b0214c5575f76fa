package plan

import (
	"errors"
	"path"
	"strings"
	"testing"

	"github.com/ecs-secret-injector/injector/formats"
	"github.com/ecs-secret-injector/injector/ref"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"ok", `[{"from":"ssm:/a","path":"a"}]`, ""},
		{"unknown field", `[{"from":"ssm:/a","path":"a","owner":"app"}]`, "unknown field"},
		{"all fields", `[{"from":"s3://b/k","path":"a","format":"raw","allowUnencrypted":true,"sseCustomerKey":"ssm:/k"},
			{"inputs":{"a":"ssm:/a"},"template":"{{.a}}","format":"template","path":"t"},
			{"from":"ssm:/r","path":"c","format":"dockercfg","registry":"ghcr.io","email":"a@b.c"}]`, ""},
		{"not a list", `{"from":"ssm:/a"}`, "must be a JSON list of items, not an object"},
		{"empty", `[]`, "no items"},
		{"null", `null`, "no items"},
		{"trailing", `[{"from":"ssm:/a","path":"a"}] []`, "trailing data"},
		{"truncated", `[{"from":"ssm:/a"`, "item 0: invalid JSON: unexpected end of input"},
		{"item not an object", `[{"from":"ssm:/a","path":"a"}, "ssm:/b"]`, "item 1: must be a JSON object, not a string"},
		{"FROM", `[{"FROM":"ssm:/a","path":"a"}]`, `item 0: unknown field "FROM" (field names are exact: `},
		{"Path", `[{"from":"ssm:/a","Path":"a"}]`, `unknown field "Path"`},
		{"Format", `[{"from":"ssm:/a","path":"a","Format":"raw"}]`, `unknown field "Format"`},
		{"SSECustomerKey", `[{"from":"s3://b/k","path":"a","ssecustomerkey":"ssm:/k"}]`, `unknown field "ssecustomerkey"`},
		{"field twice", `[{"from":"ssm:/a","path":"a"},{"from":"ssm:/a","path":"b","path":"c"}]`, `item 1: field "path" is given more than once`},
		{"input twice", `[{"inputs":{"a":"ssm:/a","a":"ssm:/b"},"path":"t","format":"template","template":"x"}]`, `item 0: duplicate JSON key: key "a" occurs more than once in inputs`},
		{"wrong type", `[{"from":7,"path":"a"}]`, `item 0: field "from" must be a string, not a number`},
		{"null field", `[{"from":null,"path":"a"}]`, `field "from" must be a string, not null`},
		{"bool as string", `[{"from":"s3://b/k","path":"a","allowUnencrypted":"true"}]`, `field "allowUnencrypted" must be true or false`},
		{"input not a string", `[{"inputs":{"a":1},"path":"t"}]`, `field "inputs" input "a" must be a string`},
		{"invalid UTF-8", "[{\"from\":\"ssm:/a\xff\",\"path\":\"a\"}]", "item 0: invalid JSON: string is not valid UTF-8 in from"},
		{"too large", `[{"from":"ssm:/a","path":"` + strings.Repeat("a", MaxSpecBytes) + `"}]`, "more than the limit of 1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSpec([]byte(tt.in))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want ErrSpec saying %q", err, tt.wantErr)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	items := []Item{
		{From: "secretsmanager:app/db:password::", Path: "db/password"},
		{From: "secretsmanager:app/db:user::", Path: "db/user"},
		{From: "ssm:/app/key", Path: "./key"},
		{Inputs: map[string]string{"db": "secretsmanager:app/db", "k": "ssm:/app/key"}, Path: "app.conf", Format: formats.Template, Template: "{{.db}}"},
		{From: "secretsmanager:reg/b", Path: "docker/config.json", Format: formats.DockerConfigJSON, Registry: "b.example"},
		{From: "secretsmanager:reg/a", Path: "docker/config.json", Format: formats.DockerConfigJSON, Registry: "a.example"},
		{From: "s3://bkt/obj", Path: "obj", SSECustomerKey: "ssm:/app/obj-key"},
		{From: "secretsmanager:app/db", Path: "fields", Format: formats.Explode},
		{From: "ssm:/app/other", Path: "fields/extra"}, // inside an explode directory: allowed
	}
	p, err := Build(items)
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, f := range p.Fetches {
		targets = append(targets, f.Target.String())
	}
	want := []string{"secretsmanager:app/db", "ssm:/app/key", "secretsmanager:reg/b", "secretsmanager:reg/a", "ssm:/app/obj-key", "s3://bkt/obj", "ssm:/app/other"}
	if strings.Join(targets, " ") != strings.Join(want, " ") {
		t.Fatalf("fetches = %v\nwant %v", targets, want)
	}
	if len(p.Outputs) != 8 {
		t.Fatalf("outputs = %d, want 8 (registry items merged)", len(p.Outputs))
	}
	if p.Outputs[2].Path != "key" {
		t.Errorf("path not cleaned: %q", p.Outputs[2].Path)
	}
	reg := p.Outputs[4]
	if len(reg.Credentials) != 2 || reg.Credentials[0].Registry != "a.example" || reg.Credentials[1].Registry != "b.example" {
		t.Errorf("registry credentials not merged and sorted: %+v", reg.Credentials)
	}
	tmpl := p.Outputs[3]
	if len(tmpl.Inputs) != 2 || tmpl.Inputs[0].Name != "db" || tmpl.Inputs[1].Name != "k" {
		t.Errorf("template inputs = %+v", tmpl.Inputs)
	}
	obj := p.Fetches[5]
	if obj.SSECustomerKey == nil || obj.SSECustomerKey.Target != (ref.Target{Source: ref.SSM, ID: "/app/obj-key"}) || obj.AllowUnencrypted {
		t.Errorf("s3 fetch = %+v", obj)
	}
}

func TestBuildInvalid(t *testing.T) {
	tests := []struct {
		name  string
		items []Item
		want  string
	}{
		{"no from", []Item{{Path: "a"}}, "from is required"},
		{"no path", []Item{{From: "ssm:/a"}}, "path is required"},
		{"absolute", []Item{{From: "ssm:/a", Path: "/etc/passwd"}}, "stay inside"},
		{"dotdot", []Item{{From: "ssm:/a", Path: "a/../../b"}}, "stay inside"},
		{"dot", []Item{{From: "ssm:/a", Path: "."}}, "stay inside"},
		{"control", []Item{{From: "ssm:/a", Path: "a\nb"}}, "control character"},
		{"backslash", []Item{{From: "ssm:/a", Path: `a\b`}}, "backslash"},
		{"bad format", []Item{{From: "ssm:/a", Path: "a", Format: "yaml"}}, "unknown format"},
		{"bad ref", []Item{{From: "vault:a", Path: "a"}}, "invalid reference"},
		{"duplicate", []Item{{From: "ssm:/a", Path: "a"}, {From: "ssm:/b", Path: "./a"}}, "already written"},
		{"file is dir", []Item{{From: "ssm:/a", Path: "a"}, {From: "ssm:/b", Path: "a/b"}}, `inside "a"`},
		{"file is deep dir", []Item{{From: "ssm:/a", Path: "a"}, {From: "ssm:/c", Path: "a-b"}, {From: "ssm:/b", Path: "a/b/c"}}, `inside "a"`},
		{"template without text", []Item{{From: "ssm:/a", Path: "a", Format: formats.Template}}, "needs template text"},
		{"text without template", []Item{{From: "ssm:/a", Path: "a", Template: "x"}}, "format is not template"},
		{"inputs on raw", []Item{{Inputs: map[string]string{"a": "ssm:/a"}, Path: "a"}}, "inputs are for format template"},
		{"bad input name", []Item{{Inputs: map[string]string{"a-b": "ssm:/a"}, Path: "a", Format: formats.Template, Template: "x"}}, "identifier"},
		{"registry missing", []Item{{From: "ssm:/a", Path: "a", Format: formats.DockerCfg}}, "needs registry"},
		{"registry on raw", []Item{{From: "ssm:/a", Path: "a", Registry: "r"}}, "not a registry format"},
		{"registry twice", []Item{
			{From: "ssm:/a", Path: "c.json", Format: formats.DockerCfg, Registry: "r"},
			{From: "ssm:/b", Path: "c.json", Format: formats.DockerCfg, Registry: "r"}}, `registry "r" appears twice`},
		{"registry same host", []Item{
			{From: "ssm:/a", Path: "c.json", Format: formats.DockerCfg, Registry: "ghcr.io/org-a"},
			{From: "ssm:/b", Path: "c.json", Format: formats.DockerCfg, Registry: "ghcr.io/org-b"}}, `path "c.json" (format dockercfg): registries "ghcr.io/org-a" and "ghcr.io/org-b" have the same host "ghcr.io"`},
		{"registry same host, ecs-config", []Item{
			{From: "ssm:/a", Path: "ecs.config", Format: formats.ECSConfig, Registry: "ghcr.io"},
			{From: "ssm:/b", Path: "ecs.config", Format: formats.ECSConfig, Registry: "ghcr.io/org-b"}}, `registries "ghcr.io" and "ghcr.io/org-b" have the same host`},
		{"Docker Hub twice", []Item{
			{From: "ssm:/a", Path: "config.json", Format: formats.DockerConfigJSON, Registry: "docker.io"},
			{From: "ssm:/b", Path: "config.json", Format: formats.DockerConfigJSON, Registry: "registry-1.docker.io"}}, `registries "docker.io" and "registry-1.docker.io" both name Docker Hub`},
		{"Docker Hub with a path", []Item{{From: "ssm:/a", Path: "a", Format: formats.DockerConfigJSON, Registry: "docker.io/myorg"}}, `registry "docker.io/myorg": Docker Hub credentials cannot be limited to a path`},
		{"bad email", []Item{{From: "ssm:/a", Path: "a", Format: formats.DockerCfg, Registry: "ghcr.io", Email: "a\"b"}}, `registry "ghcr.io": email`},
		{"registry formats differ", []Item{
			{From: "ssm:/a", Path: "c.json", Format: formats.DockerCfg, Registry: "r"},
			{From: "ssm:/b", Path: "c.json", Format: formats.DockerConfigJSON, Registry: "s"}}, "already written"},
		{"registry with quote", []Item{{From: "ssm:/a", Path: "a", Format: formats.DockerCfg, Registry: `r"x`}}, "a quote"},
		{"s3 options on ssm", []Item{{From: "ssm:/a", Path: "a", AllowUnencrypted: true}}, "s3:// references only"},
		{"sse-c key from s3", []Item{{From: "s3://b/k", Path: "a", SSECustomerKey: "s3://b/key"}}, "not S3"},
		{"reserved name", []Item{{From: "ssm:/a", Path: "..data/a"}}, "belong to the injector"},
		{"reserved prefix", []Item{{From: "ssm:/a", Path: "..x"}}, "belong to the injector"},
		{"reserved explode", []Item{{From: "ssm:/a", Path: "./..lock", Format: formats.Explode}}, "belong to the injector"},
		{"ecs-config with another path", []Item{
			{From: "ssm:/a", Path: "a"},
			{From: "ssm:/b", Path: "ecs.config", Format: formats.ECSConfig, Registry: "r"}}, "cannot be written atomically together"},
		{"two ecs-config files", []Item{
			{From: "ssm:/a", Path: "a/ecs.config", Format: formats.ECSConfig, Registry: "r"},
			{From: "ssm:/b", Path: "b/ecs.config", Format: formats.ECSConfig, Registry: "r"}}, "cannot be written atomically together"},
		{"sse-c keys differ", []Item{
			{From: "s3://b/k", Path: "a", SSECustomerKey: "ssm:/k1"},
			{From: "s3://b/k", Path: "b", SSECustomerKey: "ssm:/k2"}}, "different sseCustomerKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(tt.items)
			if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrSpec saying %q", err, tt.want)
			}
		})
	}
}

// TestBuildLayout: only a first path element beginning with ".." is
// reserved, and an ecs-config output alone may merge several registries.
func TestBuildLayout(t *testing.T) {
	for _, items := range [][]Item{
		{{From: "ssm:/a", Path: ".hidden/..x"}, {From: "ssm:/b", Path: "a/..b/c"}, {From: "ssm:/c", Path: ".x"}},
		{{From: "ssm:/a", Path: "ecs.config", Format: formats.ECSConfig, Registry: "r"}, {From: "ssm:/b", Path: "ecs.config", Format: formats.ECSConfig, Registry: "s"}},
	} {
		if _, err := Build(items); err != nil {
			t.Errorf("Build(%v): %v", items, err)
		}
	}
}

func TestBuildRegistryPaths(t *testing.T) {
	// config.json keeps paths: two registries on one host are fine there.
	_, err := Build([]Item{
		{From: "ssm:/a", Path: "config.json", Format: formats.DockerConfigJSON, Registry: "ghcr.io/org-a"},
		{From: "ssm:/b", Path: "config.json", Format: formats.DockerConfigJSON, Registry: "ghcr.io/org-b"},
		{From: "ssm:/c", Path: "config.json", Format: formats.DockerConfigJSON, Registry: "https://index.docker.io/v2/"},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBuildStrictestS3(t *testing.T) {
	p, err := Build([]Item{
		{From: "s3://b/k", Path: "a", AllowUnencrypted: true},
		{From: "s3://b/k", Path: "b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Fetches) != 1 || p.Fetches[0].AllowUnencrypted {
		t.Fatalf("fetches = %+v, want one that requires encryption", p.Fetches)
	}
}

func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"a", "a/b", "../a", "/a", "a/../..", "./a//b/", "a\\b", ".", "", "..a", "a/.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, err := CleanPath(p)
		if err != nil {
			return
		}
		if c == "" || c == "." || path.IsAbs(c) || c != path.Clean(c) {
			t.Fatalf("CleanPath(%q) = %q", p, c)
		}
		if c == ".." || strings.HasPrefix(c, "../") {
			t.Fatalf("CleanPath(%q) = %q escapes the root", p, c)
		}
		if strings.ContainsAny(c, "\\\x00\n") {
			t.Fatalf("CleanPath(%q) = %q has a forbidden character", p, c)
		}
		again, err := CleanPath(c)
		if err != nil || again != c {
			t.Fatalf("CleanPath not idempotent: %q -> %q -> %q, %v", p, c, again, err)
		}
	})
}

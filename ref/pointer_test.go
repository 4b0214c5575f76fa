package ref

import (
	"errors"
	"strings"
	"testing"

	"github.com/ecs-secret-injector/injector/internal/strictjson"
)

func TestParsePointer(t *testing.T) {
	const smARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/db-AbCdEf"
	tests := []struct {
		in   string
		want Ref
	}{
		{"secretsmanager:app/db#/db/password", Ref{Target: Target{Source: SecretsManager, ID: "app/db"}, Pointer: "/db/password"}},
		{smARN + "#/a", Ref{Target: Target{Source: SecretsManager, Region: "eu-west-1", ID: smARN}, Pointer: "/a"}},
		// Everything after the '#' is the pointer, colons and '#' included.
		{"secretsmanager:app/db#/a:b::c#d", Ref{Target: Target{Source: SecretsManager, ID: "app/db"}, Pointer: "/a:b::c#d"}},
		// The ECS form's fields are split first: a '#' in them is part of them.
		{"secretsmanager:app/db:k#1::", Ref{Target: Target{Source: SecretsManager, ID: "app/db"}, JSONKey: "k#1"}},
		{"secretsmanager:app/db::AWS#X:", Ref{Target: Target{Source: SecretsManager, ID: "app/db", VersionStage: "AWS#X"}}},
		{"ssm:/app/cfg#/hosts/0", Ref{Target: Target{Source: SSM, ID: "/app/cfg"}, Pointer: "/hosts/0"}},
		{"ssm:/app/cfg:3#/x", Ref{Target: Target{Source: SSM, ID: "/app/cfg:3"}, Pointer: "/x"}},
		{"arn:aws:ssm:us-east-2:1:parameter/app/cfg:lbl#/x", Ref{Target: Target{Source: SSM, Region: "us-east-2", ID: "arn:aws:ssm:us-east-2:1:parameter/app/cfg:lbl"}, Pointer: "/x"}},
		{"s3://bkt/cfg.json?versionId=v1#/a~1b/~0c", Ref{Target: Target{Source: S3, ID: "bkt", Key: "cfg.json", VersionID: "v1"}, Pointer: "/a~1b/~0c"}},
		// Not percent-decoded: %41 is three characters of a key.
		{"s3://bkt/o%23x#/%41", Ref{Target: Target{Source: S3, ID: "bkt", Key: "o#x"}, Pointer: "/%41"}},
		{"env:DB#/", Ref{Target: Target{Source: Env, ID: "DB"}, Pointer: "/"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tt.want.Raw = tt.in
			if got != tt.want {
				t.Fatalf("Parse(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
	for _, tt := range []struct{ in, why string }{
		{"secretsmanager:app#", "empty JSON pointer"},
		{"secretsmanager:app#a", "must start with /"},
		{"secretsmanager:#/a", "empty secret name"},
		{"ssm:/app/cfg#/a~2", "~0"},
		{"ssm:/app/cfg#/a~", "~0"},
		{"ssm:/app/prod/#/a", "parameter path takes no JSON pointer"},
		{"s3://b/k#x", "must start with /"},
		{"s3://b/k?foo=1#/x", "unknown query parameter"},
		{"env:A-B#/x", "[A-Za-z_]"},
	} {
		_, err := Parse(tt.in)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("Parse(%q) err = %v, want ErrInvalid saying %q", tt.in, err, tt.why)
		}
	}
}

func TestSelectPointer(t *testing.T) {
	const value = `{
		"db": {"password": "s3cr3t-pw", "port": 5432, "ratio": 1.50},
		"a.b": {"c-d": {"e/f": {"g~h": "deep"}}},
		"": {"": "empty keys"},
		"hosts": [{"name": "h0"}, {"name": "h1", "tags": ["x", "y"]}],
		"obj": { "z": [1, 2, {"k": null}], "a": true },
		"nil": null,
		"%41": "not decoded",
		"#": "hash"
	}`
	tests := []struct{ pointer, want string }{
		{"/db/password", "s3cr3t-pw"},
		{"/db/port", "5432"},
		{"/db/ratio", "1.50"},
		{"/a.b/c-d/e~1f/g~0h", "deep"},
		{"//", "empty keys"},
		{"/hosts/1/name", "h1"},
		{"/hosts/1/tags/0", "x"},
		{"/obj", `{"z":[1,2,{"k":null}],"a":true}`},
		{"/obj/z", `[1,2,{"k":null}]`},
		{"/obj/z/2/k", "null"},
		{"/nil", "null"},
		{"/%41", "not decoded"},
		{"/#", "hash"},
	}
	o := DecodeObject([]byte(value))
	for _, tt := range tests {
		t.Run(tt.pointer, func(t *testing.T) {
			r, err := Parse("secretsmanager:app#" + tt.pointer)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Select(o)
			if err != nil || string(got) != tt.want {
				t.Fatalf("Select(%s) = %q, %v; want %q", tt.pointer, got, err, tt.want)
			}
			// Extract decodes the value itself, with the same result.
			if got, err := r.Extract([]byte(value)); err != nil || string(got) != tt.want {
				t.Fatalf("Extract(%s) = %q, %v; want %q", tt.pointer, got, err, tt.want)
			}
		})
	}
	for _, tt := range []struct{ pointer, why string }{
		{"/missing", `no key "missing" in the object at the top level`},
		{"/db/user", `no key "user" in the object at /db`},
		{"/a.b/c-d/e/f", `no key "e" in the object at /a.b/c-d`},
		{"/db/password/x", "the value at /db/password is a string, not an object or array"},
		{"/db/port/0", "the value at /db/port is a number"},
		{"/nil/x", "the value at /nil is null"},
		{"/hosts/2", "index 2 is past the end of the array at /hosts (2 elements)"},
		{"/hosts/01", `"01" is not an array index`},
		{"/hosts/-", `"-" is not an array index`},
		{"/hosts/name", `"name" is not an array index`},
		{"/hosts/99999999999999999999999", "not an array index"},
		{"/DB/password", `no key "DB"`},
		{"/a.b/c-d/e~1f/g~1h", `no key "g/h" in the object at /a.b/c-d/e~1f`},
	} {
		r, err := Parse("secretsmanager:app#" + tt.pointer)
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Select(o)
		if !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), tt.why) || !strings.Contains(err.Error(), r.Raw) {
			t.Errorf("Select(%s) err = %v, want ErrNoMatch naming the reference and saying %q", tt.pointer, err, tt.why)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("Select(%s) error holds the value: %v", tt.pointer, err)
		}
	}
}

func TestSelectPointerStrict(t *testing.T) {
	r, err := Parse("ssm:/cfg#/a")
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		value string
		want  error
	}{
		"not JSON":        {"s3cr3t", strictjson.ErrInvalid},
		"duplicate key":   {`{"a":"s3cr3t-A","a":"s3cr3t-B"}`, strictjson.ErrDuplicateKey},
		"duplicate below": {`{"a":"ok","o":[{"x":"s3cr3t","x":1}]}`, strictjson.ErrDuplicateKey},
		"invalid UTF-8":   {"{\"a\":\"s3cr3t\xff\"}", strictjson.ErrInvalid},
		"lone surrogate":  {`{"a":"s3cr3t\udfff"}`, strictjson.ErrInvalid},
		"trailing data":   {`{"a":"s3cr3t"} x`, strictjson.ErrInvalid},
	} {
		_, err := r.Extract([]byte(tt.value))
		if !errors.Is(err, tt.want) || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "/a") {
			t.Errorf("%s: err = %v, want %v naming the pointer", name, err, tt.want)
		}
	}
	// An array at the top level is a value a pointer can select from.
	r, _ = Parse("ssm:/cfg#/1")
	if got, err := r.Extract([]byte(`["a","b"]`)); err != nil || string(got) != "b" {
		t.Fatalf("Extract = %q, %v", got, err)
	}
}

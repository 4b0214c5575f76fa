package plan

import (
	"errors"
	"strings"
	"testing"

	"github.com/ecs-secret-injector/injector/formats"
)

func TestBuildSSMPath(t *testing.T) {
	p, err := Build([]Item{
		{From: "ssm:/app/prod/", Path: "prod", Format: formats.Explode},
		{From: "ssm:/app/prod/", Path: "prod.env", Format: formats.Dotenv},
		{From: "ssm:/app/empty/", Path: "empty.json", AllowEmpty: true},
		{Inputs: map[string]string{"all": "ssm:/app/prod/", "one": "ssm:/app/x"}, Path: "t", Format: formats.Template, Template: "x", AllowEmpty: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Fetches) != 3 {
		t.Fatalf("fetches %+v", p.Fetches)
	}
	// Named with and without allowEmpty: the strictest wins.
	if p.Fetches[0].AllowEmpty || !p.Fetches[1].AllowEmpty {
		t.Errorf("allowEmpty %+v", p.Fetches)
	}
}

func TestBuildSSMPathInvalid(t *testing.T) {
	tests := []struct {
		name  string
		items []Item
		want  string
	}{
		{"registry format", []Item{{From: "ssm:/app/prod/", Path: "c.json", Format: formats.DockerConfigJSON, Registry: "r"}}, "cannot take"},
		{"allowEmpty on one parameter", []Item{{From: "ssm:/app/x", Path: "a", AllowEmpty: true}}, "allowEmpty applies to SSM paths"},
		{"path as SSE-C key", []Item{{From: "s3://b/k", Path: "a", SSECustomerKey: "ssm:/keys/"}}, "not S3 or an SSM path"},
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

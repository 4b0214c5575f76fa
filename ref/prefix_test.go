package ref

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePrefix(t *testing.T) {
	const arnPrefix = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:"
	for _, tt := range []struct {
		in, id, name, str string
		region            string
	}{
		{"secretsmanager:app/prod/*", "app/prod/", "app/prod/", "secretsmanager:app/prod/*", ""},
		{"secretsmanager:a/*", "a/", "a/", "secretsmanager:a/*", ""},
		{arnPrefix + "team/db/*", arnPrefix + "team/db/", "team/db/", arnPrefix + "team/db/*", "eu-west-1"},
	} {
		r, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if r.Source != SecretsPrefix || r.ID != tt.id || r.PrefixName() != tt.name || r.String() != tt.str || r.Region != tt.region || !r.Source.Many() {
			t.Errorf("Parse(%q) = %+v (name %q, %s)", tt.in, r, r.PrefixName(), r.String())
		}
	}
	for _, tt := range []struct{ in, why string }{
		{"secretsmanager:app/prod*", "must end in '/'"},
		{"secretsmanager:*", "must end in '/'"},
		{"secretsmanager:/*", "must end in '/'"},
		{"secretsmanager:app/*/x", "'*' only at the end"},
		{"secretsmanager:app/**", "'*' only at the end"},
		{"secretsmanager:app//*", "empty element"},
		{"secretsmanager:app/*:k::", "'*' only at the end"},
		{"secretsmanager:app/*#/k", "takes no JSON pointer"},
	} {
		if _, err := Parse(tt.in); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("Parse(%q) err = %v, want it to say %q", tt.in, err, tt.why)
		}
	}
}

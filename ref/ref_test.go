package ref

import (
	"errors"
	"strings"
	"testing"

	"github.com/ecs-secret-injector/injector/internal/strictjson"
)

func TestParse(t *testing.T) {
	const smARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/db-AbCdEf"
	const ssmARN = "arn:aws:ssm:us-east-2:111122223333:parameter/app/key"
	tests := []struct {
		in   string
		want Ref
	}{
		{smARN, Ref{Target: Target{Source: SecretsManager, Region: "eu-west-1", ID: smARN}}},
		{smARN + ":password::", Ref{Target: Target{Source: SecretsManager, Region: "eu-west-1", ID: smARN}, JSONKey: "password"}},
		{smARN + "::AWSPREVIOUS:", Ref{Target: Target{Source: SecretsManager, Region: "eu-west-1", ID: smARN, VersionStage: "AWSPREVIOUS"}}},
		{smARN + ":user::v-1", Ref{Target: Target{Source: SecretsManager, Region: "eu-west-1", ID: smARN, VersionID: "v-1"}, JSONKey: "user"}},
		{"secretsmanager:app/db", Ref{Target: Target{Source: SecretsManager, ID: "app/db"}}},
		{"secretsmanager:app/db:k::", Ref{Target: Target{Source: SecretsManager, ID: "app/db"}, JSONKey: "k"}},
		{ssmARN, Ref{Target: Target{Source: SSM, Region: "us-east-2", ID: ssmARN}}},
		{ssmARN + ":3", Ref{Target: Target{Source: SSM, Region: "us-east-2", ID: ssmARN + ":3"}}},
		{"ssm:/app/key", Ref{Target: Target{Source: SSM, ID: "/app/key"}}},
		{"ssm:plain:prod", Ref{Target: Target{Source: SSM, ID: "plain:prod"}}},
		{"s3://bkt/dir/obj.pem", Ref{Target: Target{Source: S3, ID: "bkt", Key: "dir/obj.pem"}}},
		{"s3://bkt/o?versionId=v1&region=ap-south-1", Ref{Target: Target{Source: S3, ID: "bkt", Key: "o", VersionID: "v1", Region: "ap-south-1"}}},
		{"ssm:/app/prod/", Ref{Target: Target{Source: SSMPath, ID: "/app/prod/"}}},
		{"ssm:/", Ref{Target: Target{Source: SSMPath, ID: "/"}}},
		{"arn:aws:ssm:eu-west-1:111122223333:parameter/app/prod/", Ref{Target: Target{Source: SSMPath, Region: "eu-west-1", ID: "/app/prod/"}}},
		{"env:DB_PASSWORD", Ref{Target: Target{Source: Env, ID: "DB_PASSWORD"}}},
		{"env:_x9", Ref{Target: Target{Source: Env, ID: "_x9"}}},
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
}

func TestParseInvalid(t *testing.T) {
	tests := []struct{ in, why string }{
		{"", "empty"},
		{"app/db", "want arn"},
		{"secretsmanager:", "empty secret name"},
		{"secretsmanager:a:b", "NAME or NAME:json-key"},
		{"secretsmanager:a:k:AWSCURRENT:v1", "not both"},
		{"arn:aws:secretsmanager:us-east-1:1:parameter/x", `must start with "secret:"`},
		{"arn:aws:secretsmanager::1:secret:x", "partition, region and account"},
		{"arn:aws:iam:us-east-1:1:role/x", "not secretsmanager or ssm"},
		{"arn:aws:ssm", "too few fields"},
		{"ssm:", "empty parameter name"},
		{"ssm:/a:", "selector"},
		{"ssm:/a:1:2", "selector"},
		{"s3://", "empty bucket"},
		{"s3://b", "object key"},
		{"s3://b/dir/", "object key"},
		{"s3://b/k?foo=1", "unknown query parameter"},
		{"s3://b/k?versionId=", "exactly one value"},
		{"s3://u@b/k", "only bucket"},
		{"ssm:/a\n", "control character"},
		{"ssm:app/prod/", "must start with /"},
		{"ssm:/app//prod/", "empty element"},
		{"ssm:/app/prod/:3", "no :version"},
		{"env:", "empty environment variable name"},
		{"env:9A", "[A-Za-z_]"},
		{"env:A-B", "[A-Za-z_]"},
		{"env:A=B", "[A-Za-z_]"},
		{"ENV:A", "env:NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) err = %v, want ErrInvalid", tt.in, err)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Fatalf("Parse(%q) err = %q, want it to say %q", tt.in, err, tt.why)
			}
		})
	}
}

func TestExtract(t *testing.T) {
	const secret = `{"user":"admin","password":"s3cr3t-VALUE","port":5432,"nested":{"a": [1, 2]}}`
	tests := []struct {
		key, want string
		wantErr   error
	}{
		{"", secret, nil},
		{"user", "admin", nil},
		{"port", "5432", nil},
		{"nested", `{"a":[1,2]}`, nil},
		{"missing", "", ErrNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			r := Ref{JSONKey: tt.key, Raw: "secretsmanager:x"}
			got, err := r.Extract([]byte(secret))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cr3t-VALUE") {
					t.Fatalf("error leaks the value: %v", err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("Extract(%q) = %q, %v; want %q", tt.key, got, err, tt.want)
			}
		})
	}
	for name, tt := range map[string]struct {
		value string
		want  error
	}{
		"not JSON":            {"not-json-s3cr3t", strictjson.ErrInvalid},
		"not an object":       {`["s3cr3t"]`, strictjson.ErrNotObject},
		"duplicate key":       {`{"k":"s3cr3t-A","k":"s3cr3t-B"}`, strictjson.ErrDuplicateKey},
		"duplicate elsewhere": {`{"k":"ok","o":{"x":"s3cr3t","x":1}}`, strictjson.ErrDuplicateKey},
		"invalid UTF-8":       {"{\"k\":\"s3cr3t\xff\"}", strictjson.ErrInvalid},
		"lone surrogate":      {`{"k":"s3cr3t\udfff"}`, strictjson.ErrInvalid},
	} {
		_, err := Ref{JSONKey: "k", Raw: "x"}.Extract([]byte(tt.value))
		if !errors.Is(err, tt.want) || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), `"k"`) {
			t.Errorf("%s: err = %v, want %v naming the key", name, err, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"arn:aws:secretsmanager:eu-west-1:1:secret:a-AbCdEf:k::", "secretsmanager:a", "ssm:/a/b:3",
		"arn:aws:ssm:us-east-1:1:parameter/a:lbl", "s3://b/k?versionId=1", "s3://b/../k", "arn:::::",
		"ssm:/", "ssm:/a/", "env:A", "env:A#/k", "secretsmanager:a/*", "secretsmanager:a#/b/0", "s3://b/k#/a~1b",
		"arn:aws:secretsmanager:eu-west-1:1:secret:a/*",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		// Every source a reference can name, each with its id.
		if r.Raw != s || strings.HasPrefix(r.Source.String(), "source(") || r.ID == "" {
			t.Fatalf("Parse(%q) = %+v", s, r)
		}
		if r.Source == S3 && r.Key == "" {
			t.Fatalf("s3 ref without key: %+v", r)
		}
		if r.JSONKey != "" && r.Source != SecretsManager {
			t.Fatalf("json key on %v", r.Source)
		}
		// A pointer is a valid one, on a source of one value.
		if r.Pointer != "" {
			if _, err := parsePointer(r.Pointer); err != nil || r.Source.Many() || r.JSONKey != "" {
				t.Fatalf("pointer %q on %+v: %v", r.Pointer, r, err)
			}
		}
		// Reparsing the same text gives the same reference.
		again, err := Parse(s)
		if err != nil || again != r {
			t.Fatalf("reparse differs: %+v %v", again, err)
		}
	})
}

func TestSplitSelectorAndAccount(t *testing.T) {
	tests := []struct {
		ref, param, sel, account string
	}{
		{"ssm:/app/key", "/app/key", "", ""},
		{"ssm:/app/key:3", "/app/key", "3", ""},
		{"ssm:/app/key:prod", "/app/key", "prod", ""},
		{"arn:aws:ssm:eu-west-1:111122223333:parameter/app/key", "arn:aws:ssm:eu-west-1:111122223333:parameter/app/key", "", "111122223333"},
		{"arn:aws:ssm:eu-west-1:111122223333:parameter/app/key:7", "arn:aws:ssm:eu-west-1:111122223333:parameter/app/key", "7", "111122223333"},
		{"arn:aws:secretsmanager:us-east-1:444455556666:secret:db-AbCdEf", "", "", "444455556666"},
		{"secretsmanager:db", "", "", ""},
	}
	for _, tt := range tests {
		r, err := Parse(tt.ref)
		if err != nil {
			t.Fatal(err)
		}
		if r.Source == SSM {
			if p, s := SplitSelector(r.ID); p != tt.param || s != tt.sel {
				t.Errorf("SplitSelector(%q) = %q, %q; want %q, %q", r.ID, p, s, tt.param, tt.sel)
			}
		}
		if got := r.Account(); got != tt.account {
			t.Errorf("%s: Account() = %q, want %q", tt.ref, got, tt.account)
		}
	}
}

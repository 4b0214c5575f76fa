package sources

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func TestSecretMatches(t *testing.T) {
	const arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf"
	tests := []struct {
		id   string
		want bool
	}{
		{arn, true},
		{"app/db", true},
		{"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db", true}, // partial ARN
		{"arn:aws:secretsmanager:us-east-1:111122223333:secret:app", false},
		{"app", false},
		{"app/db-AbCdEf", false},
	}
	for _, tt := range tests {
		if got := secretMatches(tt.id, arn, "app/db"); got != tt.want {
			t.Errorf("secretMatches(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestFindParameter(t *testing.T) {
	const arn = "arn:aws:ssm:us-east-1:111122223333:parameter/app/key"
	param := func(version int64, selector, value string) types.Parameter {
		p := types.Parameter{Name: aws.String("/app/key"), ARN: aws.String(arn), Version: version, Value: aws.String(value)}
		if selector != "" {
			p.Selector = aws.String(selector)
		}
		return p
	}
	tests := []struct {
		name   string
		id     string
		params []types.Parameter
		want   string // value, "" for not found
	}{
		{"by name", "/app/key", []types.Parameter{param(3, "", "v3")}, "v3"},
		{"by arn", arn, []types.Parameter{param(3, "", "v3")}, "v3"},
		{"selector echoed", "/app/key:1", []types.Parameter{param(3, "", "v3"), param(1, ":1", "v1")}, "v1"},
		{"label echoed", arn + ":prod", []types.Parameter{param(3, "", "v3"), param(2, ":prod", "v2")}, "v2"},
		{"version not echoed", "/app/key:1", []types.Parameter{param(3, "", "v3"), param(1, "", "v1")}, "v1"},
		{"unselected picks newest", "/app/key", []types.Parameter{param(1, "", "v1"), param(3, "", "v3")}, "v3"},
		{"label not echoed, alone", "/app/key:prod", []types.Parameter{param(2, "", "v2")}, "v2"},
		{"other name", "/app/other", []types.Parameter{param(3, "", "v3")}, ""},
		{"selector not answered", "/app/key:7", []types.Parameter{param(3, ":3", "v3")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := findParameter(tt.id, tt.params)
			got := ""
			if ok {
				got = aws.ToString(p.Value)
			}
			if got != tt.want {
				t.Fatalf("findParameter(%q) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
}

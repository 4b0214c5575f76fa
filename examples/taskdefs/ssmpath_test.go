package taskdefs_test

import (
	"strings"
	"testing"
)

// isSSMPath reports an SSM path reference (ssm:/app/prod/), which reads
// every parameter below the path with GetParametersByPath.
func isSSMPath(ref string) bool { return strings.HasSuffix(ref, "/") }

// pathAccess is what GetParametersByPath needs: it is authorized against
// the path in the request (the reference without its trailing slash), not
// against each parameter it returns.
func pathAccess(pathARN string) access { return access{"ssm:GetParametersByPath", pathARN} }

func TestRequiredAccessSSMPath(t *testing.T) {
	w := wiring{region: "us-east-1", account: "111122223333", partition: "aws"}
	for ref, want := range map[string]access{
		"ssm:/app/prod/": {"ssm:GetParametersByPath", "arn:aws:ssm:us-east-1:111122223333:parameter/app/prod"},
		"arn:aws:ssm:eu-west-1:111122223333:parameter/app/prod/": {"ssm:GetParametersByPath", "arn:aws:ssm:eu-west-1:111122223333:parameter/app/prod"},
	} {
		got, err := requiredAccess(ref, w)
		if err != nil || got != want {
			t.Errorf("requiredAccess(%q) = %+v, %v; want %+v", ref, got, err, want)
		}
	}
}

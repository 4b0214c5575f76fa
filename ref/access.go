package ref

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// The checks of the names a spec or a setting gives for how references are
// read: the role (roleArn, INJECTOR_ROLE_ARN) and the failover region
// (failoverRegion, INJECTOR_FAILOVER_REGION).

// region is the shape of a region name (us-east-1, us-gov-west-1).
var region = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// CheckRegion checks that name has the shape of a region name.
func CheckRegion(name string) error {
	if !region.MatchString(name) {
		return fmt.Errorf("%q is not a region name (such as us-west-2)", name)
	}
	return nil
}

// CheckRoleARN checks that s is an IAM role ARN,
// arn:PARTITION:iam::ACCOUNT:role/NAME.
func CheckRoleARN(s string) error {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "iam" || a.Region != "" || len(a.AccountID) != 12 ||
		strings.Trim(a.AccountID, "0123456789") != "" || !strings.HasPrefix(a.Resource, "role/") ||
		len(a.Resource) == len("role/") || strings.ContainsAny(s, "*? ") {
		return fmt.Errorf("%q is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)", s)
	}
	return nil
}

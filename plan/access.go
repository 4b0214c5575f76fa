package plan

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/ecs-secret-injector/injector/ref"
)

// checkAccess checks an item's roleArn, externalId and failoverRegion
// (after defaults): each error names the field.
func checkAccess(it Item) error {
	var errs []error
	if it.RoleARN != "" {
		if err := ref.CheckRoleARN(it.RoleARN); err != nil {
			errs = append(errs, fmt.Errorf("field %q: %w", "roleArn", err))
		}
	}
	if it.ExternalID != "" {
		switch {
		case it.RoleARN == "":
			errs = append(errs, fmt.Errorf("field %q: needs roleArn (an external id is sent when assuming a role)", "externalId"))
		case len(it.ExternalID) < 2 || len(it.ExternalID) > 1224 || !externalID.MatchString(it.ExternalID):
			errs = append(errs, fmt.Errorf("field %q: want 2 to 1224 characters of letters, digits and +=,.@:/-", "externalId"))
		}
	}
	if it.FailoverRegion != "" {
		if err := ref.CheckRegion(it.FailoverRegion); err != nil {
			errs = append(errs, fmt.Errorf("field %q: %w", "failoverRegion", err))
		}
	}
	return errors.Join(errs...)
}

// externalID is what STS accepts as an external id.
var externalID = regexp.MustCompile(`^[\w+=,.@:/-]+$`)

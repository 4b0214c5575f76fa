package iampolicy

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/sources"
)

// Roles and other accounts. A spec whose items read as roles (roleArn),
// or read another account's secrets directly, needs more than the task
// role's policy: each role needs a policy of its own and a trust policy
// that lets the task role assume it, and a secret read from another
// account needs a statement in its resource policy and in its KMS key's
// policy. Set holds them all.

// Set is every policy a spec needs across accounts.
type Set struct {
	// TaskRole is the task role's policy: sts:AssumeRole on exactly the
	// roles the spec names, and the direct grants of the items that name
	// none.
	TaskRole Document `json:"taskRolePolicy"`
	// Roles are the policies of each role the spec names, by ARN.
	Roles []RolePolicies `json:"roles,omitempty"`
	// SecretPolicies are the statements the resource policies of secrets
	// in another account than their reader's need.
	SecretPolicies []ResourcePolicy `json:"secretResourcePolicies,omitempty"`
	// KeyPolicies are the statements the key policies of their customer
	// managed keys need (the keys given in Options.KMSKeys).
	KeyPolicies []ResourcePolicy `json:"kmsKeyPolicies,omitempty"`
}

// RolePolicies are what one role needs.
type RolePolicies struct {
	RoleARN string   `json:"roleArn"`
	Policy  Document `json:"policy"`
	// Trust is the statement of the role's trust policy that lets the
	// task role assume it (with the external ids the spec sends).
	Trust PrincipalStatement `json:"trustPolicyStatement"`
}

// ResourcePolicy is a statement for the policy of one resource: a secret
// (its ARN, "-??????" standing for the random suffix of one named without)
// or a KMS key.
type ResourcePolicy struct {
	Resource  string             `json:"resource"`
	Statement PrincipalStatement `json:"statement"`
}

// PrincipalStatement is a statement of a trust or resource policy: it
// names who it allows.
type PrincipalStatement struct {
	Sid       string                         `json:"Sid,omitempty"`
	Effect    string                         `json:"Effect"`
	Principal map[string]string              `json:"Principal"`
	Action    []string                       `json:"Action"`
	Resource  string                         `json:"Resource,omitempty"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

const actAssumeRole = "sts:AssumeRole"

// NeedsSet reports whether the calls need a Set rather than one
// Document: some are made as a role, or (with the task role's ARN known)
// some read a secret of another account.
func NeedsSet(calls []sources.Call, taskRole string) bool {
	if slices.ContainsFunc(calls, func(c sources.Call) bool { return c.Role != "" }) {
		return true
	}
	return taskRole != "" && len(crossAccount(calls, accountOf(taskRole), taskRole)) > 0
}

// BuildSet returns every policy the calls need. taskRole is the ARN of the
// task role, which trust and resource policies name.
func BuildSet(calls []sources.Call, o Options, taskRole string) (Set, error) {
	if taskRole == "" {
		return Set{}, fmt.Errorf("%w: the spec reads as roles or from other accounts, whose policies name the task role: give its ARN", ErrOptions)
	}
	if err := ref.CheckRoleARN(taskRole); err != nil {
		return Set{}, fmt.Errorf("%w: task role: %w", ErrOptions, err)
	}
	taskAccount := accountOf(taskRole)
	byRole := map[string][]sources.Call{}
	externalIDs := map[string]map[string]bool{}
	for _, c := range calls {
		byRole[c.Role] = append(byRole[c.Role], c)
		if c.Role != "" {
			if externalIDs[c.Role] == nil {
				externalIDs[c.Role] = map[string]bool{}
			}
			if c.ExternalID != "" {
				externalIDs[c.Role][c.ExternalID] = true
			}
		}
	}
	roles := slices.Sorted(maps.Keys(externalIDs))
	// A key goes to the policy of the role in its account, else the task's.
	keysOf := map[string][]string{}
	for _, key := range o.KMSKeys {
		owner := ""
		for _, r := range roles {
			if accountOf(r) == accountOf(key) {
				owner = r
				break
			}
		}
		keysOf[owner] = append(keysOf[owner], key)
	}
	var set Set
	var errs []error
	task := o
	task.Account, task.KMSKeys = cmpOr(o.Account, taskAccount), keysOf[""]
	doc, err := Build(byRole[""], task)
	errs = append(errs, err)
	if len(roles) > 0 {
		resources := make([]string, len(roles))
		copy(resources, roles)
		doc.Statement = append([]Statement{{Sid: "AssumeInjectorRoles", Effect: "Allow", Action: actAssumeRole, Resource: resources}}, doc.Statement...)
	}
	set.TaskRole = doc
	for _, r := range roles {
		ro := o
		ro.Account, ro.KMSKeys = accountOf(r), keysOf[r]
		rdoc, err := Build(byRole[r], ro)
		errs = append(errs, err)
		trust := PrincipalStatement{Sid: "AllowInjectorTaskRole", Effect: "Allow", Principal: map[string]string{"AWS": taskRole}, Action: []string{actAssumeRole}}
		if ids := slices.Sorted(maps.Keys(externalIDs[r])); len(ids) > 0 {
			trust.Condition = map[string]map[string][]string{"StringEquals": {"sts:ExternalId": ids}}
		}
		set.Roles = append(set.Roles, RolePolicies{RoleARN: r, Policy: rdoc, Trust: trust})
	}
	if err := errors.Join(errs...); err != nil {
		return Set{}, err
	}
	set.SecretPolicies, set.KeyPolicies = resourcePolicies(calls, taskAccount, taskRole, o.KMSKeys)
	return set, nil
}

// foreignSecret is a secret read by a reader of another account.
type foreignSecret struct {
	resource, reader, account, region string
	actions                           map[string]bool
}

// crossAccount lists the secrets that calls read from another account
// than their reader's (the call's role, or the task role), by ARN and
// reader. taskAccount "" leaves out the task's direct reads.
func crossAccount(calls []sources.Call, taskAccount, taskRole string) []*foreignSecret {
	found := map[[2]string]*foreignSecret{}
	for _, c := range calls {
		if c.Service != "secretsmanager" {
			continue
		}
		reader, account := c.Role, accountOf(c.Role)
		if reader == "" {
			reader, account = taskRole, taskAccount
		}
		if account == "" {
			continue
		}
		action := actGetSecretValue
		if c.Operation == "DescribeSecret" {
			action = actDescribeSecret
		}
		read := func(targets []ref.Target) {
			for _, t := range targets {
				a, err := arn.Parse(t.ID)
				if err != nil || a.AccountID == account {
					continue
				}
				res := t.ID
				if !hasSecretSuffix(strings.TrimPrefix(a.Resource, "secret:")) {
					res += secretSuffix
				}
				k := [2]string{res, reader}
				if found[k] == nil {
					found[k] = &foreignSecret{resource: res, reader: reader, account: a.AccountID, region: a.Region, actions: map[string]bool{}}
				}
				found[k].actions[action] = true
			}
		}
		read(c.Targets)
		read(c.FailoverTargets)
	}
	var out []*foreignSecret
	for _, k := range slices.SortedFunc(maps.Keys(found), func(a, b [2]string) int {
		return strings.Compare(a[0]+" "+a[1], b[0]+" "+b[1])
	}) {
		out = append(out, found[k])
	}
	return out
}

// resourcePolicies are the statements of the secrets read from another
// account and of the given keys in their accounts and regions.
func resourcePolicies(calls []sources.Call, taskAccount, taskRole string, keys []string) (secrets, keyPolicies []ResourcePolicy) {
	via := map[[2]string]map[string]bool{} // key account, region -> reader
	for _, s := range crossAccount(calls, taskAccount, taskRole) {
		secrets = append(secrets, ResourcePolicy{Resource: s.resource, Statement: PrincipalStatement{
			Sid: "AllowInjectorReader", Effect: "Allow", Principal: map[string]string{"AWS": s.reader},
			Action: slices.Sorted(maps.Keys(s.actions)), Resource: "*"}})
		k := [2]string{s.account, s.region}
		if via[k] == nil {
			via[k] = map[string]bool{}
		}
		via[k][s.reader] = true
	}
	for _, key := range keys {
		a, err := arn.Parse(key)
		if err != nil {
			continue
		}
		readers := via[[2]string{a.AccountID, a.Region}]
		for _, reader := range slices.Sorted(maps.Keys(readers)) {
			keyPolicies = append(keyPolicies, ResourcePolicy{Resource: key, Statement: PrincipalStatement{
				Sid: "AllowInjectorReaderDecryptViaSecretsManager", Effect: "Allow", Principal: map[string]string{"AWS": reader},
				Action: []string{actDecrypt}, Resource: "*",
				Condition: map[string]map[string][]string{"StringEquals": {"kms:ViaService": {ViaService("secretsmanager", a.Region)}}}}})
		}
	}
	return secrets, keyPolicies
}

// WarnManagedKey is the warning for a secret read from another account.
const WarnManagedKey = "is read from another account: it must be encrypted with a customer managed KMS key whose key policy " +
	"allows the reader (the AWS managed key aws/secretsmanager cannot be used across accounts), and its resource policy must allow the reader"

// Warnings says which secrets the calls read from another account than
// their reader's. With taskRole "" (validate: the task's account is not
// known), direct reads count only when their ARNs name several accounts.
func Warnings(calls []sources.Call, taskRole string) []string {
	var w []string
	for _, s := range crossAccount(calls, accountOf(taskRole), taskRole) {
		reader := s.reader
		w = append(w, fmt.Sprintf("secret %s (account %s) %s (%s)", s.resource, s.account, WarnManagedKey, reader))
	}
	if taskRole == "" {
		accounts := map[string]bool{}
		for _, c := range calls {
			if c.Service != "secretsmanager" || c.Role != "" {
				continue
			}
			for _, t := range slices.Concat(c.Targets, c.FailoverTargets) {
				if a := t.Account(); a != "" {
					accounts[a] = true
				}
			}
		}
		if len(accounts) > 1 {
			w = append(w, fmt.Sprintf("the task reads secrets of several accounts directly (%s): each one in another account than the task's %s",
				strings.Join(slices.Sorted(maps.Keys(accounts)), ", "), WarnManagedKey))
		}
	}
	return slices.Compact(w)
}

// accountOf is the account an ARN names, "" for none.
func accountOf(s string) string {
	if a, err := arn.Parse(s); err == nil {
		return a.AccountID
	}
	return ""
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Package iampolicy builds the least-privilege IAM policy for the calls a
// run makes (sources.Call, as engine.Describe plans them): each action the
// calls need, on the exact resources they read, and kms:Decrypt on the keys
// the operator names, only through the services that decrypt for the run.
// It knows how IAM authorizes each call; what the calls are comes from the
// sources' own planning, so the policy follows what a run does.
package iampolicy

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/sources"
)

// Version is the IAM policy language version.
const Version = "2012-10-17"

// Document is an IAM identity policy.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement allows one action on resources, under conditions.
type Statement struct {
	Sid       string                         `json:"Sid,omitempty"`
	Effect    string                         `json:"Effect"`
	Action    string                         `json:"Action"`
	Resource  []string                       `json:"Resource"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

// Options say what the calls do not: the account and partition of
// references that name none, and the KMS keys that encrypt the values.
type Options struct {
	// Account is the account of secrets and parameters named without an
	// ARN. Empty: the one account the references' ARNs name; an error if
	// they name none or several and a reference needs one.
	Account string
	// Partition is the partition of references named without an ARN.
	// Empty: the partition of the call's region (PartitionOf).
	Partition string
	// KMSKeys are the ARNs of the customer managed keys the values are
	// encrypted with: kms:Decrypt is allowed on them through the services
	// that decrypt for the run in the key's region. None: no kms:Decrypt
	// (AWS managed keys need none in the policy).
	KMSKeys []string
}

// ErrOptions is wrapped by errors about Options.
var ErrOptions = errors.New("cannot build the policy")

// ErrNoAccount is wrapped by the error for a reference that needs an
// account (Options.Account) when none is known.
var ErrNoAccount = errors.New("the account of references without an ARN is unknown")

// IAM actions the calls need.
const (
	actGetSecretValue      = "secretsmanager:GetSecretValue"
	actBatchGetSecretValue = "secretsmanager:BatchGetSecretValue"
	actDescribeSecret      = "secretsmanager:DescribeSecret"
	actListSecrets         = "secretsmanager:ListSecrets"
	actGetParameters       = "ssm:GetParameters"
	actGetParametersByPath = "ssm:GetParametersByPath"
	actGetObject           = "s3:GetObject"
	actGetObjectVersion    = "s3:GetObjectVersion"
	actDecrypt             = "kms:Decrypt"
)

// statements lists, in the order printed, each action's statement id.
var statements = []struct{ action, sid string }{
	{actGetSecretValue, "ReadSecrets"},
	{actBatchGetSecretValue, "BatchGetSecretValueHasNoResourceLevelPermissions"},
	{actDescribeSecret, "CheckSecretVersions"},
	{actListSecrets, "ListSecretsHasNoResourceLevelPermissions"},
	{actGetParameters, "ReadParameters"},
	{actGetParametersByPath, "ReadParameterPaths"},
	{actGetObject, "ReadObjects"},
	{actGetObjectVersion, "ReadPinnedObjectVersions"},
}

// secretSuffix stands for the six random characters and the hyphen that
// Secrets Manager appends to a secret's name in its ARN.
const secretSuffix = "-??????"

// Build returns the policy that allows calls and nothing else.
func Build(calls []sources.Call, o Options) (Document, error) {
	b := builder{opts: o, grants: map[string]map[string]bool{}, via: map[string]map[string]bool{}}
	b.account, b.accountErr = defaultAccount(calls, o.Account)
	var errs []error
	for _, c := range calls {
		errs = append(errs, b.add(c))
	}
	if err := errors.Join(errs...); err != nil {
		return Document{}, err
	}
	doc := Document{Version: Version, Statement: []Statement{}}
	for _, s := range statements {
		if res := b.grants[s.action]; len(res) > 0 {
			doc.Statement = append(doc.Statement, Statement{Sid: s.sid, Effect: "Allow", Action: s.action, Resource: slices.Sorted(maps.Keys(res))})
		}
	}
	decrypt, err := b.decrypt()
	if err != nil {
		return Document{}, err
	}
	doc.Statement = append(doc.Statement, decrypt...)
	return doc, nil
}

type builder struct {
	opts       Options
	account    string
	accountErr error
	grants     map[string]map[string]bool // action -> resources
	via        map[string]map[string]bool // region -> kms:ViaService values
}

func (b *builder) grant(action, resource string) {
	if b.grants[action] == nil {
		b.grants[action] = map[string]bool{}
	}
	b.grants[action][resource] = true
}

// add grants what one call needs: how IAM authorizes each operation.
func (b *builder) add(c sources.Call) error {
	if c.Service == "" {
		return nil // no API call (env:)
	}
	if c.KMS {
		if b.via[c.Region] == nil {
			b.via[c.Region] = map[string]bool{}
		}
		b.via[c.Region][ViaService(c.Service, c.Region)] = true
	}
	var errs []error
	errs = append(errs, b.addTargets(c, c.Targets, c.Region))
	if c.FailoverRegion != "" {
		// The replicas, read in the failover region on an outage.
		if c.KMS {
			if b.via[c.FailoverRegion] == nil {
				b.via[c.FailoverRegion] = map[string]bool{}
			}
			b.via[c.FailoverRegion][ViaService(c.Service, c.FailoverRegion)] = true
		}
		errs = append(errs, b.addTargets(c, c.FailoverTargets, c.FailoverRegion))
	}
	return errors.Join(errs...)
}

// addTargets grants what call c needs to read targets in region.
func (b *builder) addTargets(c sources.Call, targets []ref.Target, region string) error {
	var errs []error
	for _, t := range targets {
		var err error
		switch c.Service + ":" + c.Operation {
		case "secretsmanager:GetSecretValue":
			err = b.grantSecret(actGetSecretValue, t, region)
		case "secretsmanager:BatchGetSecretValue":
			// No resource-level permissions: "*", and each secret it
			// returns is authorized again as GetSecretValue. With a name
			// filter (a prefix) it also lists, as ListSecrets does.
			b.grant(actBatchGetSecretValue, "*")
			if t.Source == ref.SecretsPrefix {
				b.grant(actListSecrets, "*")
			}
			err = b.grantSecret(actGetSecretValue, t, region)
		case "secretsmanager:ListSecrets":
			b.grant(actListSecrets, "*")
		case "secretsmanager:DescribeSecret":
			err = b.grantSecret(actDescribeSecret, t, region)
		case "ssm:GetParameters":
			err = b.grantParameter(actGetParameters, parameterOf(t.ID), t, region)
		case "ssm:GetParametersByPath":
			// Authorized on the path in the request, without its
			// trailing slash.
			err = b.grantParameter(actGetParametersByPath, strings.TrimSuffix(t.ID, "/"), t, region)
		case "s3:GetObject", "s3:HeadObject":
			// A request naming a version is authorized as
			// s3:GetObjectVersion alone; s3:GetObject covers the current
			// version only (HeadObject needs the same as GetObject).
			action := actGetObject
			if c.Version {
				action = actGetObjectVersion
			}
			b.grant(action, fmt.Sprintf("arn:%s:s3:::%s/%s", b.partition(region), t.ID, t.Key))
		default:
			return fmt.Errorf("%w: no IAM mapping for %s %s", ErrOptions, c.Service, c.Operation)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// grantSecret grants action on the secret t names: its ARN, or for a name
// (or a partial ARN, without the random suffix) the ARN with "-??????" for
// the suffix. A partial ARN whose name ends in a hyphen and six letters or
// digits cannot be told from a full ARN and is taken for one (Secrets
// Manager itself advises against partial ARNs for this reason).
func (b *builder) grantSecret(action string, t ref.Target, region string) error {
	if t.Source == ref.SecretsPrefix {
		// Every secret whose name starts with the prefix: the prefix's
		// ARN pattern (its names' suffixes included).
		if strings.HasPrefix(t.ID, "arn:") {
			b.grant(action, t.ID+"*")
			return nil
		}
		if b.accountErr != nil {
			return fmt.Errorf("%w: %s: %w", ErrNoAccount, t, b.accountErr)
		}
		b.grant(action, fmt.Sprintf("arn:%s:secretsmanager:%s:%s:secret:%s*", b.partition(region), region, b.account, t.ID))
		return nil
	}
	if a, err := arn.Parse(t.ID); err == nil {
		if hasSecretSuffix(strings.TrimPrefix(a.Resource, "secret:")) {
			b.grant(action, t.ID)
		} else {
			b.grant(action, t.ID+secretSuffix)
		}
		return nil
	}
	if b.accountErr != nil {
		return fmt.Errorf("%w: %s: %w", ErrNoAccount, t, b.accountErr)
	}
	b.grant(action, fmt.Sprintf("arn:%s:secretsmanager:%s:%s:secret:%s%s", b.partition(region), region, b.account, t.ID, secretSuffix))
	return nil
}

// grantParameter grants action on the parameter (or path) name, given as
// an ARN or a name.
func (b *builder) grantParameter(action, name string, t ref.Target, region string) error {
	if strings.HasPrefix(name, "arn:") {
		b.grant(action, name)
		return nil
	}
	if b.accountErr != nil {
		return fmt.Errorf("%w: %s: %w", ErrNoAccount, t, b.accountErr)
	}
	b.grant(action, fmt.Sprintf("arn:%s:ssm:%s:%s:parameter/%s", b.partition(region), region, b.account, strings.TrimPrefix(name, "/")))
	return nil
}

func (b *builder) partition(region string) string {
	return cmp.Or(b.opts.Partition, PartitionOf(region))
}

// decrypt allows kms:Decrypt on each key through the services that decrypt
// for the run in the key's region: one statement per region.
func (b *builder) decrypt() ([]Statement, error) {
	byRegion := map[string][]string{}
	var errs []error
	for _, key := range b.opts.KMSKeys {
		region, err := keyRegion(key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(b.via[region]) == 0 {
			errs = append(errs, fmt.Errorf("%w: KMS key %s: the spec reads nothing through KMS in %s", ErrOptions, key, region))
			continue
		}
		if !slices.Contains(byRegion[region], key) {
			byRegion[region] = append(byRegion[region], key)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	regions := slices.Sorted(maps.Keys(byRegion))
	var out []Statement
	for i, region := range regions {
		sid := "DecryptViaServicesOnly"
		if len(regions) > 1 {
			sid += fmt.Sprint(i + 1)
		}
		out = append(out, Statement{Sid: sid, Effect: "Allow", Action: actDecrypt, Resource: slices.Sorted(slices.Values(byRegion[region])),
			Condition: map[string]map[string][]string{"StringEquals": {"kms:ViaService": slices.Sorted(maps.Keys(b.via[region]))}}})
	}
	return out, nil
}

// ViaService is the kms:ViaService value of service in region.
func ViaService(service, region string) string {
	return service + "." + region + ".amazonaws.com"
}

// NeedsKMS reports whether any call reads through a service that may
// decrypt with a KMS key: with a customer managed key, the policy then needs
// that key (Options.KMSKeys).
func NeedsKMS(calls []sources.Call) bool {
	return slices.ContainsFunc(calls, func(c sources.Call) bool { return c.KMS })
}

// keyRegion checks that key is a KMS key ARN (IAM authorizes kms:Decrypt
// on the key, not an alias) and returns its region.
func keyRegion(key string) (string, error) {
	a, err := arn.Parse(key)
	if err != nil || a.Partition == "" || a.Service != "kms" || a.Region == "" || a.AccountID == "" ||
		!strings.HasPrefix(a.Resource, "key/") || len(a.Resource) == len("key/") || strings.ContainsAny(key, "*?") {
		return "", fmt.Errorf("%w: KMS key %q: want a key ARN, arn:PARTITION:kms:REGION:ACCOUNT:key/ID (not an alias or a pattern)", ErrOptions, key)
	}
	return a.Region, nil
}

func hasSecretSuffix(name string) bool {
	i := len(name) - len(secretSuffix)
	if i <= 0 || name[i] != '-' {
		return false
	}
	for _, r := range name[i+1:] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// defaultAccount is the account of references that name none: given, or
// the one account the calls' ARNs name. The error says why there is none;
// it matters only if a reference needs it (then it is an ErrNoAccount).
func defaultAccount(calls []sources.Call, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	accounts := map[string]bool{}
	for _, c := range calls {
		for _, t := range c.Targets {
			if a := t.Account(); a != "" {
				accounts[a] = true
			}
		}
	}
	switch len(accounts) {
	case 1:
		return slices.Collect(maps.Keys(accounts))[0], nil
	case 0:
		return "", errors.New("no reference is an ARN that names one")
	default:
		return "", fmt.Errorf("the references' ARNs name several (%s)", strings.Join(slices.Sorted(maps.Keys(accounts)), ", "))
	}
}

// partitions maps region name prefixes to their partitions; any other
// region is in "aws".
var partitions = []struct{ prefix, partition string }{
	{"cn-", "aws-cn"},
	{"us-gov-", "aws-us-gov"},
	{"us-isob-", "aws-iso-b"},
	{"us-iso-", "aws-iso"},
	{"eu-isoe-", "aws-iso-e"},
	{"us-isof-", "aws-iso-f"},
}

// PartitionOf is the partition a region is in.
func PartitionOf(region string) string {
	for _, p := range partitions {
		if strings.HasPrefix(region, p.prefix) {
			return p.partition
		}
	}
	return "aws"
}

// parameterOf is the parameter an SSM id names, without its selector.
func parameterOf(id string) string {
	p, _ := ref.SplitSelector(id)
	return p
}

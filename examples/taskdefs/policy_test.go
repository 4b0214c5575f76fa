package taskdefs_test

// IAM policy documents: strict parsing, the least-privilege rules every
// policy keeps, and matching a grant against a needed permission.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// stringList is an IAM policy value that may be a string or a list.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

// statement is an identity-policy statement. NotAction, NotResource and
// Principal are deliberately absent, so strict decoding rejects them.
type statement struct {
	Sid       string
	Effect    string
	Action    stringList
	Resource  stringList
	Condition map[string]map[string]json.RawMessage
}

type policyDoc struct {
	Version   string
	Id        string
	Statement []statement
}

// exactKeys reports object keys that are not spelt exactly as one of allowed
// (encoding/json alone would accept "version" for "Version").
func exactKeys(raw json.RawMessage, allowed ...string) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return fmt.Errorf("want a JSON object: %w", err)
	}
	var errs []error
	for _, k := range sortedKeys(obj) {
		if !slices.Contains(allowed, k) {
			errs = append(errs, fmt.Errorf("unexpected key %q", k))
		}
	}
	return errors.Join(errs...)
}

func parsePolicy(data []byte) (*policyDoc, error) {
	if err := exactKeys(data, "Version", "Id", "Statement"); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	var top struct{ Statement []json.RawMessage }
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	for i, st := range top.Statement {
		if err := exactKeys(st, "Sid", "Effect", "Action", "Resource", "Condition"); err != nil {
			return nil, fmt.Errorf("statement %d: %w", i, err)
		}
	}
	var doc policyDoc
	if err := decodeStrict(data, &doc); err != nil {
		return nil, err
	}
	return &doc, nil
}

func loadPolicy(name string) (*policyDoc, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	doc, err := parsePolicy(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return doc, nil
}

// mayUseResourceStar reports the only actions that may be granted on "*":
// BatchGetSecretValue has no resource-level permissions (each secret is then
// authorized again through GetSecretValue).
func mayUseResourceStar(action string) bool {
	return strings.EqualFold(action, "secretsmanager:BatchGetSecretValue")
}

// isRegionalService reports the services whose ARNs carry a region and
// account.
func isRegionalService(service string) bool {
	switch service {
	case "secretsmanager", "ssm", "kms":
		return true
	default:
		return false
	}
}

// checkPolicy applies the least-privilege rules to one policy. account,
// region and partition are those of the matching task definition.
func checkPolicy(doc *policyDoc, partition, account, region string) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if doc.Version != "2012-10-17" {
		fail("Version %q, want 2012-10-17", doc.Version)
	}
	if len(doc.Statement) == 0 {
		fail("no statements")
	}
	sids := map[string]bool{}
	for i, st := range doc.Statement {
		at := fmt.Sprintf("statement %d (%s)", i, st.Sid)
		if st.Sid != "" {
			if sids[st.Sid] {
				fail("%s: duplicate Sid", at)
			}
			sids[st.Sid] = true
		}
		if st.Effect != "Allow" && st.Effect != "Deny" {
			fail("%s: Effect %q", at, st.Effect)
		}
		if len(st.Action) == 0 || len(st.Resource) == 0 {
			fail("%s: needs Action and Resource", at)
		}
		for _, act := range st.Action {
			svc, name, ok := strings.Cut(act, ":")
			switch {
			case act == "*":
				fail("%s: Action \"*\"", at)
			case !ok || svc == "" || name == "":
				fail("%s: malformed action %q", at, act)
			case name == "*":
				fail("%s: service-wide action %q", at, act)
			}
		}
		for _, res := range st.Resource {
			if res == "*" {
				for _, act := range st.Action {
					if !mayUseResourceStar(act) {
						fail("%s: %s granted on Resource \"*\"", at, act)
					}
				}
				continue
			}
			a, err := parseARN(res)
			if err != nil {
				fail("%s: %w", at, err)
				continue
			}
			if a.partition != partition {
				fail("%s: %s: partition %q, want %q", at, res, a.partition, partition)
			}
			if isRegionalService(a.service) && (a.account != account || a.region != region) {
				fail("%s: %s: want region %s and account %s of the task definition", at, res, region, account)
			}
		}
		if hasAction(st, "kms:Decrypt") {
			if slices.Contains(st.Resource, "*") {
				fail("%s: kms:Decrypt must name the key", at)
			}
			if !hasConditionKey(st, "kms:ViaService") {
				fail("%s: kms:Decrypt needs a kms:ViaService condition", at)
			}
		}
		if hasAction(st, "kms:CreateGrant") && !conditionIsTrue(st, "Bool", "kms:GrantIsForAWSResource") {
			fail("%s: kms:CreateGrant needs Bool kms:GrantIsForAWSResource=true", at)
		}
	}
	return errors.Join(errs...)
}

func hasAction(st statement, action string) bool {
	return slices.ContainsFunc(st.Action, func(a string) bool { return strings.EqualFold(a, action) })
}

func hasConditionKey(st statement, key string) bool {
	for _, byKey := range st.Condition {
		for k := range byKey {
			if strings.EqualFold(k, key) {
				return true
			}
		}
	}
	return false
}

func conditionIsTrue(st statement, operator, key string) bool {
	raw, ok := st.Condition[operator][key]
	if !ok {
		return false
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		v, err := strconv.ParseBool(s)
		return err == nil && v
	}
	return false
}

// iamPattern compiles an IAM wildcard pattern ("*" any run, "?" one
// character). Actions match case-insensitively, ARNs case-sensitively.
func iamPattern(p string, foldCase bool) *regexp.Regexp {
	q := regexp.QuoteMeta(p)
	q = strings.ReplaceAll(q, `\*`, ".*")
	q = strings.ReplaceAll(q, `\?`, ".")
	if foldCase {
		q = "(?i)" + q
	}
	return regexp.MustCompile("^" + q + "$")
}

// allows reports whether some Allow statement grants action on resource.
// Conditions only narrow a grant, so they are not evaluated here.
//
// A needed resource may hold "?" for an unknown character (see access). It
// is matched as text: a policy pattern matches the text "?" only with its
// own "?" or "*", which match any character, so a match means the policy
// grants every ARN the needed resource stands for.
func (doc *policyDoc) allows(want access) bool {
	for _, st := range doc.Statement {
		if st.Effect != "Allow" {
			continue
		}
		actionOK := slices.ContainsFunc(st.Action, func(a string) bool { return iamPattern(a, true).MatchString(want.action) })
		resourceOK := slices.ContainsFunc(st.Resource, func(r string) bool { return iamPattern(r, false).MatchString(want.resource) })
		if actionOK && resourceOK {
			return true
		}
	}
	return false
}

func TestCheckPolicy(t *testing.T) {
	const key = "arn:aws:kms:us-east-1:111122223333:key/k"
	tests := []struct {
		name    string
		policy  string
		wantErr string // empty: must pass
	}{
		{
			name:   "least privilege",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:GetParameters","Resource":"arn:aws:ssm:us-east-1:111122223333:parameter/a"},{"Effect":"Allow","Action":"secretsmanager:BatchGetSecretValue","Resource":"*"}]}`,
		},
		{
			name:    "old version",
			policy:  `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/k"}]}`,
			wantErr: "Version",
		},
		{
			name:    "action star",
			policy:  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/k"}]}`,
			wantErr: `Action "*"`,
		},
		{
			name:    "service-wide action",
			policy:  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"arn:aws:s3:::b/k"}]}`,
			wantErr: "service-wide",
		},
		{
			name:    "resource star for a resource-level action",
			policy:  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`,
			wantErr: `on Resource "*"`,
		},
		{
			name:    "kms decrypt without ViaService",
			policy:  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"` + key + `"}]}`,
			wantErr: "kms:ViaService",
		},
		{
			name:    "create grant without GrantIsForAWSResource",
			policy:  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateGrant","Resource":"` + key + `"}]}`,
			wantErr: "GrantIsForAWSResource",
		},
		{
			name:    "other account",
			policy:  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:GetParameters","Resource":"arn:aws:ssm:us-east-1:444455556666:parameter/a"}]}`,
			wantErr: "account 111122223333",
		},
		{
			name:    "NotAction",
			policy:  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`,
			wantErr: `unexpected key "NotAction"`,
		},
		{
			name:    "mis-cased element",
			policy:  `{"version":"2012-10-17","Statement":[]}`,
			wantErr: `unexpected key "version"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := func() error {
				doc, err := parsePolicy([]byte(tc.policy))
				if err != nil {
					return err
				}
				return checkPolicy(doc, "aws", "111122223333", "us-east-1")
			}()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

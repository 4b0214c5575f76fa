package taskdefs_test

// The cross-account example (fargate-cross-account.json): an item read as
// a role of the central account, failing over to its replica, and an item
// read directly from a third account. Its policies are judged by the
// simulator together, as AWS judges them: the task role's identity policy
// with the role's trust policy, the secret's resource policy and the
// key's policy; and the role's own policy on what it reads.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	awsarn "github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/sources"
)

const (
	crossAccountExample = "fargate-cross-account"
	readerRole          = "arn:aws:iam::222233334444:role/app-secrets-reader"
	sharedSecret        = "arn:aws:secretsmanager:us-east-1:555566667777:secret:shared/api-key-GhIjKl"
	sharedKey           = "arn:aws:kms:us-east-1:555566667777:key/5555eeee-55ee-55ee-55ee-5555555555ee"

	readerPolicySuffix = ".reader-role-policy.json"
	trustPolicySuffix  = ".reader-trust-policy.json"
	secretPolicySuffix = ".secret-policy.json"
	sharedKeySuffix    = ".shared-key-policy.json"
)

// crossAccountSuffixes name the policies of other accounts' resources.
var crossAccountSuffixes = []string{readerPolicySuffix, trustPolicySuffix, secretPolicySuffix, sharedKeySuffix}

// exampleResourcePolicies are, per example, its files of resource
// policies in other accounts and the resource each belongs to.
var exampleResourcePolicies = map[string]map[string]string{
	crossAccountExample: {trustPolicySuffix: readerRole, secretPolicySuffix: sharedSecret, sharedKeySuffix: sharedKey},
}

// resourcePoliciesOf loads an example's resource policies, by resource.
func resourcePoliciesOf(t *testing.T, example string) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	for suffix, res := range exampleResourcePolicies[example] {
		data, err := os.ReadFile(example + suffix)
		if err != nil {
			t.Fatal(err)
		}
		out[res] = data
	}
	return out
}

// planAs is p's fetches read as role ("": the task role).
func planAs(p plan.Plan, role string) plan.Plan {
	q := p
	q.Fetches = slices.DeleteFunc(slices.Clone(p.Fetches), func(f plan.Fetch) bool { return f.RoleARN != role })
	return q
}

// assumeCalls are the task role's sts:AssumeRole of each role of p.
func assumeCalls(p plan.Plan, w wiring) []call {
	var out []call
	for _, f := range p.Fetches {
		if f.RoleARN == "" {
			continue
		}
		ctx := map[string]any{"aws:SecureTransport": "true", "sts:RoleSessionName": sources.SessionPrefix}
		if f.ExternalID != "" {
			ctx["sts:ExternalId"] = f.ExternalID
		}
		out = append(out, call{"sts:AssumeRole", f.RoleARN, ctx})
	}
	return uniqueCalls(out)
}

// replicaTarget is the replica a fetch reads on an outage, if any: the
// same secret or parameter in the failover region (S3 never fails over).
func replicaTarget(f plan.Fetch) (ref.Target, bool) {
	t := f.Target
	if f.FailoverRegion == "" || (t.Source != ref.SecretsManager && t.Source != ref.SSM && t.Source != ref.SSMPath) {
		return ref.Target{}, false
	}
	t.Region = f.FailoverRegion
	if a, err := awsarn.Parse(t.ID); err == nil {
		a.Region = f.FailoverRegion
		t.ID = a.String()
	}
	return t, true
}

// asRole is w as role sees it: its principal and account.
func asRole(w wiring, role string) wiring {
	a, _ := awsarn.Parse(role)
	w.role, w.account = role, a.AccountID
	return w
}

// TestCrossAccountRolePolicy: the role's policy allows exactly what the
// items read as the role need, the replicas included.
func TestCrossAccountRolePolicy(t *testing.T) {
	_, w := wiredTaskDef(t, crossAccountExample+".json")
	doc, err := loadPolicy(crossAccountExample + readerPolicySuffix)
	if err != nil {
		t.Fatal(err)
	}
	rw := asRole(w, readerRole)
	var needs []call
	err = eachAccess(planAs(w.plan, readerRole), rw, func(t ref.Target, a access) {
		for _, res := range concrete(a.resource) {
			needs = append(needs, call{a.action, res, requestContext(t, a.action, res, rw)})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(needs, func(c call) bool { return strings.Contains(c.resource, ":us-west-2:") }) {
		t.Fatalf("no replica among the role's calls: %v", needs)
	}
	g := grantCheck{policy: doc.raw, principal: readerRole, account: rw.account, needs: uniqueCalls(needs), exact: true}
	if err := checkGrants(t, g)[0]; err != nil {
		t.Errorf("%s does not grant exactly what the role reads:\n%v", crossAccountExample+readerPolicySuffix, err)
	}
}

// TestCrossAccountWithoutResourcePolicies: each of the other accounts'
// policies is needed: without it, the task role's own policy is not
// enough.
func TestCrossAccountWithoutResourcePolicies(t *testing.T) {
	_, w := wiredTaskDef(t, crossAccountExample+".json")
	doc, err := loadPolicy(crossAccountExample + taskRolePolicySuffix)
	if err != nil {
		t.Fatal(err)
	}
	for suffix, res := range exampleResourcePolicies[crossAccountExample] {
		t.Run(suffix, func(t *testing.T) {
			g, err := taskRoleCheck(doc, w, exampleKMSKey(crossAccountExample), false)
			if err != nil {
				t.Fatal(err)
			}
			g.resourcePolicies = resourcePoliciesOf(t, crossAccountExample)
			// The policy a resource has without the example's: its own
			// account's IAM policies alone decide.
			a := mustParse(t, res)
			service := a.Service
			if service == "iam" {
				service = "sts"
			}
			g.resourcePolicies[res] = json.RawMessage(fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",`+
				`"Principal":{"AWS":"arn:%s:iam::%s:root"},"Action":"%s:*","Resource":"*"}]}`, a.Partition, a.AccountID, service))
			err = checkGrants(t, g)[0]
			if err == nil || !strings.Contains(err.Error(), "policy does not allow "+service+":") || !strings.Contains(err.Error(), res) {
				t.Errorf("without %s: %v, want the call on %s denied", crossAccountExample+suffix, err, res)
			}
		})
	}
}

func mustParse(t *testing.T, s string) awsarn.ARN {
	t.Helper()
	a, err := awsarn.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestCrossAccountPolicyFiles: each file is a policy of its kind: the
// role's an identity policy, the others resource policies naming the task
// role as principal.
func TestCrossAccountPolicyFiles(t *testing.T) {
	files := filesOfKind(t, kindCrossAccountPolicy)
	td, _, err := loadTaskDef(crossAccountExample + ".json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			if f.example != crossAccountExample {
				t.Fatalf("%s: only %s has other accounts' policies", f.name, crossAccountExample)
			}
			if strings.HasSuffix(f.name, readerPolicySuffix) {
				if _, err := loadPolicy(f.name); err != nil {
					t.Fatal(err)
				}
				return
			}
			data, err := os.ReadFile(f.name)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Version   string
				Statement []struct {
					Sid       string
					Effect    string
					Principal map[string]string
					Action    stringList
					Resource  string
					Condition map[string]map[string]json.RawMessage
				}
			}
			if err := decodeStrict(data, &doc); err != nil || doc.Version != "2012-10-17" {
				t.Fatalf("not a resource policy: %v", err)
			}
			names := false
			for _, st := range doc.Statement {
				if st.Principal["AWS"] == *td.TaskRoleArn {
					names = true
				}
				if p := st.Principal["AWS"]; p == "*" || (p != *td.TaskRoleArn && !strings.HasSuffix(p, ":root")) {
					t.Errorf("statement %s allows %s", st.Sid, p)
				}
			}
			if !names {
				t.Errorf("no statement allows the task role %s", *td.TaskRoleArn)
			}
		})
	}
}

// checkPolicySet compares what `injector policy` printed for the
// cross-account example (a policy set) with its files.
func checkPolicySet(example string, stdout []byte) ([]string, error) {
	var set struct {
		TaskRolePolicy json.RawMessage `json:"taskRolePolicy"`
		Roles          []struct {
			RoleARN string          `json:"roleArn"`
			Policy  json.RawMessage `json:"policy"`
			Trust   json.RawMessage `json:"trustPolicyStatement"`
		} `json:"roles"`
		Secrets []struct {
			Resource  string          `json:"resource"`
			Statement json.RawMessage `json:"statement"`
		} `json:"secretResourcePolicies"`
		Keys []struct {
			Resource  string          `json:"resource"`
			Statement json.RawMessage `json:"statement"`
		} `json:"kmsKeyPolicies"`
	}
	if err := decodeStrict(stdout, &set); err != nil {
		return nil, err
	}
	task, err := parsePolicy(set.TaskRolePolicy)
	if err != nil {
		return nil, err
	}
	got, err := grantSet(task)
	if err != nil {
		return nil, err
	}
	var errs []error
	if len(set.Roles) != 1 || set.Roles[0].RoleARN != readerRole {
		return nil, fmt.Errorf("roles %+v, want %s", set.Roles, readerRole)
	}
	rolePrinted, err := parsePolicy(set.Roles[0].Policy)
	if err != nil {
		return nil, err
	}
	roleFile, err := loadPolicy(example + readerPolicySuffix)
	if err != nil {
		return nil, err
	}
	a, _ := grantSet(rolePrinted)
	b, _ := grantSet(roleFile)
	if !slices.Equal(a, b) {
		errs = append(errs, fmt.Errorf("the role's policy: printed %v, file %v", a, b))
	}
	// Each printed statement is one of its file's statements.
	contains := func(file string, st json.RawMessage) {
		data, err := os.ReadFile(example + file)
		if err != nil {
			errs = append(errs, err)
			return
		}
		var doc struct{ Statement []json.RawMessage }
		_ = json.Unmarshal(data, &doc)
		want := canonical(st)
		if !slices.ContainsFunc(doc.Statement, func(s json.RawMessage) bool { return canonical(s) == want }) {
			errs = append(errs, fmt.Errorf("%s has no statement %s", example+file, want))
		}
	}
	contains(trustPolicySuffix, set.Roles[0].Trust)
	if len(set.Secrets) != 1 || set.Secrets[0].Resource != sharedSecret || len(set.Keys) != 1 || set.Keys[0].Resource != sharedKey {
		return nil, fmt.Errorf("resource policies for %+v and %+v, want %s and %s", set.Secrets, set.Keys, sharedSecret, sharedKey)
	}
	contains(secretPolicySuffix, set.Secrets[0].Statement)
	contains(sharedKeySuffix, set.Keys[0].Statement)
	return got, errors.Join(errs...)
}

// canonical is a JSON value with its objects' keys sorted and one-element
// lists of strings as the string (IAM reads them alike).
func canonical(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	var norm func(any) any
	norm = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = norm(e)
			}
			return x
		case []any:
			if len(x) == 1 {
				if s, ok := x[0].(string); ok {
					return s
				}
			}
			for i, e := range x {
				x[i] = norm(e)
			}
			return x
		}
		return v
	}
	out, _ := json.Marshal(norm(v))
	return string(out)
}

package taskdefs_test

// Checks for examples whose injector reads only its own environment (env:
// references): ECS fills that environment from the injector container's
// `secrets` with the execution role, so the task role needs no secret
// permission at all.

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/ref"
)

// envOnly reports whether the plan reads only env: references (at least one).
func envOnly(p plan.Plan) bool {
	return len(p.Fetches) > 0 && !slices.ContainsFunc(p.Fetches, func(f plan.Fetch) bool { return f.Target.Source != ref.Env })
}

// valueFromAccess maps an ECS `secrets` valueFrom to the permission the
// execution role needs for it. A Secrets Manager or SSM ARN (ECS accepts the
// json-key, version-stage and version-id fields after a secret's, as the
// injector does) maps as the injector's own references do; a bare name is
// an SSM parameter in the task's region. ECS reads a secret with
// GetSecretValue and parameters with GetParameters.
func valueFromAccess(valueFrom string, w wiring) (access, ref.Target, error) {
	s := valueFrom
	if !strings.HasPrefix(s, "arn:") {
		s = "ssm:/" + strings.TrimPrefix(s, "/")
	}
	r, err := ref.Parse(s)
	if err != nil {
		return access{}, ref.Target{}, err
	}
	if r.Source != ref.SecretsManager && r.Source != ref.SSM {
		return access{}, ref.Target{}, fmt.Errorf("%q: ECS secrets come from Secrets Manager or SSM", valueFrom)
	}
	as, err := targetAccess(r.Target, w)
	if err != nil {
		return access{}, ref.Target{}, err
	}
	for _, a := range as {
		if a.action == actGetSecretValue || a.action == actGetParameters {
			return a, r.Target, nil
		}
	}
	return access{}, ref.Target{}, fmt.Errorf("%q: no read permission", valueFrom)
}

// secretCalls lists the calls the execution role makes when ECS reads the
// `secrets` of the containers cs: each read, and its kms:Decrypt with key
// through the service that holds the value.
func secretCalls(cs []ecstypes.ContainerDefinition, w wiring, key string) ([]call, error) {
	var out []call
	var errs []error
	for _, c := range cs {
		for _, s := range c.Secrets {
			a, target, err := valueFromAccess(aws.ToString(s.ValueFrom), w)
			if err != nil {
				errs = append(errs, fmt.Errorf("container %q, secret %s: %w", containerName(c), aws.ToString(s.Name), err))
				continue
			}
			out = append(out, call{a.action, a.resource, requestContext(target, a.action, a.resource, w)})
			if d, ok := decryptCall(target, w, key); ok {
				out = append(out, d)
			}
		}
	}
	return out, errors.Join(errs...)
}

// checkEnvWiring checks an env:-only injector: every env:NAME is one of its
// `secrets` (not a plain `environment` value, which would put the value in
// the task definition), and every one of those `secrets` is read.
func checkEnvWiring(inj ecstypes.ContainerDefinition, p plan.Plan) error {
	var errs []error
	secrets := map[string]bool{}
	for _, s := range inj.Secrets {
		secrets[aws.ToString(s.Name)] = true
	}
	plain := map[string]bool{}
	for _, kv := range inj.Environment {
		plain[aws.ToString(kv.Name)] = true
	}
	used := map[string]bool{}
	for _, f := range p.Fetches {
		name := f.Target.ID
		used[name] = true
		switch {
		case plain[name]:
			errs = append(errs, fmt.Errorf("%s is a plain environment value; give it as a secret", f.Target))
		case !secrets[name]:
			errs = append(errs, fmt.Errorf("%s is not one of the injector's secrets", f.Target))
		}
	}
	for _, name := range sortedKeys(secrets) {
		if !used[name] {
			errs = append(errs, fmt.Errorf("secret %s is given to the injector but no item reads it", name))
		}
	}
	return errors.Join(errs...)
}

// checkNoSecretActions fails for any Secrets Manager, SSM or KMS action.
func checkNoSecretActions(doc *policyDoc) error {
	var errs []error
	for i, st := range doc.Statement {
		for _, act := range st.Action {
			svc, _, _ := strings.Cut(strings.ToLower(act), ":")
			if svc == "secretsmanager" || svc == "ssm" || svc == "kms" || act == "*" {
				errs = append(errs, fmt.Errorf("statement %d: task role grants %s", i, act))
			}
		}
	}
	return errors.Join(errs...)
}

func TestEnvOnlyExamples(t *testing.T) {
	found := 0
	for _, f := range filesOfKind(t, kindTaskDef) {
		td, _, err := loadTaskDef(f.name)
		if err != nil {
			t.Fatal(err)
		}
		w, err := checkWiring(td)
		if err != nil || !envOnly(w.plan) {
			continue // TestTaskDefinitions reports wiring errors
		}
		found++
		t.Run(f.name, func(t *testing.T) {
			var inj ecstypes.ContainerDefinition
			for _, c := range td.ContainerDefinitions {
				if containerName(c) == injectorName {
					inj = c
				}
			}
			if err := checkEnvWiring(inj, w.plan); err != nil {
				t.Errorf("injector secrets:\n%v", err)
			}
			// What the execution role may read: TestExecutionRolePolicy.
			if aws.ToString(td.ExecutionRoleArn) == "" {
				t.Fatal("no executionRoleArn: ECS needs it to read the injector's secrets")
			}
			if aws.ToString(td.TaskRoleArn) == "" {
				return // no task role: nothing the app could use
			}
			taskDoc, err := loadPolicy(f.example + taskRolePolicySuffix)
			if err != nil {
				t.Fatalf("task-role policy: %v", err)
			}
			if err := checkNoSecretActions(taskDoc); err != nil {
				t.Errorf("the task role is the app's too; it must not read secrets:\n%v", err)
			}
		})
	}
	if found == 0 {
		t.Fatal("no example has an injector that reads only env: references")
	}
}

// TestEnvCheckersRejectBadExamples makes sure the checks above fail where
// they should.
func TestEnvCheckersRejectBadExamples(t *testing.T) {
	w := wiring{region: "us-east-1", account: "111122223333", partition: "aws"}
	const smARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf"
	inj := ecstypes.ContainerDefinition{
		Secrets:     []ecstypes.Secret{{Name: aws.String("DB"), ValueFrom: aws.String(smARN + ":password::")}},
		Environment: []ecstypes.KeyValuePair{{Name: aws.String("PLAIN"), Value: aws.String("x")}},
	}
	spec := func(refs ...string) plan.Plan {
		var p plan.Plan
		for _, s := range refs {
			r, err := ref.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			p.Fetches = append(p.Fetches, plan.Fetch{Target: r.Target})
		}
		return p
	}
	if err := checkEnvWiring(inj, spec("env:DB")); err != nil {
		t.Errorf("good wiring refused: %v", err)
	}
	for _, bad := range []plan.Plan{spec("env:DB", "env:PLAIN"), spec("env:DB", "env:NOPE"), spec()} {
		if err := checkEnvWiring(inj, bad); err == nil {
			t.Errorf("wiring %+v accepted", bad)
		}
	}
	if envOnly(spec("env:A", "ssm:/b")) || envOnly(spec()) || !envOnly(spec("env:A")) {
		t.Error("envOnly")
	}

	policy := func(stmts string) *policyDoc {
		doc, err := parsePolicy([]byte(`{"Version":"2012-10-17","Statement":[` + stmts + `]}`))
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	for _, act := range []string{"secretsmanager:GetSecretValue", "SSM:GetParameter", "kms:Decrypt"} {
		if err := checkNoSecretActions(policy(`{"Effect":"Allow","Action":"` + act + `","Resource":"arn:aws:s3:::b/k"}`)); err == nil {
			t.Errorf("task role with %s accepted", act)
		}
	}
	if _, _, err := valueFromAccess("arn:aws:s3:::b/k", w); err == nil {
		t.Error("S3 valueFrom accepted")
	}
	if got, _, _ := valueFromAccess("/app/key", w); got != (access{actGetParameters, "arn:aws:ssm:us-east-1:111122223333:parameter/app/key"}) {
		t.Errorf("parameter name: %+v", got)
	}

	// Last: without the simulator the test stops here.
	needs, err := secretCalls([]ecstypes.ContainerDefinition{inj}, w, "")
	if err != nil {
		t.Fatal(err)
	}
	exact := `{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"` + smARN + `"}`
	cases := map[string]string{
		"exact":   exact,
		"missing": `{"Effect":"Allow","Action":"ssm:GetParameters","Resource":"arn:aws:ssm:us-east-1:111122223333:parameter/x"}`,
		"broader": `{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:*"}`,
		"extra":   exact + `,{"Effect":"Allow","Action":"secretsmanager:DescribeSecret","Resource":"` + smARN + `"}`,
	}
	names := slices.Sorted(maps.Keys(cases))
	var checks []grantCheck
	for _, name := range names {
		doc := policy(cases[name])
		checks = append(checks, grantCheck{policy: doc.raw, principal: "arn:aws:iam::111122223333:role/exec", account: w.account, needs: needs, exact: true})
	}
	for i, err := range checkGrants(t, checks...) {
		if (err == nil) != (names[i] == "exact") {
			t.Errorf("%s execution policy: %v", names[i], err)
		}
	}
}

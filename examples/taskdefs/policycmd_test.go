package taskdefs_test

// Each example's task-role policy is what `injector policy` prints for its
// task definition: the built binary is run with the injector container's
// environment, as in the task, and the flags an operator gives (the KMS
// key, which the task definition does not name), and the two documents
// must grant the same (action, resource, condition) set, whatever their
// Sids and grouping. The simulator judges the example (iamsim_test.go).

import (
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-secret-injector/injector/internal/testsupport"
)

// exampleKey is the customer managed key the examples' values are
// encrypted with.
const exampleKey = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

// examplePolicyFlags are the flags of `injector policy` for each example,
// besides the account, partition and region of its task definition.
var examplePolicyFlags = map[string][]string{
	"ec2-kms-ebs":     {"--kms-key", exampleKey},
	"fargate":         {"--kms-key", exampleKey},
	"fargate-env":     nil, // env: only: no AWS call, no task role
	"fargate-kms":     {"--kms-key", exampleKey},
	"fargate-refresh": {"--kms-key", exampleKey},
	"fargate-restart": {"--kms-key", exampleKey},
	"kaniko-registry": {"--kms-key", exampleKey},
	// The task role, which the other accounts' policies name, and the key
	// of the secret read from another account.
	"fargate-cross-account": {"--task-role", "arn:aws:iam::111122223333:role/secret-injector-fargate-cross-account-task", "--kms-key", sharedKey},
}

// exampleKMSKey is the --kms-key of an example's policy flags, "" for none.
func exampleKMSKey(example string) string {
	flags := examplePolicyFlags[example]
	if i := slices.Index(flags, "--kms-key"); i >= 0 && i+1 < len(flags) {
		return flags[i+1]
	}
	return ""
}

// grantSet flattens a policy into what it allows: one "Effect Action
// Resource Condition" line per action and resource, with the condition's
// operators, keys and values sorted.
func grantSet(doc *policyDoc) ([]string, error) {
	var out []string
	for _, st := range doc.Statement {
		var cond []string
		for _, op := range sortedKeys(st.Condition) {
			for _, key := range sortedKeys(st.Condition[op]) {
				var vals stringList
				if err := vals.UnmarshalJSON(st.Condition[op][key]); err != nil {
					return nil, fmt.Errorf("%s %s: %w", op, key, err)
				}
				slices.Sort(vals)
				cond = append(cond, fmt.Sprintf("%s{%s=%s}", op, key, strings.Join(vals, ",")))
			}
		}
		for _, act := range st.Action {
			for _, res := range st.Resource {
				out = append(out, strings.Join([]string{st.Effect, act, res, strings.Join(cond, " ")}, " "))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func TestPolicyCommandMatchesExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the injector")
	}
	bin := testsupport.Injector(t)
	for _, f := range filesOfKind(t, kindTaskDef) {
		t.Run(f.name, func(t *testing.T) {
			flags, ok := examplePolicyFlags[f.example]
			if !ok {
				t.Fatalf("no entry for %s in examplePolicyFlags", f.example)
			}
			td, w := wiredTaskDef(t, f.name)
			inj := td.ContainerDefinitions[slices.IndexFunc(td.ContainerDefinitions, func(c ecstypes.ContainerDefinition) bool { return containerName(c) == injectorName })]
			// The injector's environment in the task: its environment,
			// and its secrets, which ECS sets (to anything, here).
			env := []string{"HOME=" + t.TempDir()}
			for _, kv := range inj.Environment {
				env = append(env, aws.ToString(kv.Name)+"="+aws.ToString(kv.Value))
			}
			for _, s := range inj.Secrets {
				env = append(env, aws.ToString(s.Name)+"=set-by-ecs")
			}
			args := append([]string{"policy", "--account", w.account, "--partition", w.partition, "--region", w.region}, flags...)
			cmd := exec.Command(bin, args...)
			cmd.Env = env
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("injector %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			var (
				got []string
				err error
			)
			if _, ok := exampleResourcePolicies[f.example]; ok {
				// A policy set: the task role's, and the other accounts'.
				if got, err = checkPolicySet(f.example, stdout.Bytes()); err != nil {
					t.Fatalf("injector policy and the other accounts' policies differ: %v\n%s", err, stdout.String())
				}
			} else {
				printed, err := parsePolicy(stdout.Bytes())
				if err != nil {
					t.Fatalf("injector policy printed no policy: %v\n%s", err, stdout.String())
				}
				if got, err = grantSet(printed); err != nil {
					t.Fatal(err)
				}
			}

			if aws.ToString(td.TaskRoleArn) == "" {
				if len(got) != 0 {
					t.Errorf("a task without a task role: injector policy grants\n%s", strings.Join(got, "\n"))
				}
				return
			}
			name := f.example + taskRolePolicySuffix
			example, err := loadPolicy(name)
			if err != nil {
				t.Fatal(err)
			}
			want, err := grantSet(example)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s and injector policy differ.\n%s only:\n%s\ninjector policy only:\n%s", name, name,
					strings.Join(missing(want, got), "\n"), strings.Join(missing(got, want), "\n"))
			}
		})
	}
}

// wiredTaskDef loads a task definition and checks its wiring.
func wiredTaskDef(t *testing.T, name string) (*ecs.RegisterTaskDefinitionInput, wiring) {
	t.Helper()
	td, _, err := loadTaskDef(name)
	if err != nil {
		t.Fatal(err)
	}
	w, err := checkWiring(td)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return td, w
}

// missing lists what a holds and b does not.
func missing(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, "  "+s)
		}
	}
	return out
}

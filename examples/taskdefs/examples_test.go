package taskdefs_test

// The example files: how they are found and told apart, how they are
// loaded, and the tests that run every check over each of them.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// How the JSON files in this directory are told apart (by file name).
const (
	runTaskSuffix        = ".run-task.json"
	policySuffix         = "policy.json"
	taskRolePolicySuffix = ".task-role-policy.json"
	infraPolicySuffix    = ".infrastructure-role-policy.json"

	injectorName = "injector"
)

type fileKind int

const (
	kindTaskDef fileKind = iota
	kindRunTask
	kindPolicy
)

func (k fileKind) String() string {
	switch k {
	case kindTaskDef:
		return "RegisterTaskDefinitionInput"
	case kindRunTask:
		return "RunTaskInput"
	default:
		return "IAM policy"
	}
}

type exampleFile struct {
	name    string // base name, e.g. "fargate.task-role-policy.json"
	example string // base name up to the first dot, e.g. "fargate"
	kind    fileKind
}

func classify(name string) fileKind {
	if k, ok := classifyMore(name); ok {
		return k
	}
	switch {
	case strings.HasSuffix(name, runTaskSuffix):
		return kindRunTask
	case strings.HasSuffix(name, policySuffix):
		return kindPolicy
	default:
		return kindTaskDef
	}
}

func discover(t *testing.T) []exampleFile {
	t.Helper()
	names, err := filepath.Glob("*.json")
	if err != nil {
		t.Fatalf("glob: %v", err)
	}
	if len(names) == 0 {
		t.Fatal("no *.json files found next to the test")
	}
	files := make([]exampleFile, 0, len(names))
	for _, n := range names {
		example, _, _ := strings.Cut(n, ".")
		files = append(files, exampleFile{name: n, example: example, kind: classify(n)})
	}
	return files
}

func filesOfKind(t *testing.T, k fileKind) []exampleFile {
	t.Helper()
	var out []exampleFile
	for _, f := range discover(t) {
		if f.kind == k {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s files found", k)
	}
	return out
}

func loadTaskDef(name string) (*ecs.RegisterTaskDefinitionInput, []byte, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, nil, fmt.Errorf("read task definition: %w", err)
	}
	var in ecs.RegisterTaskDefinitionInput
	if err := decodeStrict(data, &in); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return &in, data, nil
}

func loadRunTask(name string) (*ecs.RunTaskInput, []byte, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, nil, fmt.Errorf("read RunTask input: %w", err)
	}
	var in ecs.RunTaskInput
	if err := decodeStrict(data, &in); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return &in, data, nil
}

func TestTaskDefinitions(t *testing.T) {
	for _, f := range filesOfKind(t, kindTaskDef) {
		t.Run(f.name, func(t *testing.T) {
			td, raw, err := loadTaskDef(f.name)
			if err != nil {
				t.Fatal(err)
			}
			body, err := validateTaskDef(t.Context(), td)
			if err != nil {
				t.Fatalf("RegisterTaskDefinition: %v", err)
			}
			if err := checkWireForm(raw, body); err != nil {
				t.Errorf("file does not match the ECS wire form:\n%v", err)
			}
			w, err := checkWiring(td)
			if err != nil {
				t.Fatalf("injector wiring:\n%v", err)
			}

			if aws.ToString(td.TaskRoleArn) == "" {
				return // no task role (env:-only, see envsecrets_test.go): nothing to grant
			}
			policyName := f.example + taskRolePolicySuffix
			doc, err := loadPolicy(policyName)
			if err != nil {
				t.Fatalf("task-role policy for %s: %v", f.name, err)
			}
			g, err := taskRoleCheck(doc, w, exampleKMSKey(f.example), true)
			if err != nil {
				t.Fatal(err)
			}
			g.resourcePolicies = resourcePoliciesOf(t, f.example)
			if err := checkGrants(t, g)[0]; err != nil {
				t.Errorf("%s does not grant exactly what INJECTOR_SPEC needs:\n%v", policyName, err)
			}
		})
	}
}

// taskRoleCheck asks whether doc, the task role's policy, allows the calls
// the injector makes for its plan in w (and, with exact, nothing else
// near them), its values encrypted with key ("" for AWS managed keys).
func taskRoleCheck(doc *policyDoc, w wiring, key string, exact bool) (grantCheck, error) {
	needs, err := requiredCalls(w.plan, w, key)
	return grantCheck{policy: doc.raw, principal: w.role, account: w.account, needs: needs, exact: exact}, err
}

func TestRunTaskInputs(t *testing.T) {
	for _, f := range filesOfKind(t, kindRunTask) {
		t.Run(f.name, func(t *testing.T) {
			in, raw, err := loadRunTask(f.name)
			if err != nil {
				t.Fatal(err)
			}
			body, err := validateRunTask(t.Context(), in)
			if err != nil {
				t.Fatalf("RunTask: %v", err)
			}
			if err := checkWireForm(raw, body); err != nil {
				t.Errorf("file does not match the ECS wire form:\n%v", err)
			}

			td, _, err := loadTaskDef(f.example + ".json")
			if err != nil {
				t.Fatalf("matching task definition: %v", err)
			}
			w, err := checkWiring(td)
			if err != nil {
				t.Fatalf("matching task definition wiring: %v", err)
			}
			if err := checkRunTaskMatches(in, td, w); err != nil {
				t.Errorf("RunTask input does not fit %s.json:\n%v", f.example, err)
			}
		})
	}
}

// checkRunTaskMatches cross-checks a RunTask input with the task definition
// it launches.
func checkRunTaskMatches(in *ecs.RunTaskInput, td *ecs.RegisterTaskDefinitionInput, w wiring) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	family, _, _ := strings.Cut(aws.ToString(in.TaskDefinition), ":")
	if family != aws.ToString(td.Family) {
		fail("taskDefinition %q, want family %q", aws.ToString(in.TaskDefinition), aws.ToString(td.Family))
	}
	if in.LaunchType != "" && !slices.Contains(td.RequiresCompatibilities, ecstypes.Compatibility(in.LaunchType)) {
		fail("launchType %s not in requiresCompatibilities %v", in.LaunchType, td.RequiresCompatibilities)
	}
	if td.NetworkMode == ecstypes.NetworkModeAwsvpc && (in.NetworkConfiguration == nil || in.NetworkConfiguration.AwsvpcConfiguration == nil) {
		fail("awsvpc task definition needs networkConfiguration.awsvpcConfiguration")
	}

	atLaunch := map[string]bool{}
	for _, v := range td.Volumes {
		if aws.ToBool(v.ConfiguredAtLaunch) {
			atLaunch[aws.ToString(v.Name)] = true
		}
	}
	configured := map[string]bool{}
	for _, vc := range in.VolumeConfigurations {
		name := aws.ToString(vc.Name)
		configured[name] = true
		if !atLaunch[name] {
			fail("volumeConfigurations %q is not a configuredAtLaunch volume of the task definition", name)
		}
		ebs := vc.ManagedEBSVolume
		if ebs == nil {
			fail("volume %q: no managedEBSVolume", name)
			continue
		}
		if name == w.volume && !aws.ToBool(ebs.Encrypted) {
			fail("volume %q holds secrets and must set encrypted=true", name)
		}
		if key := aws.ToString(ebs.KmsKeyId); key != "" {
			a, err := parseARN(key)
			switch {
			case err != nil:
				fail("volume %q: kmsKeyId must be a full key ARN so the policy can be checked: %w", name, err)
			case a.service != "kms" || a.account != w.account || a.region != w.region:
				fail("volume %q: kmsKeyId %s not a KMS key of account %s in %s", name, key, w.account, w.region)
			}
		} else if name == w.volume {
			fail("volume %q: set kmsKeyId to a customer managed key", name)
		}
		if role, err := parseARN(aws.ToString(ebs.RoleArn)); err != nil {
			fail("volume %q: roleArn: %w", name, err)
		} else if role.account != w.account {
			fail("volume %q: roleArn account %s, want %s", name, role.account, w.account)
		}
	}
	for _, name := range sortedKeys(atLaunch) {
		if !configured[name] {
			fail("configuredAtLaunch volume %q has no volumeConfigurations entry", name)
		}
	}
	return errors.Join(errs...)
}

func TestIAMPolicies(t *testing.T) {
	for _, f := range filesOfKind(t, kindPolicy) {
		t.Run(f.name, func(t *testing.T) {
			if !strings.HasSuffix(f.name, taskRolePolicySuffix) && !strings.HasSuffix(f.name, infraPolicySuffix) {
				t.Fatalf("policy files end in %s or %s", taskRolePolicySuffix, infraPolicySuffix)
			}
			// What each allows: TestTaskDefinitions and TestEBSVolumeKey.
			if _, err := loadPolicy(f.name); err != nil {
				t.Fatal(err)
			}
			if _, _, err := loadTaskDef(f.example + ".json"); err != nil {
				t.Fatalf("every policy belongs to a task definition: %v", err)
			}
		})
	}
}

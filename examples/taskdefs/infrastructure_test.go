package taskdefs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// What the tasks need around them: the execution role that creates the log
// group, a cluster whose Fargate ephemeral storage (where the shared volume
// lives) is encrypted with a customer managed key and that key's policy, the
// EBS volume key on the infrastructure role, and iam:PassRole for every role.

const (
	createClusterSuffix = ".create-cluster.json"
	keyPolicySuffix     = ".key-policy.json"
	// executionPolicyFile is the execution role's inline policy; every
	// example uses the same execution role.
	executionPolicyFile = "execution-role-policy.json"
)

// More kinds of example file, told apart by classifyMore.
const (
	kindCluster fileKind = iota + 100
	kindKeyPolicy
	kindCrossAccountPolicy
	kindExecutionPolicy
)

func classifyMore(name string) (fileKind, bool) {
	switch {
	case strings.HasSuffix(name, createClusterSuffix):
		return kindCluster, true
	case strings.HasSuffix(name, keyPolicySuffix):
		return kindKeyPolicy, true
	case slices.ContainsFunc(crossAccountSuffixes, func(s string) bool { return strings.HasSuffix(name, s) }):
		return kindCrossAccountPolicy, true
	case name == executionPolicyFile:
		return kindExecutionPolicy, true
	default:
		return 0, false
	}
}

// ---------------------------------------------------------------------------
// Logs: the group is created on first use, by the execution role.
// ---------------------------------------------------------------------------

// TestExecutionRolePolicy checks the execution role that every example
// shares: it may create each awslogs group and write its streams, and read
// the secrets ECS gives the containers (decrypted through the services with
// the examples' key), and nothing else on those resources or next to them.
func TestExecutionRolePolicy(t *testing.T) {
	doc, err := loadPolicy(executionPolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	execRoles := map[string]bool{}
	var needs []call
	var w wiring
	for _, f := range filesOfKind(t, kindTaskDef) {
		var td *ecs.RegisterTaskDefinitionInput
		td, w = wiredTaskDef(t, f.name)
		execRoles[aws.ToString(td.ExecutionRoleArn)] = true
		logs, err := checkLogGroups(td, w)
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
		}
		secrets, err := secretCalls(td.ContainerDefinitions, w, exampleKey)
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
		}
		needs = append(append(needs, logs...), secrets...)
	}
	if len(execRoles) != 1 || execRoles[""] {
		t.Fatalf("the examples use execution roles %v; %s is the policy of one", slices.Sorted(maps.Keys(execRoles)), executionPolicyFile)
	}
	g := grantCheck{policy: doc.raw, principal: slices.Collect(maps.Keys(execRoles))[0], account: w.account, needs: needs, exact: true}
	if err := checkGrants(t, g)[0]; err != nil {
		t.Errorf("%s does not grant exactly what the tasks need:\n%v", executionPolicyFile, err)
	}
}

// checkLogGroups verifies that every awslogs container creates its group,
// and returns the calls of the execution role that create it and write to
// it.
func checkLogGroups(td *ecs.RegisterTaskDefinitionInput, w wiring) ([]call, error) {
	var errs []error
	var calls []call
	for _, c := range td.ContainerDefinitions {
		lc := c.LogConfiguration
		if lc == nil || lc.LogDriver != ecstypes.LogDriverAwslogs {
			continue
		}
		name := containerName(c)
		group, region := lc.Options["awslogs-group"], lc.Options["awslogs-region"]
		if lc.Options["awslogs-create-group"] != "true" {
			errs = append(errs, fmt.Errorf("container %q: awslogs-create-group must be \"true\": nothing else creates %s, and the task would not start", name, group))
		}
		if group == "" || region == "" {
			errs = append(errs, fmt.Errorf("container %q: set awslogs-group and awslogs-region", name))
			continue
		}
		arn := fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s", w.partition, region, w.account, group)
		stream := arn + ":log-stream:" + lc.Options["awslogs-stream-prefix"] + "/" + name + "/0123"
		ctx := map[string]any{"aws:SecureTransport": "true", "aws:RequestedRegion": region}
		calls = append(calls, call{"logs:CreateLogGroup", arn, ctx}, call{"logs:CreateLogStream", stream, ctx}, call{"logs:PutLogEvents", stream, ctx})
	}
	return calls, errors.Join(errs...)
}

// ---------------------------------------------------------------------------
// Fargate ephemeral storage encrypted with a customer managed key.
// ---------------------------------------------------------------------------

// keyStatement is a key policy statement: unlike an identity policy it
// names a Principal. NotPrincipal, NotAction and NotResource are absent, so
// strict decoding rejects them.
type keyStatement struct {
	Sid       string
	Effect    string
	Principal map[string]stringList
	Action    stringList
	Resource  stringList
	Condition map[string]map[string]stringList
}

type keyPolicyDoc struct {
	Version   string
	Id        string
	Statement []keyStatement
}

func parseKeyPolicy(data []byte) (*keyPolicyDoc, error) {
	if err := exactKeys(data, "Version", "Id", "Statement"); err != nil {
		return nil, fmt.Errorf("key policy: %w", err)
	}
	var top struct{ Statement []json.RawMessage }
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("key policy: %w", err)
	}
	for i, st := range top.Statement {
		if err := exactKeys(st, "Sid", "Effect", "Principal", "Action", "Resource", "Condition"); err != nil {
			return nil, fmt.Errorf("statement %d: %w", i, err)
		}
	}
	var doc keyPolicyDoc
	if err := decodeStrict(data, &doc); err != nil {
		return nil, err
	}
	return &doc, nil
}

const fargatePrincipal = "fargate.amazonaws.com"

// checkFargateKeyPolicy checks the key policy Fargate needs to encrypt the
// ephemeral storage of the cluster's tasks: data keys and a Decrypt-only
// grant for fargate.amazonaws.com, both bound by the encryption context to
// this account and cluster; the account's IAM policies administer the key;
// nobody else is named.
func checkFargateKeyPolicy(doc *keyPolicyDoc, partition, account, cluster string) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if doc.Version != "2012-10-17" {
		fail("Version %q, want 2012-10-17", doc.Version)
	}
	root := fmt.Sprintf("arn:%s:iam::%s:root", partition, account)
	granted := map[string]bool{}
	for i, st := range doc.Statement {
		at := fmt.Sprintf("statement %d (%s)", i, st.Sid)
		if st.Effect != "Allow" {
			fail("%s: Effect %q", at, st.Effect)
		}
		if !slices.Equal(st.Resource, stringList{"*"}) {
			fail("%s: Resource %v; in a key policy it is \"*\", the key itself", at, st.Resource)
		}
		if len(st.Principal) != 1 {
			fail("%s: want exactly one kind of principal, got %v", at, st.Principal)
			continue
		}
		switch {
		case slices.Equal(st.Principal["AWS"], stringList{root}):
			// The account's IAM policies decide, as in the default key policy.
		case slices.Equal(st.Principal["Service"], stringList{fargatePrincipal}):
			for _, a := range st.Action {
				switch a {
				case "kms:GenerateDataKeyWithoutPlaintext", "kms:CreateGrant":
					granted[a] = true
				default:
					fail("%s: %s for Fargate; it needs only GenerateDataKeyWithoutPlaintext and CreateGrant", at, a)
				}
			}
			eq := st.Condition["StringEquals"]
			if !slices.Equal(eq["kms:EncryptionContext:aws:ecs:clusterAccount"], stringList{account}) ||
				!slices.Equal(eq["kms:EncryptionContext:aws:ecs:clusterName"], stringList{cluster}) {
				fail("%s: want StringEquals kms:EncryptionContext:aws:ecs:clusterAccount=%s and kms:EncryptionContext:aws:ecs:clusterName=%s, got %v", at, account, cluster, eq)
			}
			if slices.Contains(st.Action, "kms:CreateGrant") {
				if ops := st.Condition["ForAllValues:StringEquals"]["kms:GrantOperations"]; !slices.Equal(ops, stringList{"Decrypt"}) {
					fail("%s: CreateGrant needs ForAllValues:StringEquals kms:GrantOperations=[Decrypt], got %v", at, ops)
				}
			}
		default:
			fail("%s: principal %v; only the account (%s) and %s belong in this key policy", at, st.Principal, root, fargatePrincipal)
		}
	}
	for _, a := range []string{"kms:GenerateDataKeyWithoutPlaintext", "kms:CreateGrant"} {
		if !granted[a] {
			fail("Fargate is not allowed %s: tasks of the cluster would not start", a)
		}
	}
	return errors.Join(errs...)
}

func loadCluster(name string) (*ecs.CreateClusterInput, []byte, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, nil, err
	}
	var in ecs.CreateClusterInput
	if err := decodeStrict(data, &in); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return &in, data, nil
}

func validateCreateCluster(ctx context.Context, in *ecs.CreateClusterInput) ([]byte, error) {
	return sdkRoundTrip(ctx, func(ctx context.Context, c *ecs.Client) error {
		_, err := c.CreateCluster(ctx, in)
		return err
	})
}

// checkStorageKey checks the cluster's Fargate ephemeral storage key: a full
// ARN of a single-Region key (ECS takes no alias and no multi-Region key) of
// the task's account and Region.
func checkStorageKey(key string, w wiring) error {
	a, err := parseARN(key)
	if err != nil {
		return fmt.Errorf("fargateEphemeralStorageKmsKeyId: %w", err)
	}
	id, ok := strings.CutPrefix(a.resource, "key/")
	switch {
	case a.service != "kms" || !ok:
		return fmt.Errorf("fargateEphemeralStorageKmsKeyId %s is not a KMS key ARN (aliases are not supported)", key)
	case strings.HasPrefix(id, "mrk-"):
		return fmt.Errorf("fargateEphemeralStorageKmsKeyId %s is a multi-Region key, which Fargate does not support", key)
	case a.account != w.account || a.region != w.region || a.partition != w.partition:
		return fmt.Errorf("fargateEphemeralStorageKmsKeyId %s: want a key of account %s in %s", key, w.account, w.region)
	}
	return nil
}

// platformAtLeast140 reports whether a Fargate platform version supports
// customer managed keys for ephemeral storage.
func platformAtLeast140(v string) bool {
	if v == "" || v == "LATEST" {
		return true
	}
	parts := strings.Split(v, ".")
	want := []int{1, 4, 0}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return false
		}
		if i >= len(want) || n != want[i] {
			return i < len(want) && n > want[i]
		}
	}
	return true
}

func TestFargateEphemeralStorageKey(t *testing.T) {
	for _, f := range filesOfKind(t, kindCluster) {
		t.Run(f.name, func(t *testing.T) {
			in, raw, err := loadCluster(f.name)
			if err != nil {
				t.Fatal(err)
			}
			body, err := validateCreateCluster(t.Context(), in)
			if err != nil {
				t.Fatalf("CreateCluster: %v", err)
			}
			if err := checkWireForm(raw, body); err != nil {
				t.Errorf("file does not match the ECS wire form:\n%v", err)
			}
			td, w := wiredTaskDef(t, f.example+".json")
			if !slices.Contains(td.RequiresCompatibilities, ecstypes.CompatibilityFargate) {
				t.Errorf("%s.json does not run on Fargate", f.example)
			}
			cluster := aws.ToString(in.ClusterName)
			var key string
			if c := in.Configuration; c != nil && c.ManagedStorageConfiguration != nil {
				key = aws.ToString(c.ManagedStorageConfiguration.FargateEphemeralStorageKmsKeyId)
			}
			if key == "" {
				t.Fatal("no configuration.managedStorageConfiguration.fargateEphemeralStorageKmsKeyId")
			}
			if err := checkStorageKey(key, w); err != nil {
				t.Error(err)
			}

			rt, _, err := loadRunTask(f.example + runTaskSuffix)
			if err != nil {
				t.Fatalf("the example runs its task on the cluster: %v", err)
			}
			if got := aws.ToString(rt.Cluster); got != cluster {
				t.Errorf("%s%s runs on cluster %q, want %q", f.example, runTaskSuffix, got, cluster)
			}
			if rt.LaunchType != ecstypes.LaunchTypeFargate || !platformAtLeast140(aws.ToString(rt.PlatformVersion)) {
				t.Errorf("RunTask launchType %s platformVersion %q: want FARGATE on 1.4.0 or later", rt.LaunchType, aws.ToString(rt.PlatformVersion))
			}

			data, err := os.ReadFile(f.example + keyPolicySuffix)
			if err != nil {
				t.Fatalf("the key needs a policy for Fargate: %v", err)
			}
			doc, err := parseKeyPolicy(data)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkFargateKeyPolicy(doc, w.partition, w.account, cluster); err != nil {
				t.Errorf("%s%s:\n%v", f.example, keyPolicySuffix, err)
			}
		})
	}
}

func TestCheckFargateKeyPolicy(t *testing.T) {
	data, err := os.ReadFile("fargate-kms" + keyPolicySuffix)
	if err != nil {
		t.Fatal(err)
	}
	const account, cluster = "111122223333", "secret-injector-fargate-kms"
	tests := []struct {
		name, old, new, wantErr string
	}{
		{"other cluster", `"kms:EncryptionContext:aws:ecs:clusterName": "` + cluster + `"`, `"kms:EncryptionContext:aws:ecs:clusterName": "other"`, "clusterName=" + cluster},
		{"any grant operation", `"Decrypt"`, `"Decrypt", "Encrypt"`, "GrantOperations=[Decrypt]"},
		{"anyone", `"AWS": "arn:aws:iam::111122223333:root"`, `"AWS": "*"`, "only the account"},
		{"no data keys", `"kms:GenerateDataKeyWithoutPlaintext"`, `"kms:GenerateDataKey"`, "GenerateDataKeyWithoutPlaintext"},
		{"NotPrincipal", `"Principal"`, `"NotPrincipal"`, "unexpected key"},
	}
	if doc, err := parseKeyPolicy(data); err != nil || checkFargateKeyPolicy(doc, "aws", account, cluster) != nil {
		t.Fatalf("the example fails: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := string(data)
			if !strings.Contains(src, tt.old) {
				t.Fatalf("the example has no %s", tt.old)
			}
			err := func() error {
				doc, err := parseKeyPolicy([]byte(strings.Replace(src, tt.old, tt.new, 1)))
				if err != nil {
					return err
				}
				return checkFargateKeyPolicy(doc, "aws", account, cluster)
			}()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error about %q", err, tt.wantErr)
			}
		})
	}
}

func TestStorageKeyAndPlatformChecks(t *testing.T) {
	w := wiring{partition: "aws", account: "111122223333", region: "us-east-1"}
	for key, ok := range map[string]bool{
		"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab": true,
		"arn:aws:kms:us-east-1:111122223333:alias/fargate":                            false,
		"arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab": false,
		"arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab": false,
		"1234abcd-12ab-34cd-56ef-1234567890ab":                                        false,
	} {
		if err := checkStorageKey(key, w); (err == nil) != ok {
			t.Errorf("checkStorageKey(%s) = %v", key, err)
		}
	}
	for v, ok := range map[string]bool{"LATEST": true, "1.4.0": true, "1.4.1": true, "2.0.0": true, "1.3.0": false, "1.0.0": false, "x": false} {
		if platformAtLeast140(v) != ok {
			t.Errorf("platformAtLeast140(%q) = %v", v, !ok)
		}
	}
}

// ---------------------------------------------------------------------------
// The EBS volume key on the infrastructure role.
// ---------------------------------------------------------------------------

// TestEBSVolumeKey checks what EC2 needs of the volume key when ECS creates
// and attaches an encrypted volume through the infrastructure role:
// kms:Decrypt, kms:GenerateDataKeyWithoutPlaintext and kms:ReEncrypt* only
// through EC2, kms:CreateGrant only through EC2 for AWS resources, and
// kms:DescribeKey; nothing else on the key or on other keys.
func TestEBSVolumeKey(t *testing.T) {
	for _, f := range filesOfKind(t, kindRunTask) {
		in, _, err := loadRunTask(f.name)
		if err != nil {
			t.Fatal(err)
		}
		for _, vc := range in.VolumeConfigurations {
			ebs := vc.ManagedEBSVolume
			if ebs == nil || ebs.KmsKeyId == nil {
				continue
			}
			t.Run(f.name, func(t *testing.T) {
				key := aws.ToString(ebs.KmsKeyId)
				a, err := parseARN(key)
				if err != nil {
					t.Fatal(err)
				}
				doc, err := loadPolicy(f.example + infraPolicySuffix)
				if err != nil {
					t.Fatal(err)
				}
				viaEC2 := "ec2." + a.region + ".amazonaws.com"
				ctx := map[string]any{"aws:SecureTransport": "true", "aws:RequestedRegion": a.region}
				via := map[string]any{"aws:SecureTransport": "true", "aws:RequestedRegion": a.region,
					"kms:ViaService": viaEC2, "kms:CallerAccount": a.account}
				data := maps.Clone(via)
				data["kms:EncryptionContextKeys"] = []string{"aws:ebs:id"}
				grant := maps.Clone(via)
				grant["kms:GrantIsForAWSResource"] = "true"
				needs := []call{{"kms:DescribeKey", key, ctx}, {"kms:CreateGrant", key, grant}}
				for _, action := range []string{"kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"} {
					needs = append(needs, call{action, key, data})
				}
				g := grantCheck{policy: doc.raw, principal: aws.ToString(ebs.RoleArn), account: a.account, needs: needs, exact: true}
				if err := checkGrants(t, g)[0]; err != nil {
					t.Errorf("%s%s does not grant exactly what EC2 needs of the volume key:\n%v", f.example, infraPolicySuffix, err)
				}
			})
		}
	}
}

// ---------------------------------------------------------------------------
// iam:PassRole for every role, in README.md.
// ---------------------------------------------------------------------------

func TestReadmeNamesPassRoleForEveryRole(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{} // ARN -> service it is passed to
	for _, f := range filesOfKind(t, kindTaskDef) {
		td, _, err := loadTaskDef(f.name)
		if err != nil {
			t.Fatal(err)
		}
		roles[aws.ToString(td.TaskRoleArn)] = "ecs-tasks.amazonaws.com"
		roles[aws.ToString(td.ExecutionRoleArn)] = "ecs-tasks.amazonaws.com"
	}
	for _, f := range filesOfKind(t, kindRunTask) {
		in, _, err := loadRunTask(f.name)
		if err != nil {
			t.Fatal(err)
		}
		for _, vc := range in.VolumeConfigurations {
			if vc.ManagedEBSVolume != nil {
				roles[aws.ToString(vc.ManagedEBSVolume.RoleArn)] = "ecs.amazonaws.com"
			}
		}
	}
	text := string(readme)
	if !strings.Contains(text, "iam:PassRole") {
		t.Fatal("README.md does not say that deploying needs iam:PassRole")
	}
	for arn, service := range roles {
		if !strings.Contains(text, arn) {
			t.Errorf("README.md does not name %s for iam:PassRole", arn)
		}
		if !strings.Contains(text, service) {
			t.Errorf("README.md does not say %s is passed to %s", arn, service)
		}
	}
}

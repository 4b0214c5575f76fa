package iampolicy

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/ecs-secret-injector/injector/internal/testsupport/testplan"
	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/sources"
)

const (
	account = "111122223333"
	key     = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	euKey   = "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"
)

func target(t *testing.T, s string) ref.Target { return testplan.Target(t, s) }

// call describes a call of op on refs in region.
func call(t *testing.T, svc, op, region string, kms bool, refs ...string) sources.Call {
	c := sources.Call{Service: svc, Operation: op, Region: region, KMS: kms}
	for _, r := range refs {
		c.Targets = append(c.Targets, target(t, r))
	}
	return c
}

// grants flattens a document to "Action Resource [ViaService...]" lines,
// sorted: what it allows, whatever the grouping.
func grants(doc Document) []string {
	var out []string
	for _, st := range doc.Statement {
		via := ""
		if v := st.Condition["StringEquals"]["kms:ViaService"]; len(v) > 0 {
			via = " via " + strings.Join(v, ",")
		}
		for _, r := range st.Resource {
			out = append(out, st.Action+" "+r+via)
		}
	}
	slices.Sort(out)
	return out
}

func TestBuild(t *testing.T) {
	const (
		sm      = "secretsmanager"
		us      = "us-east-1"
		dbARN   = "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf"
		smARN   = "arn:aws:secretsmanager:us-east-1:111122223333:secret:"
		ssmARN  = "arn:aws:ssm:us-east-1:111122223333:parameter/"
		objARN  = "arn:aws:s3:::bucket/dir/key.pem"
		viaSM   = " via secretsmanager.us-east-1.amazonaws.com"
		viaMany = " via s3.us-east-1.amazonaws.com,secretsmanager.us-east-1.amazonaws.com,ssm.us-east-1.amazonaws.com"
	)
	tests := []struct {
		name  string
		calls func(t *testing.T) []sources.Call
		opts  Options
		want  []string
	}{
		{
			name: "secret by name gets the suffix pattern",
			calls: func(t *testing.T) []sources.Call {
				return []sources.Call{call(t, sm, "GetSecretValue", us, true, "secretsmanager:app/api-key")}
			},
			opts: Options{Account: account},
			want: []string{"secretsmanager:GetSecretValue " + smARN + "app/api-key-??????"},
		},
		{
			name: "secret ARN as is, a partial ARN with the suffix pattern",
			calls: func(t *testing.T) []sources.Call {
				return []sources.Call{call(t, sm, "GetSecretValue", us, true, dbARN+":password::", smARN+"app/api-key")}
			},
			want: []string{"secretsmanager:GetSecretValue " + smARN + "app/api-key-??????", "secretsmanager:GetSecretValue " + dbARN},
		},
		{
			name: "a batch: BatchGetSecretValue on * and GetSecretValue on each secret",
			calls: func(t *testing.T) []sources.Call {
				return []sources.Call{call(t, sm, "BatchGetSecretValue", us, true, "secretsmanager:a", "secretsmanager:b")}
			},
			opts: Options{Account: account},
			want: []string{"secretsmanager:BatchGetSecretValue *", "secretsmanager:GetSecretValue " + smARN + "a-??????",
				"secretsmanager:GetSecretValue " + smARN + "b-??????"},
		},
		{
			name: "DescribeSecret for a check",
			calls: func(t *testing.T) []sources.Call {
				return []sources.Call{call(t, sm, "DescribeSecret", us, false, dbARN)}
			},
			want: []string{"secretsmanager:DescribeSecret " + dbARN},
		},
		{
			name: "parameters without their selector",
			calls: func(t *testing.T) []sources.Call {
				return []sources.Call{call(t, "ssm", "GetParameters", us, false, "ssm:/app/key:3", "ssm:plain:prod", ssmARN+"app/arn:label")}
			},
			opts: Options{Account: account},
			want: []string{"ssm:GetParameters " + ssmARN + "app/arn", "ssm:GetParameters " + ssmARN + "app/key", "ssm:GetParameters " + ssmARN + "plain"},
		},
		{
			name: "a path on its ARN without the trailing slash",
			calls: func(t *testing.T) []sources.Call {
				return []sources.Call{call(t, "ssm", "GetParametersByPath", us, true, "ssm:/app/prod/")}
			},
			opts: Options{Account: account},
			want: []string{"ssm:GetParametersByPath " + ssmARN + "app/prod"},
		},
		{
			name: "objects: GetObject, GetObjectVersion for a pinned version, HeadObject as GetObject",
			calls: func(t *testing.T) []sources.Call {
				pinned := call(t, "s3", "GetObject", us, true, "s3://bucket/dir/key.pem?versionId=v1")
				pinned.Version = true
				return []sources.Call{call(t, "s3", "GetObject", us, true, "s3://bucket/dir/key.pem"), pinned,
					call(t, "s3", "HeadObject", "eu-west-1", false, "s3://other/k?region=eu-west-1")}
			},
			want: []string{"s3:GetObject " + objARN, "s3:GetObject arn:aws:s3:::other/k", "s3:GetObjectVersion " + objARN},
		},
		{
			name:  "env: makes no call and needs nothing",
			calls: func(t *testing.T) []sources.Call { return []sources.Call{call(t, "", "", "", false, "env:DB")} },
			want:  nil,
		},
		{
			name: "kms:Decrypt through the services that decrypt, in the key's region",
			calls: func(t *testing.T) []sources.Call {
				sseC := call(t, "s3", "GetObject", "eu-west-1", false, "s3://b/k?region=eu-west-1")
				sseC.SSECustomerKey = true
				return []sources.Call{
					call(t, sm, "GetSecretValue", us, true, dbARN),
					call(t, "ssm", "GetParameters", us, true, ssmARN+"p"),
					call(t, "ssm", "GetParameters", us, false, ssmARN+"p"), // a check: no decryption
					call(t, "s3", "GetObject", us, true, "s3://bucket/dir/key.pem"),
					call(t, sm, "GetSecretValue", "eu-west-1", true, "arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-AbCdEf"),
					sseC,
				}
			},
			opts: Options{KMSKeys: []string{key, euKey, key}},
			want: []string{
				"kms:Decrypt " + euKey + " via secretsmanager.eu-west-1.amazonaws.com",
				"kms:Decrypt " + key + viaMany,
				"s3:GetObject arn:aws:s3:::b/k",
				"s3:GetObject " + objARN,
				"secretsmanager:GetSecretValue arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-AbCdEf",
				"secretsmanager:GetSecretValue " + dbARN,
				"ssm:GetParameters " + ssmARN + "p",
			},
		},
		{
			name: "the partition given, for references without an ARN",
			calls: func(t *testing.T) []sources.Call {
				return []sources.Call{call(t, "s3", "GetObject", "us-east-1", true, "s3://b/k"), call(t, sm, "GetSecretValue", us, true, dbARN)}
			},
			opts: Options{Partition: "aws-cn"},
			want: []string{"s3:GetObject arn:aws-cn:s3:::b/k", "secretsmanager:GetSecretValue " + dbARN},
		},
		{
			name: "the partition of the region",
			calls: func(t *testing.T) []sources.Call {
				return []sources.Call{call(t, sm, "GetSecretValue", "cn-north-1", true, "secretsmanager:a"), call(t, "s3", "GetObject", "us-gov-west-1", true, "s3://b/k")}
			},
			opts: Options{Account: account},
			want: []string{"s3:GetObject arn:aws-us-gov:s3:::b/k", "secretsmanager:GetSecretValue arn:aws-cn:secretsmanager:cn-north-1:111122223333:secret:a-??????"},
		},
		{
			name: "the account the ARNs name",
			calls: func(t *testing.T) []sources.Call {
				return []sources.Call{call(t, sm, "GetSecretValue", us, true, dbARN, "secretsmanager:a")}
			},
			want: []string{"secretsmanager:GetSecretValue " + smARN + "a-??????", "secretsmanager:GetSecretValue " + dbARN},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Build(tc.calls(t), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := grants(doc); !slices.Equal(got, tc.want) {
				t.Errorf("grants:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			checkLeastPrivilege(t, doc)
		})
	}
}

// checkLeastPrivilege: one exact action per statement, "*" only for
// BatchGetSecretValue, kms:Decrypt always under kms:ViaService, and a
// document that marshals with Statement as a list (never null).
func checkLeastPrivilege(t *testing.T, doc Document) {
	t.Helper()
	if doc.Version != "2012-10-17" {
		t.Errorf("Version %q", doc.Version)
	}
	for _, st := range doc.Statement {
		if st.Effect != "Allow" || strings.Contains(st.Action, "*") || len(st.Resource) == 0 {
			t.Errorf("statement %+v", st)
		}
		for _, r := range st.Resource {
			if strings.Contains(r, "*") && st.Action != actBatchGetSecretValue {
				t.Errorf("%s on %s", st.Action, r)
			}
		}
		if st.Action == actDecrypt && len(st.Condition["StringEquals"]["kms:ViaService"]) == 0 {
			t.Errorf("kms:Decrypt without kms:ViaService: %+v", st)
		}
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"Statement":[`) {
		t.Errorf("Statement is not a list: %s", data)
	}
}

func TestBuildErrors(t *testing.T) {
	named := func(t *testing.T) []sources.Call {
		return []sources.Call{call(t, "ssm", "GetParameters", "us-east-1", true, "ssm:/a")}
	}
	tests := []struct {
		name  string
		calls func(t *testing.T) []sources.Call
		opts  Options
		is    error
		want  string
	}{
		{name: "account unknown", calls: named, is: ErrNoAccount, want: "no reference is an ARN that names one"},
		{
			name: "several accounts",
			calls: func(t *testing.T) []sources.Call {
				return append(named(t), call(t, "ssm", "GetParameters", "us-east-1", true,
					"arn:aws:ssm:us-east-1:111122223333:parameter/x", "arn:aws:ssm:us-east-1:444455556666:parameter/y"))
			},
			is: ErrNoAccount, want: "several (111122223333, 444455556666)",
		},
		{name: "alias", calls: named, opts: Options{Account: account, KMSKeys: []string{"arn:aws:kms:us-east-1:111122223333:alias/a"}}, is: ErrOptions, want: "want a key ARN"},
		{name: "key pattern", calls: named, opts: Options{Account: account, KMSKeys: []string{"arn:aws:kms:us-east-1:111122223333:key/*"}}, is: ErrOptions, want: "want a key ARN"},
		{name: "key where nothing decrypts", calls: named, opts: Options{Account: account, KMSKeys: []string{euKey}}, is: ErrOptions,
			want: "reads nothing through KMS in eu-west-1"},
		{
			name: "an operation IAM is not mapped for",
			calls: func(t *testing.T) []sources.Call {
				return []sources.Call{call(t, "ssm", "DeleteParameter", "us-east-1", false, "ssm:/a")}
			},
			opts: Options{Account: account}, is: ErrOptions, want: "no IAM mapping for ssm DeleteParameter",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(tc.calls(t), tc.opts)
			if !errors.Is(err, tc.is) || !strings.Contains(fmt.Sprint(err), tc.want) {
				t.Fatalf("error %v, want %v containing %q", err, tc.is, tc.want)
			}
		})
	}
}

// TestEveryPlannedCallIsMapped: every call the sources plan, for fetches
// under each batching mode and for checks, has an IAM mapping, so a source
// that starts making a new call cannot leave the policy behind.
func TestEveryPlannedCallIsMapped(t *testing.T) {
	refs := []string{"secretsmanager:a", "secretsmanager:b::AWSPREVIOUS:", "ssm:/p", "ssm:/path/", "s3://b/k",
		"s3://b/k?versionId=v", "env:HOME", "secretsmanager:app/*"}
	var reqs []sources.Request
	for _, r := range refs {
		reqs = append(reqs, sources.Request{Target: target(t, r)})
	}
	reqs = append(reqs, sources.Request{Target: target(t, "s3://b/ssec"), SSECustomerKey: make([]byte, 32)})
	ops := map[string]bool{}
	for _, batch := range []sources.Batching{sources.BatchAlways, sources.BatchNever} {
		f := sources.NewPlanner("us-east-1", sources.Options{Batch: batch, LookupEnv: func(string) (string, bool) { return "x", true }})
		fetch, err := f.PlanFetch(reqs)
		if err != nil {
			t.Fatal(err)
		}
		checks, err := f.PlanChecks(reqs)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range append(fetch.Calls, checks.Calls...) {
			ops[c.Service+" "+c.Operation] = true
			if _, err := Build([]sources.Call{c}, Options{Account: account}); err != nil {
				t.Errorf("%s %s: %v", c.Service, c.Operation, err)
			}
		}
	}
	want := []string{" ", "s3 GetObject", "s3 HeadObject", "secretsmanager BatchGetSecretValue", "secretsmanager DescribeSecret",
		"secretsmanager GetSecretValue", "secretsmanager ListSecrets", "ssm GetParameters", "ssm GetParametersByPath"}
	if got := slices.Sorted(maps.Keys(ops)); !slices.Equal(got, want) {
		t.Errorf("planned operations %q, want %q", got, want)
	}
}

func TestPartitionOf(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "aws", "eu-west-1": "aws", "cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov",
		"us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b", "eu-isoe-west-1": "aws-iso-e", "us-isof-south-1": "aws-iso-f",
	} {
		if got := PartitionOf(region); got != want {
			t.Errorf("PartitionOf(%s) = %s, want %s", region, got, want)
		}
	}
}

package taskdefs_test

// What the injector needs from IAM, derived from its own plan of the spec
// (plan.ParseSpec and plan.Build through testplan, the code the injector runs), and the
// checks that a task-role policy grants exactly that.

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	awsarn "github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/ecs-secret-injector/injector/internal/testsupport/testplan"
	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/ref"
)

type arn struct {
	partition, service, region, account, resource string
}

func parseARN(s string) (arn, error) {
	a, err := awsarn.Parse(s)
	if err != nil || a.Partition == "" || a.Service == "" || a.Resource == "" {
		return arn{}, fmt.Errorf("%q is not an ARN", s)
	}
	return arn{partition: a.Partition, service: a.Service, region: a.Region, account: a.AccountID, resource: a.Resource}, nil
}

// access is an IAM action on a resource ARN. A resource may hold "?" for
// characters that are not known in advance (the random suffix of a secret
// named without its ARN); a policy grants it only if it grants every ARN
// that could stand there.
type access struct {
	action, resource string
}

// Actions the injector's calls need (see the sources package: secrets go
// through GetSecretValue, unpinned ones through BatchGetSecretValue instead
// when the run batches, parameters through GetParameters, objects through
// GetObject, with a versionId when one is pinned).
const (
	actBatchGetSecretValue = "secretsmanager:BatchGetSecretValue"
	actGetSecretValue      = "secretsmanager:GetSecretValue"
	actDescribeSecret      = "secretsmanager:DescribeSecret"
	actGetParameters       = "ssm:GetParameters"
	actGetParametersByPath = "ssm:GetParametersByPath"
	actGetObject           = "s3:GetObject"
	actGetObjectVersion    = "s3:GetObjectVersion"
	actKMSDecrypt          = "kms:Decrypt"
	condKMSViaService      = "kms:ViaService"
)

// secretSuffixPattern stands for what Secrets Manager appends to a secret's
// name to form its ARN: "-" and six random characters. A secret named
// without its ARN ("secretsmanager:NAME") needs GetSecretValue on
// "NAME-??????", the pattern AWS documents for this case.
const secretSuffixPattern = "-??????"

// requiredAccess lists every IAM permission the injector needs to carry out
// p in the task described by w, each once, in the order of p.Fetches.
func requiredAccess(p plan.Plan, w wiring) ([]access, error) {
	var out []access
	seen := map[access]bool{}
	add := func(t ref.Target) error {
		as, err := targetAccess(t, w)
		if err != nil {
			return err
		}
		for _, a := range as {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
		return nil
	}
	var errs []error
	batches := runBatches(p, w)
	for _, f := range p.Fetches {
		if batches && f.Target.Source == ref.SecretsManager && !f.Target.Pinned() {
			// BatchGetSecretValue has no resource-level permissions; each
			// secret it returns is authorized through GetSecretValue.
			if a := (access{actBatchGetSecretValue, "*"}); !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
		errs = append(errs, add(f.Target))
		// The planner also lists the SSE-C key as a fetch of its own; it is
		// named here as well so that the key is never left out.
		if f.SSECustomerKey != nil {
			errs = append(errs, add(f.SSECustomerKey.Target))
		}
	}
	return out, errors.Join(errs...)
}

// targetAccess maps one fetch target to the permissions its API call needs.
func targetAccess(t ref.Target, w wiring) ([]access, error) {
	region := cmp.Or(t.Region, w.region)
	switch t.Source {
	case ref.SecretsManager:
		secret := t.ID
		if !strings.HasPrefix(secret, "arn:") {
			secret = fmt.Sprintf("arn:%s:secretsmanager:%s:%s:secret:%s%s", w.partition, region, w.account, t.ID, secretSuffixPattern)
		}
		out := []access{{actGetSecretValue, secret}}
		// Refresh mode checks for a new version with DescribeSecret,
		// unless the reference pins a version id, which cannot change.
		if w.refresh && t.VersionID == "" {
			out = append(out, access{actDescribeSecret, secret})
		}
		return out, nil
	case ref.SSM:
		// The ID may carry a ":version" or ":label" selector, which is not
		// part of the parameter's ARN.
		if prefix, rest, ok := strings.Cut(t.ID, ":parameter/"); ok && strings.HasPrefix(t.ID, "arn:") {
			name, _, _ := strings.Cut(rest, ":")
			return []access{{actGetParameters, prefix + ":parameter/" + name}}, nil
		}
		name, _, _ := strings.Cut(t.ID, ":")
		return []access{{actGetParameters,
			fmt.Sprintf("arn:%s:ssm:%s:%s:parameter/%s", w.partition, region, w.account, strings.TrimPrefix(name, "/"))}}, nil
	case ref.SSMPath:
		// GetParametersByPath is authorized against the path in the
		// request (without its trailing slash), not each parameter.
		return []access{{actGetParametersByPath,
			fmt.Sprintf("arn:%s:ssm:%s:%s:parameter/%s", w.partition, region, w.account, strings.Trim(t.ID, "/"))}}, nil
	case ref.Env:
		// Read from the injector's own environment: no call, no
		// permission (ECS reads its secrets with the execution role, see
		// envsecrets_test.go).
		return nil, nil
	case ref.S3:
		// GetObject with a versionId is authorized by s3:GetObjectVersion
		// alone; s3:GetObject only covers the current version.
		action := actGetObject
		if t.VersionID != "" {
			action = actGetObjectVersion
		}
		return []access{{action, fmt.Sprintf("arn:%s:s3:::%s/%s", w.partition, t.ID, t.Key)}}, nil
	default:
		return nil, fmt.Errorf("%s: no IAM mapping for source %s", t, t.Source)
	}
}

// runBatches reports whether the injector reads the unpinned secrets of p
// with BatchGetSecretValue: with INJECTOR_SECRETS_BATCH=always, or with auto
// (the default) when its first round of calls, one per value, would not
// fit in INJECTOR_CONCURRENCY. The first round reads every value but the S3
// objects that need an SSE-C key (the keys among them; secrets are all in
// it). One call per value is one per secret, object and SSM path, one per
// 10 parameters of a region, and none for env: (no API call).
func runBatches(p plan.Plan, w wiring) bool {
	switch w.secretsBatch {
	case "always":
		return true
	case "never":
		return false
	}
	calls := 0
	params := map[string]int{}
	for _, f := range p.Fetches {
		switch {
		case f.SSECustomerKey != nil, f.Target.Source == ref.Env:
		case f.Target.Source == ref.SSM:
			params[cmp.Or(f.Target.Region, w.region)]++
		default:
			calls++
		}
	}
	for _, n := range params {
		calls += (n + 9) / 10
	}
	return calls > cmp.Or(w.concurrency, defaultConcurrency)
}

// defaultConcurrency is INJECTOR_CONCURRENCY when it is not set.
const defaultConcurrency = 32

// kmsViaServices lists, sorted, the kms:ViaService values of the services
// that decrypt a value of p with a customer managed key: Secrets Manager,
// SSM and S3 in the region each value is read from. An S3 object read with
// an SSE-C key is decrypted with that key, not through KMS.
func kmsViaServices(p plan.Plan, w wiring) []string {
	endpoint := map[ref.Source]string{ref.SecretsManager: "secretsmanager", ref.SSM: "ssm", ref.SSMPath: "ssm", ref.S3: "s3"}
	var out []string
	add := func(t ref.Target) {
		svc, ok := endpoint[t.Source]
		if !ok {
			return // not an AWS service; requiredAccess reports it
		}
		v := fmt.Sprintf("%s.%s.amazonaws.com", svc, cmp.Or(t.Region, w.region))
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	for _, f := range p.Fetches {
		if f.SSECustomerKey != nil {
			add(f.SSECustomerKey.Target)
			continue
		}
		add(f.Target)
	}
	slices.Sort(out)
	return out
}

// viaServices returns the kms:ViaService values a statement is limited to.
// Only StringEquals with exact values is accepted, so the list can be
// compared with what the spec needs.
func viaServices(st statement) ([]string, error) {
	var out []string
	for _, op := range sortedKeys(st.Condition) {
		for key, raw := range st.Condition[op] {
			if !strings.EqualFold(key, condKMSViaService) {
				continue
			}
			if op != "StringEquals" {
				return nil, fmt.Errorf("%s under %s; use StringEquals with exact service names", key, op)
			}
			var vals stringList
			if err := vals.UnmarshalJSON(raw); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			for _, v := range vals {
				if strings.ContainsAny(v, "*?") {
					return nil, fmt.Errorf("%s value %q has a wildcard", key, v)
				}
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// decryptStatements returns the Allow statements that grant kms:Decrypt.
func decryptStatements(doc *policyDoc) []statement {
	var out []statement
	for _, st := range doc.Statement {
		if st.Effect == "Allow" && hasAction(st, actKMSDecrypt) {
			out = append(out, st)
		}
	}
	return out
}

// checkCoverage verifies that the task-role policy grants every permission
// the injector's plan of INJECTOR_SPEC needs. A policy that grants
// kms:Decrypt (the example uses a customer managed key) must let every
// service the spec reads through KMS use it.
func checkCoverage(doc *policyDoc, w wiring) error {
	need, err := requiredAccess(w.plan, w)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range need {
		if !doc.allows(n) {
			errs = append(errs, fmt.Errorf("policy does not allow %s on %s", n.action, n.resource))
		}
	}
	wantVia := kmsViaServices(w.plan, w)
	for _, st := range decryptStatements(doc) {
		got, err := viaServices(st)
		if err != nil {
			errs = append(errs, fmt.Errorf("statement %s: %w", st.Sid, err))
			continue
		}
		for _, v := range wantVia {
			if !slices.Contains(got, v) {
				errs = append(errs, fmt.Errorf("statement %s: kms:Decrypt is not allowed via %s, which the spec reads through", st.Sid, v))
			}
		}
	}
	return errors.Join(errs...)
}

// checkNoExtraGrants verifies the other direction: every action and
// resource an Allow statement of the task-role policy names is one the plan
// needs, spelt the same (a short-name secret as "NAME-??????"), and
// kms:Decrypt is allowed only on a KMS key and only via services the spec
// reads through KMS. Deny statements only narrow and are not checked.
func checkNoExtraGrants(doc *policyDoc, w wiring) error {
	need, err := requiredAccess(w.plan, w)
	if err != nil {
		return err
	}
	wantVia := kmsViaServices(w.plan, w)
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for i, st := range doc.Statement {
		if st.Effect != "Allow" {
			continue
		}
		at := fmt.Sprintf("statement %d (%s)", i, st.Sid)
		for _, act := range st.Action {
			if strings.EqualFold(act, actKMSDecrypt) {
				checkDecryptGrant(st, wantVia, func(err error) { fail("%s: %w", at, err) })
				continue
			}
			for _, res := range st.Resource {
				if !slices.ContainsFunc(need, func(n access) bool { return strings.EqualFold(n.action, act) && n.resource == res }) {
					fail("%s: grants %s on %s, which INJECTOR_SPEC does not need", at, act, res)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// checkDecryptGrant reports, through fail, a kms:Decrypt grant that is
// wider than the spec needs.
func checkDecryptGrant(st statement, wantVia []string, fail func(error)) {
	for _, res := range st.Resource {
		if a, err := parseARN(res); err != nil || a.service != "kms" || !strings.HasPrefix(a.resource, "key/") {
			fail(fmt.Errorf("kms:Decrypt on %s, want one KMS key ARN", res))
		}
	}
	got, err := viaServices(st)
	if err != nil {
		fail(err)
		return
	}
	for _, v := range got {
		if !slices.Contains(wantVia, v) {
			fail(fmt.Errorf("kms:Decrypt via %s, but INJECTOR_SPEC reads nothing through it (needed: %v)", v, wantVia))
		}
	}
}

// infraKMSActions are what the Amazon ECS infrastructure role needs on a
// customer managed key to create and attach an encrypted EBS volume.
func infraKMSActions() []string {
	return []string{
		"kms:CreateGrant",
		"kms:DescribeKey",
		"kms:GenerateDataKeyWithoutPlaintext",
		"kms:ReEncryptFrom",
		"kms:ReEncryptTo",
	}
}

// testWiring is the task the access tests run in.
func testWiring(t *testing.T, spec string) wiring {
	t.Helper()
	p, err := testplan.Build(spec)
	if err != nil {
		t.Fatalf("plan %s: %v", spec, err)
	}
	return wiring{region: "us-east-1", account: "111122223333", partition: "aws", plan: p}
}

func TestRequiredAccess(t *testing.T) {
	const (
		batch   = actBatchGetSecretValue
		db      = "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf"
		apiKey  = "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/api-key" + secretSuffixPattern
		blobKey = "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/blob-key" + secretSuffixPattern
		param   = "arn:aws:ssm:us-east-1:111122223333:parameter/app/key"
		object  = "arn:aws:s3:::bucket/dir/key.pem"
		via     = ".us-east-1.amazonaws.com"
	)
	var many []string // 33 secrets: one call each would not fit in 32
	for i := range 33 {
		many = append(many, fmt.Sprintf(`{"from":"secretsmanager:s%02d","path":"s%02d"}`, i, i))
	}
	manySecrets := func() string { return "[" + strings.Join(many, ",") + "]" }
	// secrets is what reading the first n of them needs.
	secrets := func(n int, batched bool) []access {
		var out []access
		if batched {
			out = append(out, access{batch, "*"})
		}
		for i := range n {
			out = append(out, access{actGetSecretValue, fmt.Sprintf("arn:aws:secretsmanager:us-east-1:111122223333:secret:s%02d%s", i, secretSuffixPattern)})
		}
		return out
	}
	tests := []struct {
		name    string
		spec    string // INJECTOR_SPEC; a bare reference stands for [{"from":REF,"path":"x"}]
		batch   string // INJECTOR_SECRETS_BATCH
		conc    int    // INJECTOR_CONCURRENCY
		want    []access
		wantVia []string
	}{
		{
			name:    "a run that batches: BatchGetSecretValue on *",
			spec:    "secretsmanager:app/api-key",
			batch:   "always",
			want:    []access{{batch, "*"}, {actGetSecretValue, apiKey}},
			wantVia: []string{"secretsmanager" + via},
		},
		{
			name:    "a batching run reads a pinned secret with GetSecretValue alone",
			spec:    "secretsmanager:app/api-key:token:AWSPREVIOUS:",
			batch:   "always",
			want:    []access{{actGetSecretValue, apiKey}},
			wantVia: []string{"secretsmanager" + via},
		},
		{
			name:    "33 calls do not fit in 32: the run batches",
			spec:    manySecrets(),
			want:    secrets(33, true),
			wantVia: []string{"secretsmanager" + via},
		},
		{
			name:    "32 calls and env: fit in 32",
			spec:    "[" + strings.Join(slices.Concat(many[:32], []string{`{"from":"env:A","path":"e"}`}), ",") + "]",
			want:    secrets(32, false),
			wantVia: []string{"secretsmanager" + via},
		},
		{
			name:    "33 calls fit in a concurrency of 40",
			spec:    manySecrets(),
			conc:    40,
			want:    secrets(33, false),
			wantVia: []string{"secretsmanager" + via},
		},
		{
			name:    "never batches",
			spec:    manySecrets(),
			batch:   "never",
			want:    secrets(33, false),
			wantVia: []string{"secretsmanager" + via},
		},
		{
			name:    "secret ARN with JSON key",
			spec:    db + ":password::",
			want:    []access{{actGetSecretValue, db}},
			wantVia: []string{"secretsmanager" + via},
		},
		{
			name:    "secret ARN",
			spec:    db,
			want:    []access{{actGetSecretValue, db}},
			wantVia: []string{"secretsmanager" + via},
		},
		{
			name:    "secret by name gets the suffix pattern",
			spec:    "secretsmanager:app/api-key",
			want:    []access{{actGetSecretValue, apiKey}},
			wantVia: []string{"secretsmanager" + via},
		},
		{
			name:    "secret pinned to a stage needs no batch call",
			spec:    "secretsmanager:app/api-key:token:AWSPREVIOUS:",
			want:    []access{{actGetSecretValue, apiKey}},
			wantVia: []string{"secretsmanager" + via},
		},
		{
			name:    "secret ARN pinned to a version id",
			spec:    db + ":::EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE",
			want:    []access{{actGetSecretValue, db}},
			wantVia: []string{"secretsmanager" + via},
		},
		{
			name:    "parameter ARN in another region",
			spec:    "arn:aws:ssm:eu-west-1:111122223333:parameter/app/key",
			want:    []access{{actGetParameters, "arn:aws:ssm:eu-west-1:111122223333:parameter/app/key"}},
			wantVia: []string{"ssm.eu-west-1.amazonaws.com"},
		},
		{
			name:    "parameter ARN with a label",
			spec:    param + ":prod",
			want:    []access{{actGetParameters, param}},
			wantVia: []string{"ssm" + via},
		},
		{
			name:    "parameter by hierarchical name",
			spec:    "ssm:/app/key",
			want:    []access{{actGetParameters, param}},
			wantVia: []string{"ssm" + via},
		},
		{
			name:    "parameter by plain name with a version",
			spec:    "ssm:plain:3",
			want:    []access{{actGetParameters, "arn:aws:ssm:us-east-1:111122223333:parameter/plain"}},
			wantVia: []string{"ssm" + via},
		},
		{
			name:    "object",
			spec:    "s3://bucket/dir/key.pem",
			want:    []access{{actGetObject, object}},
			wantVia: []string{"s3" + via},
		},
		{
			name:    "object in another region",
			spec:    "s3://bucket/dir/key.pem?region=eu-west-1",
			want:    []access{{actGetObject, object}},
			wantVia: []string{"s3.eu-west-1.amazonaws.com"},
		},
		{
			name:    "pinned object version needs GetObjectVersion only",
			spec:    "s3://bucket/dir/key.pem?versionId=3HL4kqtJlcpXroDTDmJ",
			want:    []access{{actGetObjectVersion, object}},
			wantVia: []string{"s3" + via},
		},
		{
			name:    "current and pinned version of one object",
			spec:    `[{"from":"s3://bucket/dir/key.pem","path":"a"},{"from":"s3://bucket/dir/key.pem?versionId=v1","path":"b"}]`,
			want:    []access{{actGetObject, object}, {actGetObjectVersion, object}},
			wantVia: []string{"s3" + via},
		},
		{
			name: "SSE-C object with its key in Secrets Manager",
			spec: `[{"from":"s3://bucket/dir/key.pem?versionId=3","path":"blob","sseCustomerKey":"secretsmanager:app/blob-key"}]`,
			want: []access{{actGetSecretValue, blobKey}, {actGetObjectVersion, object}},
			// S3 decrypts SSE-C objects with the key sent, not through KMS.
			wantVia: []string{"secretsmanager" + via},
		},
		{
			name:    "SSE-C object with its key in SSM",
			spec:    `[{"from":"s3://bucket/dir/key.pem","path":"blob","sseCustomerKey":"ssm:/app/key"}]`,
			want:    []access{{actGetParameters, param}, {actGetObject, object}},
			wantVia: []string{"ssm" + via},
		},
		{
			name: "each permission once",
			spec: `[{"from":"` + db + `:password::","path":"a"},{"from":"` + db + `:username::","path":"b"},` +
				`{"path":"c","format":"template","template":"{{.value}}{{.x}}","from":"ssm:/app/key","inputs":{"x":"` + param + `"}}]`,
			want:    []access{{actGetSecretValue, db}, {actGetParameters, param}},
			wantVia: []string{"secretsmanager" + via, "ssm" + via},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			if !strings.HasPrefix(spec, "[") {
				spec = `[{"from":"` + spec + `","path":"x"}]`
			}
			w := testWiring(t, spec)
			w.secretsBatch, w.concurrency = tc.batch, tc.conc
			got, err := requiredAccess(w.plan, w)
			if err != nil {
				t.Fatal(err)
			}
			byString := func(a, b access) int { return cmp.Compare(a.action+" "+a.resource, b.action+" "+b.resource) }
			slices.SortFunc(got, byString)
			want := slices.SortedFunc(slices.Values(tc.want), byString)
			if !slices.Equal(got, want) {
				t.Errorf("access:\n got %+v\nwant %+v", got, want)
			}
			if via := kmsViaServices(w.plan, w); !slices.Equal(via, tc.wantVia) {
				t.Errorf("kms:ViaService: got %v, want %v", via, tc.wantVia)
			}
		})
	}
	// References the injector refuses yield no access at all.
	for _, bad := range []string{"vault:/x", "s3://bucket", "arn:aws:s3:::bucket/key", "arn:aws:ssm:us-east-1:111122223333:document/x"} {
		if p, err := testplan.Build(`[{"from":"` + bad + `","path":"x"}]`); err == nil {
			t.Errorf("plan of %q: want an error, got %+v", bad, p)
		}
	}
}

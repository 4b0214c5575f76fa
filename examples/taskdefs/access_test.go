package taskdefs_test

// What the injector needs from IAM, derived from its own plan of the spec
// (plan.ParseSpec and plan.Build through testplan, the code the injector runs): the
// permissions, and the calls they stand for as the simulator is asked
// about them (iamsim_test.go).

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
	err := eachAccess(p, w, func(_ ref.Target, a access) {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	})
	return out, err
}

// eachAccess calls fn with each permission the injector needs for p, and
// the target it reads with it, in the order of p.Fetches.
func eachAccess(p plan.Plan, w wiring, fn func(ref.Target, access)) error {
	var errs []error
	add := func(t ref.Target) {
		as, err := targetAccess(t, w)
		errs = append(errs, err)
		for _, a := range as {
			fn(t, a)
		}
	}
	batches := runBatches(p, w)
	for _, f := range p.Fetches {
		if batches && f.Target.Source == ref.SecretsManager && !f.Target.Pinned() {
			// BatchGetSecretValue has no resource-level permissions; each
			// secret it returns is authorized through GetSecretValue.
			fn(f.Target, access{actBatchGetSecretValue, "*"})
		}
		add(f.Target)
		// On an outage, the replica in the failover region.
		if r, ok := replicaTarget(f); ok {
			add(r)
		}
		// The planner also lists the SSE-C key as a fetch of its own; it is
		// named here as well so that the key is never left out.
		if f.SSECustomerKey != nil {
			add(f.SSECustomerKey.Target)
		}
	}
	return errors.Join(errs...)
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
// (the default) when the calls of its first round, one per value, would
// take more than one wave of INJECTOR_CONCURRENCY. The first round reads every value but the S3
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

// kmsEndpoint names the service that decrypts a value of source with a
// customer managed key.
var kmsEndpoint = map[ref.Source]string{ref.SecretsManager: "secretsmanager", ref.SSM: "ssm", ref.SSMPath: "ssm", ref.S3: "s3"}

// kmsTargets lists the targets of p whose values a service decrypts
// through KMS. An S3 object read with an SSE-C key is decrypted with that
// key, not through KMS; the key's own value is.
func kmsTargets(p plan.Plan) []ref.Target {
	var out []ref.Target
	for _, f := range p.Fetches {
		t := f.Target
		if f.SSECustomerKey != nil {
			t = f.SSECustomerKey.Target
		}
		if _, ok := kmsEndpoint[t.Source]; ok {
			out = append(out, t)
		}
	}
	return out
}

func viaService(t ref.Target, w wiring) string {
	return fmt.Sprintf("%s.%s.amazonaws.com", kmsEndpoint[t.Source], cmp.Or(t.Region, w.region))
}

// kmsViaServices lists, sorted, the kms:ViaService values of the services
// that decrypt a value of p with a customer managed key: Secrets Manager,
// SSM and S3 in the region each value is read from.
func kmsViaServices(p plan.Plan, w wiring) []string {
	var out []string
	for _, t := range kmsTargets(p) {
		out = append(out, viaService(t, w))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// secretFills stand for the random suffix of a secret named without its
// ARN: the policy must allow the name with any of them.
var secretFills = []string{"A1b2C3", "zZ9yX8"}

// requiredCalls lists the calls the injector makes for p in the task w,
// with the condition keys each request carries: each permission of
// requiredAccess on a concrete resource, and, when the values are
// encrypted with the customer managed key (not ""), the kms:Decrypt that
// each service makes for a value on the injector's behalf.
func requiredCalls(p plan.Plan, w wiring, key string) ([]call, error) {
	// The task role reads the items without a role, and assumes the roles
	// of the others (crossaccount_test.go).
	out := assumeCalls(p, w)
	p = planAs(p, "")
	err := eachAccess(p, w, func(t ref.Target, a access) {
		for _, res := range concrete(a.resource) {
			out = append(out, call{a.action, res, requestContext(t, a.action, res, w)})
		}
	})
	for _, t := range kmsTargets(p) {
		if c, ok := decryptCall(t, w, key); ok {
			out = append(out, c)
		}
	}
	return uniqueCalls(out), err
}

// decryptCall is the kms:Decrypt with key that the service holding t's
// value makes when it is read, with the encryption context that service
// uses.
//
// The encryption context itself (kms:EncryptionContext:SecretARN and the
// like) is left out: the simulator drops condition keys with a variable
// part after a colon (see TestSimulatorDriver), so no example's policy may
// depend on them; kms:EncryptionContextKeys names the keys.
func decryptCall(t ref.Target, w wiring, key string) (call, bool) {
	as, err := targetAccess(t, w)
	if key == "" || err != nil || len(as) == 0 {
		return call{}, false // no customer managed key, or no call at all
	}
	enc := map[ref.Source][]string{ref.SecretsManager: {"SecretARN", "SecretVersionId"}, ref.SSM: {"PARAMETER_ARN"},
		ref.SSMPath: {"PARAMETER_ARN"}, ref.S3: {"aws:s3:arn"}}
	return call{actKMSDecrypt, key, map[string]any{
		"aws:SecureTransport": "true", "aws:RequestedRegion": cmp.Or(t.Region, w.region),
		"kms:ViaService": viaService(t, w), "kms:CallerAccount": w.account, "kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
		"kms:EncryptionContextKeys": enc[t.Source],
	}}, true
}

// concrete returns resources that res (with "?" for unknown characters)
// stands for.
func concrete(res string) []string {
	if !strings.HasSuffix(res, secretSuffixPattern) {
		return []string{res}
	}
	var out []string
	for _, f := range secretFills {
		out = append(out, strings.TrimSuffix(res, secretSuffixPattern)+"-"+f)
	}
	return out
}

// requestContext returns the condition keys of the injector's request of
// action on res for t.
func requestContext(t ref.Target, action, res string, w wiring) map[string]any {
	ctx := map[string]any{"aws:SecureTransport": "true", "aws:RequestedRegion": cmp.Or(t.Region, w.region)}
	switch action {
	case actGetSecretValue, actDescribeSecret:
		ctx["secretsmanager:SecretId"] = res
		if action == actGetSecretValue && t.VersionStage != "" {
			ctx["secretsmanager:VersionStage"] = t.VersionStage
		}
		if action == actGetSecretValue && t.VersionID != "" {
			ctx["secretsmanager:VersionId"] = t.VersionID
		}
	case actGetParametersByPath:
		ctx["ssm:Recursive"] = "true"
	case actGetObject, actGetObjectVersion:
		ctx["s3:authType"], ctx["s3:signatureversion"] = "REST-HEADER", "AWS4-HMAC-SHA256"
		if t.VersionID != "" {
			ctx["s3:versionid"] = t.VersionID
		}
	}
	return ctx
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

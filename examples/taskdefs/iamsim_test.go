package taskdefs_test

// The examples' IAM policies are judged by a third-party simulator,
// @cloud-copilot/iam-simulate, driven by testdata/iamsim/sim.mjs (pinned
// by its package-lock.json; scripts/test.sh runs npm ci there). A policy
// fits when the simulator allows every call the role makes (call, derived
// from the task definition) and, on those resources and on their
// neighbours (other names, prefix look-alikes, other regions and
// accounts, other keys), allows no action but those calls.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	awsarn "github.com/aws/aws-sdk-go-v2/aws/arn"
)

const (
	simDir = "testdata/iamsim"
	// requireEnv makes a missing node or simulator a failure (CI).
	requireEnv = "INJECTOR_REQUIRE_INTEGRATION"
)

// call is one request a role makes: an action on a resource, with the
// condition keys the real request carries.
type call struct {
	action, resource string
	context          map[string]any // string or []string values
}

// simServices are the services whose wildcard-only actions (Resource "*")
// are probed: those the injector and ECS call for the examples.
var simServices = []string{"secretsmanager", "ssm", "s3", "kms", "logs"}

// decidingKeys are the condition keys that tell two calls on one resource
// apart when a probe's expected actions are worked out (see want).
var decidingKeys = []string{"kms:ViaService", "kms:GrantIsForAWSResource"}

// grantCheck asks whether policy, the identity policy of principal, allows
// every call of needs; with exact, also that it allows nothing else on the
// resources of needs and their neighbours.
type grantCheck struct {
	policy    json.RawMessage
	principal string
	account   string
	needs     []call
	exact     bool
	// resourcePolicies are the policies of resources (by ARN) in other
	// accounts: a role's trust policy, a secret's resource policy, a
	// key's policy (else the default key policy).
	resourcePolicies map[string]json.RawMessage
}

type simRequest struct {
	Action         string          `json:"action"`
	Resource       string          `json:"resource"`
	Account        string          `json:"account"`
	Context        map[string]any  `json:"context,omitempty"`
	ResourcePolicy json.RawMessage `json:"resourcePolicy,omitempty"`
}

type simResult struct {
	Action   string   `json:"action"`
	Decision string   `json:"decision"`
	Error    string   `json:"error"`
	Ignored  []string `json:"ignored"`
}

type simJob struct {
	Principal string                     `json:"principal"`
	Policies  map[string]json.RawMessage `json:"policies"`
	Requests  []simRequest               `json:"requests"`
}

// probe is one resource and request context on which the actions a policy
// allows must be exactly want.
type probe struct {
	resource string
	service  string // on Resource "*": the service whose actions are probed
	context  map[string]any
	want     []string
}

// runSimulator runs sim.mjs once over jobs and returns, per job and
// request, the simulator's results. Without node or the installed
// simulator the test is skipped, or fails when requireEnv is set.
func runSimulator(t *testing.T, jobs []simJob) [][][]simResult {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv(requireEnv) == "1" {
			t.Fatalf("%s (%s=1)", msg, requireEnv)
		}
		t.Skipf("%s; the IAM policy tests need node with npm (bash scripts/test.sh installs the simulator)", msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable("node not found")
	}
	if _, err := os.Stat(filepath.Join(simDir, "node_modules", "@cloud-copilot", "iam-simulate")); err != nil {
		unavailable("the IAM simulator is not installed: run npm ci in examples/taskdefs/%s", simDir)
	}
	// Read here, the driver and the lock file key go test's cache (it
	// does not see what node opens).
	for _, f := range []string{"sim.mjs", "package-lock.json"} {
		if _, err := os.ReadFile(filepath.Join(simDir, f)); err != nil {
			t.Fatal(err)
		}
	}
	in, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(simDir, "sim.mjs"))
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sim.mjs: %v\n%s", err, stderr.String())
	}
	var out struct {
		Results [][][]simResult `json:"results"`
		Error   string          `json:"error"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("sim.mjs printed %q: %v", stdout.String(), err)
	}
	if out.Error != "" || len(out.Results) != len(jobs) {
		t.Fatalf("sim.mjs: %s (%d results for %d jobs)", out.Error, len(out.Results), len(jobs))
	}
	return out.Results
}

// keyPolicy is the default key policy: the account's IAM policies decide
// who uses the key. KMS consults it on every call, so the simulator needs
// it to allow anything on a key.
func keyPolicy(partition, account string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"EnableIAMPolicies","Effect":"Allow",`+
		`"Principal":{"AWS":"arn:%s:iam::%s:root"},"Action":"kms:*","Resource":"*"}]}`, partition, account))
}

func (g grantCheck) request(action, resource string, ctx map[string]any) simRequest {
	r := simRequest{Action: action, Resource: resource, Account: g.account, Context: ctx}
	a, err := awsarn.Parse(resource)
	if err == nil && a.AccountID != "" {
		r.Account = a.AccountID // the resource's own account
	}
	if err == nil && a.Service == "kms" {
		r.ResourcePolicy = keyPolicy(a.Partition, a.AccountID)
	}
	if p, ok := g.resourcePolicies[resource]; ok {
		r.ResourcePolicy = p
	}
	return r
}

// probes lists what the exact check looks at: each resource of needs with
// each distinct context, its neighbours, KMS keys reached other ways, and
// Resource "*" for each of simServices.
func (g grantCheck) probes() []probe {
	var out []probe
	seen := map[string]bool{}
	add := func(res string, ctx map[string]any) {
		k := res + " " + fmt.Sprint(deciding(ctx))
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, probe{resource: res, context: ctx, want: g.want(res, "", ctx)})
	}
	// The calls' own contexts first: a probe of the same resource and
	// deciding keys is then one of them.
	for _, n := range g.needs {
		if n.resource != "*" { // see simServices below
			add(n.resource, n.context)
		}
	}
	for _, n := range g.needs {
		for _, nb := range neighbours(n.resource, g.needs) {
			add(nb, n.context)
		}
		a, err := awsarn.Parse(n.resource)
		if err != nil || a.Service != "kms" || n.context["kms:ViaService"] == nil {
			continue
		}
		for _, via := range viaVariants(fmt.Sprint(n.context["kms:ViaService"]), a.Region) {
			ctx := maps.Clone(n.context)
			if via == "" {
				delete(ctx, "kms:ViaService")
			} else {
				ctx["kms:ViaService"] = via
			}
			add(n.resource, ctx)
		}
		if _, ok := n.context["kms:GrantIsForAWSResource"]; ok {
			ctx := maps.Clone(n.context)
			ctx["kms:GrantIsForAWSResource"] = "false"
			add(n.resource, ctx)
		}
	}
	for _, svc := range simServices {
		out = append(out, probe{resource: "*", service: svc, want: g.want("*", svc, nil)})
	}
	return out
}

// deciding returns the values of decidingKeys in ctx.
func deciding(ctx map[string]any) []any {
	var out []any
	for _, k := range decidingKeys {
		out = append(out, ctx[k])
	}
	return out
}

// want lists the actions of needs on res (of service, on "*") whose
// deciding keys ctx matches.
func (g grantCheck) want(res, service string, ctx map[string]any) []string {
	var out []string
	for _, n := range g.needs {
		if n.resource != res || (res == "*" && !strings.HasPrefix(n.action, service+":")) {
			continue
		}
		match := true
		for _, k := range decidingKeys {
			if v, ok := n.context[k]; ok && fmt.Sprint(v) != fmt.Sprint(ctx[k]) {
				match = false
			}
		}
		if match && !slices.Contains(out, n.action) {
			out = append(out, n.action)
		}
	}
	slices.Sort(out)
	return out
}

// viaVariants are the kms:ViaService values a key is probed with besides
// via, the one a call uses: none (a direct call), the services that decrypt
// values or volumes in the key's region, and via's service in another
// region.
func viaVariants(via, region string) []string {
	out := []string{""}
	for _, svc := range []string{"secretsmanager", "ssm", "s3", "ec2"} {
		out = append(out, svc+"."+region+".amazonaws.com")
	}
	svc, _, _ := strings.Cut(via, ".")
	return append(out, svc+"."+otherRegion(region)+".amazonaws.com")
}

func otherRegion(r string) string {
	if r == "eu-west-1" {
		return "us-west-2"
	}
	return "eu-west-1"
}

const otherAccount = "444455556666"

// neighbours lists resources next to res that a least-privilege grant of
// res does not reach: other regions and accounts, names that res is a
// prefix of or that are a prefix of res, a parent or child path, another
// bucket or key. A secret's other suffix (the same name re-created) is one
// of them unless needs reach the secret by name (any suffix).
func neighbours(res string, needs []call) []string {
	a, err := awsarn.Parse(res)
	if err != nil {
		return nil
	}
	var out []string
	with := func(mod func(*awsarn.ARN)) {
		b := a
		mod(&b)
		if s := b.String(); s != res {
			out = append(out, s)
		}
	}
	if a.Region != "" {
		with(func(b *awsarn.ARN) { b.Region = otherRegion(a.Region) })
	}
	if a.AccountID != "" {
		with(func(b *awsarn.ARN) { b.AccountID = otherAccount })
	}
	kind, rest, _ := strings.Cut(a.Resource, ":")
	switch a.Service {
	case "secretsmanager":
		name, suffix := rest, "" // a partial ARN has no suffix
		if i := strings.LastIndex(rest, "-"); i > 0 {
			name, suffix = rest[:i], rest[i:]
		}
		for _, n := range lookAlikes(name) {
			with(func(b *awsarn.ARN) { b.Resource = kind + ":" + n + suffix })
		}
		byName := slices.ContainsFunc(needs, func(c call) bool {
			return c.resource != res && strings.HasPrefix(c.resource, strings.TrimSuffix(res, suffix)+"-") &&
				len(c.resource) == len(res)
		})
		if !byName {
			with(func(b *awsarn.ARN) { b.Resource = kind + ":" + name + "-Qq0Qq0" })
		}
	case "ssm":
		p := strings.TrimPrefix(a.Resource, "parameter/")
		for _, n := range lookAlikes(p) {
			with(func(b *awsarn.ARN) { b.Resource = "parameter/" + n })
		}
	case "s3":
		bucket, key, ok := strings.Cut(a.Resource, "/")
		with(func(b *awsarn.ARN) { b.Resource = bucket + "x/" + key })
		if ok {
			with(func(b *awsarn.ARN) { b.Resource = bucket })
			for _, k := range lookAlikes(key) {
				with(func(b *awsarn.ARN) { b.Resource = bucket + "/" + k })
			}
		}
	case "kms":
		with(func(b *awsarn.ARN) { b.Resource = "key/0000aaaa-00aa-00aa-00aa-000000aaaaaa" })
	case "logs":
		// A stream's neighbours are streams of other groups (one name
		// for all: every stream of the group is needed alike).
		group, _, isStream := strings.Cut(rest, ":log-stream:")
		for _, g := range lookAlikes(group) {
			with(func(b *awsarn.ARN) {
				b.Resource = kind + ":" + g
				if isStream {
					b.Resource += ":log-stream:x"
				}
			})
		}
	}
	return out
}

// lookAlikes are names next to p: longer ones that p is a prefix of
// (app/prod and app/production), a child path, the parent path, and p
// less its last character.
func lookAlikes(p string) []string {
	out := []string{p + "x", p + "-x", p + "/x"}
	if i := strings.LastIndex(p, "/"); i > 0 {
		out = append(out, p[:i])
	}
	if len(p) > 1 {
		out = append(out, p[:len(p)-1])
	}
	return out
}

// job builds the simulator requests of g: each call on its own, then
// each probe over every action of the probed service.
func (g grantCheck) job() (simJob, []probe) {
	j := simJob{Principal: g.principal, Policies: map[string]json.RawMessage{"policy": g.policy}}
	for _, n := range g.needs {
		j.Requests = append(j.Requests, g.request(n.action, n.resource, n.context))
	}
	var probes []probe
	if g.exact {
		probes = g.probes()
	}
	for _, p := range probes {
		if p.resource == "*" {
			j.Requests = append(j.Requests, g.request(p.service+":*", "*", nil))
			continue
		}
		a, _ := awsarn.Parse(p.resource)
		service := a.Service
		if service == "iam" && strings.HasPrefix(a.Resource, "role/") {
			service = "sts" // what is done to a role: assuming it
		}
		j.Requests = append(j.Requests, g.request(service+":*", p.resource, p.context))
	}
	return j, probes
}

// verdict judges the simulator's results for the job of g.
func (g grantCheck) verdict(results [][]simResult, probes []probe) error {
	var errs []error
	if len(g.needs) == 0 {
		return errors.New("no calls to check the policy against")
	}
	for i, n := range g.needs {
		for _, r := range results[i] {
			switch {
			case r.Error != "":
				errs = append(errs, fmt.Errorf("%s on %s: %s", r.Action, n.resource, r.Error))
			case r.Decision != "Allowed":
				errs = append(errs, fmt.Errorf("policy does not allow %s on %s (%s)", r.Action, n.resource, r.Decision))
			case len(r.Ignored) > 0:
				errs = append(errs, fmt.Errorf("%s on %s: the simulator dropped %v, condition keys the action does not take", r.Action, n.resource, r.Ignored))
			}
		}
	}
	for i, p := range probes {
		var allowed []string
		for _, r := range results[len(g.needs)+i] {
			if r.Error != "" {
				errs = append(errs, fmt.Errorf("%s on %s: %s", r.Action, p.resource, r.Error))
			}
			if r.Decision == "Allowed" {
				allowed = append(allowed, r.Action)
			}
		}
		slices.Sort(allowed)
		if !slices.Equal(allowed, p.want) {
			at := p.resource
			for _, k := range decidingKeys {
				if v, ok := p.context[k]; ok {
					at += fmt.Sprintf(" with %s=%v", k, v)
				}
			}
			errs = append(errs, fmt.Errorf("on %s the policy allows %v, want exactly %v", at, allowed, p.want))
		}
	}
	return errors.Join(errs...)
}

// uniqueCalls drops repeated calls (same action, resource and deciding
// keys), keeping the first.
func uniqueCalls(cs []call) []call {
	var out []call
	seen := map[string]bool{}
	for _, c := range cs {
		if k := c.action + " " + c.resource + " " + fmt.Sprint(deciding(c.context)); !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	return out
}

// checkGrants runs the checks in one simulator process and returns each
// one's verdict.
func checkGrants(t *testing.T, checks ...grantCheck) []error {
	t.Helper()
	jobs := make([]simJob, len(checks))
	probes := make([][]probe, len(checks))
	for i := range checks {
		checks[i].needs = uniqueCalls(checks[i].needs)
		jobs[i], probes[i] = checks[i].job()
	}
	results := runSimulator(t, jobs)
	out := make([]error, len(checks))
	for i, g := range checks {
		out[i] = g.verdict(results[i], probes[i])
	}
	return out
}

// TestSimulatorDriver pins what the tests rely on in the simulator and
// sim.mjs: known decisions, the key policy KMS needs, condition keys it
// takes and drops, and the expansion of action patterns.
func TestSimulatorDriver(t *testing.T) {
	const (
		principal = "arn:aws:iam::111122223333:role/task"
		acct      = "111122223333"
		key       = "arn:aws:kms:us-east-1:111122223333:key/k"
		secret    = "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf"
		stream    = "arn:aws:logs:us-east-1:111122223333:log-group:/ecs/g:log-stream:s"
	)
	policy := json.RawMessage(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::b/*"},
		{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/private"},
		{"Effect":"Deny","Action":"s3:PutObject","Resource":"*","Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}},
		{"Effect":"Allow","Action":"kms:Decrypt","Resource":"` + key + `","Condition":{"StringEquals":{"kms:ViaService":"ssm.us-east-1.amazonaws.com"}}},
		{"Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret","secretsmanager:BatchGetSecretValue"],"Resource":["` + secret + `","*"]},
		{"Effect":"Allow","Action":"logs:*","Resource":"arn:aws:logs:us-east-1:111122223333:log-group:/ecs/g:*"}]}`)
	viaSSM := map[string]any{"kms:ViaService": "ssm.us-east-1.amazonaws.com"}
	kp := keyPolicy("aws", acct)
	tests := []struct {
		name string
		req  simRequest
		want string // "decision", "decision ignored=[keys]" or, for a pattern, the allowed actions
	}{
		{"allowed", simRequest{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, "Allowed"},
		{"explicit deny wins", simRequest{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/private"}, "ExplicitlyDenied"},
		{"not granted", simRequest{Action: "s3:GetObject", Resource: "arn:aws:s3:::c/k"}, "ImplicitlyDenied"},
		{"s3:x-amz-server-side-encryption as required", simRequest{Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k",
			Context: map[string]any{"s3:x-amz-server-side-encryption": "aws:kms"}}, "Allowed"},
		{"s3:x-amz-server-side-encryption otherwise", simRequest{Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k",
			Context: map[string]any{"s3:x-amz-server-side-encryption": "AES256"}}, "ExplicitlyDenied"},
		{"a key GetObject does not take is dropped", simRequest{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k",
			Context: map[string]any{"s3:x-amz-server-side-encryption": "aws:kms"}}, "Allowed ignored=[s3:x-amz-server-side-encryption]"},
		{"kms:ViaService as granted", simRequest{Action: "kms:Decrypt", Resource: key, Context: viaSSM, ResourcePolicy: kp}, "Allowed"},
		{"kms:ViaService of another service", simRequest{Action: "kms:Decrypt", Resource: key, ResourcePolicy: kp,
			Context: map[string]any{"kms:ViaService": "s3.us-east-1.amazonaws.com"}}, "ImplicitlyDenied"},
		{"kms:Decrypt called directly", simRequest{Action: "kms:Decrypt", Resource: key, ResourcePolicy: kp}, "ImplicitlyDenied"},
		{"a key without its key policy", simRequest{Action: "kms:Decrypt", Resource: key, Context: viaSSM}, "ImplicitlyDenied"},
		// The simulator drops kms:EncryptionContext:KEY (a variable part
		// after a colon); decryptCall leaves it out for that reason.
		{"kms:EncryptionContext:KEY is dropped", simRequest{Action: "kms:Decrypt", Resource: key, ResourcePolicy: kp,
			Context: map[string]any{"kms:ViaService": "ssm.us-east-1.amazonaws.com", "kms:EncryptionContext:PARAMETER_ARN": "arn:aws:ssm:us-east-1:111122223333:parameter/p",
				"kms:EncryptionContextKeys": []string{"PARAMETER_ARN"}}},
			"Allowed ignored=[kms:EncryptionContext:PARAMETER_ARN]"},
		{"the actions of a secret", simRequest{Action: "secretsmanager:*", Resource: secret}, "[secretsmanager:DescribeSecret secretsmanager:GetSecretValue]"},
		{"wildcard-only actions on *", simRequest{Action: "secretsmanager:*", Resource: "*"}, "[secretsmanager:BatchGetSecretValue]"},
		{"a log stream is no log group", simRequest{Action: "logs:Create*", Resource: stream}, "[logs:CreateLogStream]"},
		{"a request names one resource", simRequest{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*"}, "Error"},
	}
	bad := json.RawMessage(`{"version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	notAction := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"s3:*","Resource":"*"}]}`)
	jobs := []simJob{{Principal: principal, Policies: map[string]json.RawMessage{"p": policy}},
		{Principal: principal, Policies: map[string]json.RawMessage{"p": bad}, Requests: []simRequest{{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Account: acct}}},
		{Principal: principal, Policies: map[string]json.RawMessage{"p": notAction}, Requests: []simRequest{{Action: "secretsmanager:Get*", Resource: secret, Account: acct}}}}
	for _, tc := range tests {
		tc.req.Account = acct
		jobs[0].Requests = append(jobs[0].Requests, tc.req)
	}
	results := runSimulator(t, jobs)
	for i, tc := range tests {
		rs := results[0][i]
		var got string
		if strings.ContainsAny(tc.req.Action, "*") {
			var allowed []string
			for _, r := range rs {
				if r.Decision == "Allowed" {
					allowed = append(allowed, r.Action)
				}
			}
			slices.Sort(allowed)
			got = fmt.Sprint(allowed)
		} else if len(rs) == 1 {
			got = rs[0].Decision
			if len(rs[0].Ignored) > 0 {
				got += fmt.Sprintf(" ignored=%v", rs[0].Ignored)
			}
		}
		if got != tc.want {
			t.Errorf("%s: got %s, want %s (%+v)", tc.name, got, tc.want, rs)
		}
	}
	if r := results[1][0]; len(r) != 1 || r[0].Decision != "Error" || !strings.Contains(r[0].Error, "version") {
		t.Errorf("a mis-spelt policy: got %+v, want a validation error", r)
	}
	// sim.mjs skips the actions no statement names; NotAction names all.
	if r := results[2][0]; len(r) != 2 || r[0].Decision != "Allowed" || r[1].Decision != "Allowed" {
		t.Errorf("secretsmanager:Get* under NotAction s3:*: got %+v, want GetResourcePolicy and GetSecretValue allowed", r)
	}
}

// TestGrantCheck runs the task-role check on synthetic specs and policies:
// it must pass a policy that grants exactly the calls and fail each way a
// policy grants too little or too much.
func TestGrantCheck(t *testing.T) {
	const (
		object  = `"arn:aws:s3:::bucket/blob"`
		blobKey = `"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/blob-key-??????"`
		apiKey  = `"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/api-key-??????"`
		param   = `"arn:aws:ssm:us-east-1:111122223333:parameter/app/key"`
		key     = "arn:aws:kms:us-east-1:111122223333:key/k"

		batch      = `{"Effect":"Allow","Action":"secretsmanager:BatchGetSecretValue","Resource":"*"}`
		getBlobKey = `{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":` + blobKey + `}`
		getAPIKey  = `{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":` + apiKey + `}`
		getParam   = `{"Effect":"Allow","Action":"ssm:GetParameters","Resource":` + param + `}`
		getObject  = `{"Effect":"Allow","Action":"s3:GetObject","Resource":` + object + `}`
		getVersion = `{"Effect":"Allow","Action":"s3:GetObjectVersion","Resource":` + object + `}`
		getPath    = `{"Effect":"Allow","Action":"ssm:GetParametersByPath","Resource":"arn:aws:ssm:us-east-1:111122223333:parameter/app/prod"}`

		pinned      = `[{"from":"s3://bucket/blob?versionId=3HL4kqtJlcpXroDTDmJ","path":"blob"}]`
		current     = `[{"from":"s3://bucket/blob","path":"blob"}]`
		sseCSecret  = `[{"from":"s3://bucket/blob","path":"blob","sseCustomerKey":"secretsmanager:app/blob-key"}]`
		sseCParam   = `[{"from":"s3://bucket/blob?versionId=3","path":"blob","sseCustomerKey":"ssm:/app/key"}]`
		shortSecret = `[{"from":"secretsmanager:app/api-key","path":"k"}]`
		secretParam = `[{"from":"secretsmanager:app/api-key","path":"k"},{"from":"ssm:/app/key","path":"p"}]`
		path        = `[{"from":"ssm:/app/prod/","path":"prod","format":"explode"}]`
	)
	decrypt := func(op string, via ...string) string {
		return `{"Effect":"Allow","Action":"kms:Decrypt","Resource":"` + key +
			`","Condition":{"` + op + `":{"kms:ViaService":["` + strings.Join(via, `","`) + `"]}}}`
	}
	tests := []struct {
		name    string
		spec    string
		batch   string // INJECTOR_SECRETS_BATCH
		key     string // customer managed key of the values
		stmts   []string
		wantErr string // empty: must pass
	}{
		{name: "pinned object, exact", spec: pinned, stmts: []string{getVersion}},
		{name: "pinned object without s3:GetObjectVersion", spec: pinned, stmts: []string{getObject},
			wantErr: "does not allow s3:GetObjectVersion on arn:aws:s3:::bucket/blob"},
		{name: "pinned object with s3:GetObject as well", spec: pinned, stmts: []string{getObject, getVersion},
			wantErr: "on arn:aws:s3:::bucket/blob the policy allows [s3:GetObject s3:GetObjectVersion], want exactly [s3:GetObjectVersion]"},
		{name: "current object with s3:GetObjectVersion as well", spec: current, stmts: []string{getObject, getVersion},
			wantErr: "allows [s3:GetObject s3:GetObjectVersion], want exactly [s3:GetObject]"},
		{name: "a write action as well", spec: current, stmts: []string{`{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":` + object + `}`},
			wantErr: "allows [s3:GetObject s3:PutObject]"},
		{name: "the whole bucket", spec: current, stmts: []string{`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}`},
			wantErr: "on arn:aws:s3:::bucket/blobx the policy allows [s3:GetObject]"},
		{name: "explicit deny wins", spec: current, stmts: []string{getObject, `{"Effect":"Deny","Action":"s3:GetObject","Resource":` + object + `}`},
			wantErr: "does not allow s3:GetObject on arn:aws:s3:::bucket/blob (ExplicitlyDenied)"},
		{name: "Deny statements only narrow", spec: current, stmts: []string{getObject, `{"Effect":"Deny","Action":"s3:PutObject","Resource":` + object + `}`}},
		{name: "SSE-C key secret, exact", spec: sseCSecret, stmts: []string{getBlobKey, getObject}},
		{name: "SSE-C without the key secret", spec: sseCSecret, stmts: []string{getObject},
			wantErr: "does not allow secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:111122223333:secret:app/blob-key-A1b2C3"},
		{name: "BatchGetSecretValue where the run does not batch", spec: sseCSecret, stmts: []string{batch, getBlobKey, getObject},
			wantErr: "on * the policy allows [secretsmanager:BatchGetSecretValue], want exactly []"},
		{name: "a batching run without BatchGetSecretValue", spec: sseCSecret, batch: "always", stmts: []string{getBlobKey, getObject},
			wantErr: "does not allow secretsmanager:BatchGetSecretValue on *"},
		{name: "a batching run, exact", spec: sseCSecret, batch: "always", stmts: []string{batch, getBlobKey, getObject}},
		{name: "SSE-C key parameter, exact", spec: sseCParam, stmts: []string{getParam, getVersion}},
		{name: "SSE-C key parameter granted GetParameter only", spec: sseCParam,
			stmts:   []string{`{"Effect":"Allow","Action":"ssm:GetParameter","Resource":` + param + `}`, getVersion},
			wantErr: "does not allow ssm:GetParameters"},
		{name: "kms:Decrypt via the service", spec: sseCSecret, key: key,
			stmts: []string{getBlobKey, getObject, decrypt("StringEquals", "secretsmanager.us-east-1.amazonaws.com")}},
		{name: "an SSE-C object is not decrypted through KMS", spec: sseCSecret, key: key,
			stmts:   []string{getBlobKey, getObject, decrypt("StringEquals", "secretsmanager.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com")},
			wantErr: "with kms:ViaService=s3.us-east-1.amazonaws.com the policy allows [kms:Decrypt], want exactly []"},
		{name: "kms:Decrypt missing a service the spec reads through", spec: secretParam, key: key,
			stmts:   []string{getAPIKey, getParam, decrypt("StringEquals", "secretsmanager.us-east-1.amazonaws.com")},
			wantErr: "does not allow kms:Decrypt on " + key},
		{name: "kms:Decrypt via a pattern", spec: shortSecret, key: key,
			stmts:   []string{getAPIKey, decrypt("StringLike", "secretsmanager.*.amazonaws.com")},
			wantErr: "with kms:ViaService=secretsmanager.eu-west-1.amazonaws.com the policy allows [kms:Decrypt]"},
		{name: "kms:Decrypt without kms:ViaService", spec: shortSecret, key: key,
			stmts:   []string{getAPIKey, `{"Effect":"Allow","Action":"kms:Decrypt","Resource":"` + key + `"}`},
			wantErr: "on " + key + " the policy allows [kms:Decrypt], want exactly []"},
		{name: "secret by name, exact", spec: shortSecret, stmts: []string{getAPIKey}},
		{name: "secret by name granted on one suffix only", spec: shortSecret,
			stmts:   []string{`{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/api-key-Xy12Zw"}`},
			wantErr: "does not allow secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:111122223333:secret:app/api-key-A1b2C3"},
		{name: "secret by name granted with a star", spec: shortSecret,
			stmts:   []string{`{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/api-key*"}`},
			wantErr: "on arn:aws:secretsmanager:us-east-1:111122223333:secret:app/api-keyx-A1b2C3 the policy allows [secretsmanager:GetSecretValue]"},
		{name: "secret on Resource *", spec: shortSecret,
			stmts:   []string{`{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}`},
			wantErr: "on arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/api-key-A1b2C3 the policy allows"},
		{name: "another account's secret", spec: shortSecret,
			stmts:   []string{`{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:444455556666:secret:app/api-key-??????"}`},
			wantErr: "does not allow secretsmanager:GetSecretValue"},
		{name: "pinned secret needs no BatchGetSecretValue, even in a batching run", spec: `[{"from":"secretsmanager:app/api-key:k:AWSPREVIOUS:","path":"k"}]`,
			batch: "always", stmts: []string{batch, getAPIKey}, wantErr: "on * the policy allows [secretsmanager:BatchGetSecretValue]"},
		{name: "parameter label is not part of the ARN", spec: `[{"from":"ssm:/app/key:prod","path":"p"}]`, stmts: []string{getParam}},
		{name: "parameter path, exact", spec: path, stmts: []string{getPath}},
		{name: "parameter path reaching app/production", spec: path,
			stmts:   []string{`{"Effect":"Allow","Action":"ssm:GetParametersByPath","Resource":"arn:aws:ssm:us-east-1:111122223333:parameter/app/prod*"}`},
			wantErr: "on arn:aws:ssm:us-east-1:111122223333:parameter/app/prodx the policy allows [ssm:GetParametersByPath]"},
		{name: "parameter path with GetParameters below it", spec: path,
			stmts:   []string{getPath, `{"Effect":"Allow","Action":"ssm:GetParameters","Resource":"arn:aws:ssm:us-east-1:111122223333:parameter/app/prod/*"}`},
			wantErr: "on arn:aws:ssm:us-east-1:111122223333:parameter/app/prod/x the policy allows [ssm:GetParameters]"},
		{name: "a policy that allows nothing", spec: current, stmts: []string{`{"Effect":"Deny","Action":"s3:PutObject","Resource":` + object + `}`},
			wantErr: "does not allow s3:GetObject"},
		{name: "no statements", spec: current, wantErr: "does not allow s3:GetObject"},
		{name: "a spec without AWS calls", spec: `[{"from":"env:A","path":"a"}]`, stmts: []string{getObject},
			wantErr: "no calls to check the policy against"},
	}
	var checks []grantCheck
	for _, tc := range tests {
		w := testWiring(t, tc.spec)
		w.secretsBatch, w.role = tc.batch, "arn:aws:iam::111122223333:role/task"
		doc := &policyDoc{raw: json.RawMessage(`{"Version":"2012-10-17","Statement":[` + strings.Join(tc.stmts, ",") + `]}`)}
		g, err := taskRoleCheck(doc, w, tc.key, true)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		checks = append(checks, g)
	}
	for i, err := range checkGrants(t, checks...) {
		tc := tests[i]
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: unexpected error: %v", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: got error %v, want one containing %q", tc.name, err, tc.wantErr)
		}
	}
}

package sources

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ecs-secret-injector/injector/ref"
)

// Planning: what a Fetch or a Versions would call, without calling. Each
// source describes every call as it makes it (Call), so `injector validate`
// prints, and `injector policy` grants, exactly the calls a run makes.

// Call describes one call that a fetch or a check makes.
type Call struct {
	// Service and Operation name the API call ("secretsmanager",
	// "GetSecretValue"); both are empty for a read that calls no API
	// (env:).
	Service, Operation string
	// Region is where the call goes: the target's own, or the default
	// ("" when no API is called).
	Region string
	// Role is the ARN of the role the call is made as ("": the task's own
	// credentials).
	Role string
	// ExternalID is the sts:ExternalId the role is assumed with (not a
	// secret: the trust policy names it).
	ExternalID string
	// FailoverRegion is where the call is made again, for the replicas of
	// its targets (FailoverTargets), when Region is unavailable
	// (failover.go); "" for none.
	FailoverRegion string
	// FailoverTargets are the targets as the failover call names them.
	FailoverTargets []ref.Target
	// Targets are what the call reads, in the order first named.
	Targets []ref.Target
	// KMS: the service may decrypt what it returns with a KMS key on the
	// caller's behalf (a secret, a SecureString parameter, an SSE-KMS
	// object), which takes kms:Decrypt through that service.
	KMS bool
	// SSECustomerKey: the request sends an SSE-C key, which S3 decrypts
	// with (not KMS).
	SSECustomerKey bool
	// Version: the request names the target's pinned version (S3
	// authorizes that as s3:GetObjectVersion).
	Version bool
	// Note says in a few words how the call reads ("recursive, every
	// page, with decryption").
	Note string
}

// CallSet is the calls of one Fetch or one Versions, all in flight at once
// up to Options.Concurrency.
type CallSet struct {
	Calls []Call
	// Batched: the batching rule (Options.Batch) chose batched calls.
	Batched bool
	// Unbatched is how many API calls one call per value takes: what
	// BatchAuto compares with Options.Concurrency.
	Unbatched int
}

// IsAPI reports whether the call goes to an AWS API (an env: read does not).
func (c Call) IsAPI() bool { return c.Service != "" }

// APICalls is how many of the set's calls go to an AWS API.
func (r CallSet) APICalls() int {
	n := 0
	for _, c := range r.Calls {
		if c.IsAPI() {
			n++
		}
	}
	return n
}

// PlanFetch returns the calls Fetch(reqs) makes, without making any. Its
// error is the one Fetch would return before its first call.
func (f *Fetcher) PlanFetch(reqs []Request) (CallSet, error) {
	p, err := f.plan(reqs, false)
	return p.callSet(), err
}

// PlanChecks returns the calls Versions(reqs) makes (refresh mode's checks,
// each interval), without making any. Targets that cannot change (Fixed)
// have none.
func (f *Fetcher) PlanChecks(reqs []Request) (CallSet, error) {
	p, err := f.plan(changing(reqs), true)
	return p.callSet(), err
}

func (p planned) callSet() CallSet {
	r := CallSet{Calls: make([]Call, len(p.calls)), Batched: p.batched, Unbatched: p.unbatched}
	for i, c := range p.calls {
		r.Calls[i] = c.Call
	}
	return r
}

// changing leaves out the requests whose target cannot change (Fixed).
func changing(reqs []Request) []Request {
	var out []Request
	for _, r := range reqs {
		if !Fixed(r.Target) {
			out = append(out, r)
		}
	}
	return out
}

// NewPlanner returns a Fetcher that checks and plans (Preflight, PlanFetch,
// PlanChecks) with defaultRegion for targets that name none, and never
// calls AWS: it holds no AWS configuration, so no credential, region,
// endpoint or instance metadata is looked up, and any call it were asked
// to make fails without a connection.
func NewPlanner(defaultRegion string, opts Options) *Fetcher {
	return newFetcher(noCalls{}, defaultRegion, opts)
}

// errNoCalls is what a planner's clients answer.
var errNoCalls = errors.New("planning only: no AWS call is made")

// noCalls is a client factory whose clients refuse every call.
type noCalls struct{}

func (noCalls) secretsManager(scope) secretsManagerAPI { return noCalls{} }
func (noCalls) ssm(scope) ssmAPI                       { return noCalls{} }
func (noCalls) s3(scope) s3API                         { return noCalls{} }

func (noCalls) BatchGetSecretValue(context.Context, *secretsmanager.BatchGetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.BatchGetSecretValueOutput, error) {
	return nil, errNoCalls
}

func (noCalls) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return nil, errNoCalls
}

func (noCalls) DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	return nil, errNoCalls
}

func (noCalls) ListSecrets(context.Context, *secretsmanager.ListSecretsInput, ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error) {
	return nil, errNoCalls
}

func (noCalls) GetParameters(context.Context, *ssm.GetParametersInput, ...func(*ssm.Options)) (*ssm.GetParametersOutput, error) {
	return nil, errNoCalls
}

func (noCalls) GetParametersByPath(context.Context, *ssm.GetParametersByPathInput, ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error) {
	return nil, errNoCalls
}

func (noCalls) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return nil, errNoCalls
}

func (noCalls) HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	return nil, errNoCalls
}

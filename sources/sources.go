// Package sources fetches secret values from Secrets Manager, SSM Parameter
// Store, S3 and the injector's own environment. SSM parameters are read 10
// to a GetParameters call; Secrets Manager secrets one GetSecretValue each,
// or 20 to a BatchGetSecretValue call when that saves a round of calls (see
// Fetcher.plan). Errors name the reference and the service's error, never a
// value.
package sources

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/secret"
)

// Batch sizes allowed by the APIs.
const (
	secretsBatch    = 20
	parametersBatch = 10
)

// Request is one value to fetch.
type Request struct {
	Target ref.Target
	// AllowUnencrypted accepts an S3 object stored without server-side encryption.
	AllowUnencrypted bool
	// SSECustomerKey is the 256-bit SSE-C key of an S3 object, or nil.
	SSECustomerKey []byte
	// AllowEmpty accepts an SSM path with no parameter under it.
	AllowEmpty bool
}

// Values maps each fetched target to its value.
type Values map[ref.Target]secret.Value

// Options tune a Fetcher.
type Options struct {
	// S3PathStyle addresses buckets by path, for S3-compatible endpoints.
	S3PathStyle bool
	// MaxValueBytes bounds one value; larger values are an error.
	MaxValueBytes int64
	// Concurrency bounds the API calls in flight.
	Concurrency int
	// Batch chooses between one call per value and batched calls for the
	// sources that can batch (Secrets Manager): see Fetcher.plan.
	Batch Batching
	// MaxPathParameters bounds the parameters one SSM path may expand to
	// (default DefaultMaxPathParameters); more is an error.
	MaxPathParameters int
	// LookupEnv reads the injector's own environment for env: references
	// (os.LookupEnv in the injector); nil means an empty environment.
	LookupEnv func(name string) (string, bool)
}

// Fetcher fetches values with clients made per service and region.
type Fetcher struct {
	clients       clientFactory
	opts          Options
	defaultRegion string
}

// New returns a Fetcher using cfg for credentials, endpoints, retries and
// the default region.
func New(cfg aws.Config, opts Options) *Fetcher {
	return newFetcher(newSDKClients(cfg, opts.S3PathStyle), cfg.Region, opts)
}

func newFetcher(c clientFactory, defaultRegion string, opts Options) *Fetcher {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.MaxValueBytes <= 0 {
		opts.MaxValueBytes = 16 << 20
	}
	if opts.MaxPathParameters <= 0 {
		opts.MaxPathParameters = DefaultMaxPathParameters
	}
	return &Fetcher{clients: c, opts: opts, defaultRegion: defaultRegion}
}

// ErrNoRegion is wrapped by the error for a target that names no region
// when there is no default region either.
var ErrNoRegion = errors.New("set AWS_REGION or use an ARN that names one")

// Region resolves a target's region: its own, or the default. It is the one
// region check: the injector runs it over every target before any call.
func Region(t ref.Target, defaultRegion string) (string, error) {
	if t.Region != "" {
		return t.Region, nil
	}
	if defaultRegion == "" {
		return "", fmt.Errorf("%s names no region: %w", t, ErrNoRegion)
	}
	return defaultRegion, nil
}

// Check runs, before any call, each target's source's own check: an AWS
// target must have a region, an environment variable must be set and not
// empty. It reports every target that fails, naming references, never
// values. Every failure is a configuration error.
func (f *Fetcher) Check(targets []ref.Target) error {
	var errs []error
	for _, t := range targets {
		src, ok := registry[t.Source]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown source", t))
			continue
		}
		if _, err := src.check(f, t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// NeedsAWS reports whether fetching targets calls AWS: false when every
// target is read locally (env:), so that the injector can skip loading
// AWS credentials, region and endpoints altogether.
func NeedsAWS(targets []ref.Target) bool {
	for _, t := range targets {
		if src, ok := registry[t.Source]; !ok || src.usesAWS() {
			return true
		}
	}
	return false
}

// Batching says when a source that can read several values in one call
// (Secrets Manager's BatchGetSecretValue) does so.
type Batching string

// Batching modes.
const (
	// BatchAuto batches only when one call per value would not fit in
	// Options.Concurrency: see Fetcher.plan.
	BatchAuto Batching = "auto"
	// BatchAlways always batches.
	BatchAlways Batching = "always"
	// BatchNever makes one call per value.
	BatchNever Batching = "never"
)

// batcher is a source that can also read its requests in fewer, batched
// calls, which draw on a scarcer account quota.
type batcher interface {
	batchCalls(f *Fetcher, region string, reqs []Request) []call
}

// call is one API call's worth of work, described (Call) and ready to be
// made (do), which stores what it learnt in out.
type call struct {
	Call
	do func(ctx context.Context, out *result) error
}

type result struct {
	mu       sync.Mutex
	values   Values
	versions Versions
}

func (r *result) put(t ref.Target, v secret.Value) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.values[t] = v
}

func (r *result) putVersion(t ref.Target, v secret.Version) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.versions[t] = v
}

// Fetch fetches every request. It returns all values, or an error that names
// every request that failed; it never returns part of the values.
func (f *Fetcher) Fetch(ctx context.Context, reqs []Request) (Values, error) {
	pl, err := f.plan(reqs, false)
	if err != nil {
		return nil, err
	}
	out := &result{values: make(Values, len(reqs))}
	if err := f.run(ctx, pl.calls, out); err != nil {
		return nil, err
	}
	for _, r := range reqs {
		if _, ok := out.values[r.Target]; !ok {
			return nil, valueError(r.Target.String(), "no value returned")
		}
	}
	return out.values, nil
}

// run makes the calls, at most Concurrency at once, and joins their errors.
func (f *Fetcher) run(ctx context.Context, calls []call, out *result) error {
	errs := make([]error, len(calls))
	sem := make(chan struct{}, f.opts.Concurrency)
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = &Error{Ref: "fetch", Err: ctx.Err()}
				return
			}
			defer func() { <-sem }()
			defer func() {
				if r := recover(); r != nil {
					errs[i] = &Error{Ref: "fetch", Err: errors.New("internal error: a fetch call panicked")}
				}
			}()
			errs[i] = c.do(ctx, out)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// source is one service the injector reads from. Adding a source is a
// file holding its calls plus one line in registry.
type source interface {
	// check validates a target before any call and returns the region it
	// is read in ("" for a source that is no AWS service).
	check(f *Fetcher, t ref.Target) (region string, err error)
	// usesAWS reports whether the source calls AWS.
	usesAWS() bool
	// calls turns the requests for the source in one region into API
	// calls that fetch their values.
	calls(f *Fetcher, region string, reqs []Request) []call
	// checks turns them into calls that learn each target's current
	// version without fetching a value (refresh mode). It is never asked
	// about a target that is fixed.
	checks(f *Fetcher, region string, reqs []Request) []call
	// fixed reports whether the target names a version that can never
	// change, which refresh mode then never checks (Fixed).
	fixed(t ref.Target) bool
}

// eachRequest makes one call per request.
func eachRequest(reqs []Request, mk func(Request) call) []call {
	calls := make([]call, len(reqs))
	for i, r := range reqs {
		calls[i] = mk(r)
	}
	return calls
}

// awsService is the check every AWS source shares: the target needs a region.
type awsService struct{}

func (awsService) check(f *Fetcher, t ref.Target) (string, error) {
	return Region(t, f.defaultRegion)
}

func (awsService) usesAWS() bool { return true }

// registry maps each kind of reference to the source that fetches it.
var registry = map[ref.Source]source{
	ref.SecretsManager: secretsManagerSource{},
	ref.SSM:            ssmSource{},
	ref.S3:             s3Source{},
	ref.Env:            envSource{},
	ref.SSMPath:        ssmPathSource{},
}

// planned is the calls of one Fetch or Versions, and how the batching rule
// chose them.
type planned struct {
	calls []call
	// batched: the rule chose batched calls (see plan).
	batched bool
	// unbatched is how many API calls one call per value takes: what
	// BatchAuto compares with Concurrency.
	unbatched int
}

// plan groups requests by source and region, each target once, in the
// order first named, and asks each source for its calls (checks instead
// with check set). Every call gets the region of its group.
func (f *Fetcher) plan(reqs []Request, check bool) (planned, error) {
	type group struct {
		source ref.Source
		region string
	}
	groups := map[group][]Request{}
	var order []group
	seen := map[ref.Target]bool{}
	for _, r := range reqs {
		if seen[r.Target] {
			continue
		}
		seen[r.Target] = true
		src, ok := registry[r.Target.Source]
		if !ok {
			return planned{}, valueError(r.Target.String(), "unknown source")
		}
		region, err := src.check(f, r.Target)
		if err != nil {
			return planned{}, &Error{Ref: r.Target.String(), Err: err}
		}
		g := group{r.Target.Source, region}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], r)
	}
	build := func(batch bool) []call {
		var calls []call
		for _, g := range order {
			src := registry[g.source]
			b, batches := src.(batcher)
			var cs []call
			switch {
			case check:
				cs = src.checks(f, g.region, groups[g])
			case batches && batch:
				cs = b.batchCalls(f, g.region, groups[g])
			default:
				cs = src.calls(f, g.region, groups[g])
			}
			for i := range cs {
				cs[i].Region = g.region
			}
			calls = append(calls, cs...)
		}
		return calls
	}
	// The rule: one call per value as long as every call of the run fits in
	// flight at once; batches only where that would take more than one
	// round of calls. One call per secret spends the plentiful quota
	// (GetSecretValue: 10,000 a second an account) and is as fast as a
	// batch while everything is in flight at once; a batch spends the
	// scarce one (BatchGetSecretValue: 100 a second), worth it only to
	// save rounds. Reads that call no API (env:) do not count.
	single := build(false)
	p := planned{calls: single, unbatched: apiCalls(single)}
	switch {
	case f.opts.Batch == BatchAlways,
		f.opts.Batch != BatchNever && p.unbatched > f.opts.Concurrency:
		p.calls, p.batched = build(true), true
	}
	return p, nil
}

// apiCalls counts the calls that call an API.
func apiCalls(calls []call) int {
	n := 0
	for _, c := range calls {
		if c.IsAPI() {
			n++
		}
	}
	return n
}

// parameterCalls makes one call of mk per 10 parameters of a region.
func (f *Fetcher) parameterCalls(region string, reqs []Request, mk func(ssmAPI, []ref.Target) call) []call {
	client := f.clients.ssm(region)
	var calls []call
	for chunk := range slices.Chunk(reqs, parametersBatch) {
		targets := make([]ref.Target, len(chunk))
		for i, r := range chunk {
			targets[i] = r.Target
		}
		calls = append(calls, mk(client, targets))
	}
	return calls
}

func (f *Fetcher) checkSize(t ref.Target, n int64) error {
	if n > f.opts.MaxValueBytes {
		return valueError(t.String(), "value is larger than %d bytes", f.opts.MaxValueBytes)
	}
	return nil
}

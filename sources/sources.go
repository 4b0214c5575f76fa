// Package sources fetches secret values from Secrets Manager, SSM Parameter
// Store and S3 with the fewest API calls it can: Secrets Manager secrets are
// batched 20 to a BatchGetSecretValue call (GetSecretValue where a version is
// pinned) and SSM parameters 10 to a GetParameters call. Errors name the
// reference and the service's error, never a value.
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

// CheckRegions reports the first target that has no region.
func (f *Fetcher) CheckRegions(targets []ref.Target) error {
	for _, t := range targets {
		if _, err := Region(t, f.defaultRegion); err != nil {
			return err
		}
	}
	return nil
}

// call is one API call's worth of work; it stores what it learnt in out.
type call func(ctx context.Context, out *result) error

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
	calls, err := f.plan(reqs, false)
	if err != nil {
		return nil, err
	}
	out := &result{values: make(Values, len(reqs))}
	if err := f.run(ctx, calls, out); err != nil {
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
			errs[i] = c(ctx, out)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// source is one service the injector reads from. Adding a source is a
// file holding its calls plus one line in registry.
type source interface {
	// calls turns the requests for the source in one region into API
	// calls that fetch their values.
	calls(f *Fetcher, region string, reqs []Request) []call
	// checks turns them into calls that learn each target's current
	// version without fetching a value (refresh mode).
	checks(f *Fetcher, region string, reqs []Request) []call
}

// registry maps each kind of reference to the source that fetches it.
var registry = map[ref.Source]source{
	ref.SecretsManager: secretsManagerSource{},
	ref.SSM:            ssmSource{},
	ref.S3:             s3Source{},
}

// plan groups requests by source and region, each target once, in the
// order first named, and asks each source for its calls (checks instead
// with check set).
func (f *Fetcher) plan(reqs []Request, check bool) ([]call, error) {
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
		region, err := Region(r.Target, f.defaultRegion)
		if err != nil {
			return nil, &Error{Ref: r.Target.String(), Err: err}
		}
		if _, ok := registry[r.Target.Source]; !ok {
			return nil, valueError(r.Target.String(), "unknown source")
		}
		g := group{r.Target.Source, region}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], r)
	}
	var calls []call
	for _, g := range order {
		src := registry[g.source]
		if check {
			calls = append(calls, src.checks(f, g.region, groups[g])...)
		} else {
			calls = append(calls, src.calls(f, g.region, groups[g])...)
		}
	}
	return calls, nil
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

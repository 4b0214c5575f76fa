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
	"log/slog"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ecs-secret-injector/injector/ref"
)

// Batch sizes allowed by the APIs.
const (
	secretsBatch    = 20
	parametersBatch = 10
)

// ErrFetch is wrapped by every fetch error.
var ErrFetch = errors.New("fetch failed")

// Request is one value to fetch.
type Request struct {
	Target ref.Target
	// AllowUnencrypted accepts an S3 object stored without server-side encryption.
	AllowUnencrypted bool
	// SSECustomerKey is the 256-bit SSE-C key of an S3 object, or nil.
	SSECustomerKey []byte
}

// Values maps each fetched target to its value.
type Values map[ref.Target][]byte

// Options tune a Fetcher.
type Options struct {
	// S3PathStyle addresses buckets by path, for S3-compatible endpoints.
	S3PathStyle bool
	// MaxValueBytes bounds one value; larger values are an error.
	MaxValueBytes int64
	// Concurrency bounds the API calls in flight.
	Concurrency int
	Logger      *slog.Logger
}

// Fetcher fetches values, with one set of service clients per region.
type Fetcher struct {
	base aws.Config
	opts Options

	mu      sync.Mutex
	regions map[string]*regionClients
}

type regionClients struct {
	sm  *secretsmanager.Client
	ssm *ssm.Client
	s3  *s3.Client
}

// New returns a Fetcher using cfg for credentials, endpoints and retries.
func New(cfg aws.Config, opts Options) *Fetcher {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.MaxValueBytes <= 0 {
		opts.MaxValueBytes = 16 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Fetcher{base: cfg, opts: opts, regions: map[string]*regionClients{}}
}

// region resolves a target's region: its own, or the default.
func (f *Fetcher) region(t ref.Target) (string, error) {
	if t.Region != "" {
		return t.Region, nil
	}
	if f.base.Region == "" {
		return "", errors.New("no region: set AWS_REGION or use an ARN that names one")
	}
	return f.base.Region, nil
}

func (f *Fetcher) clients(region string) *regionClients {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.regions[region]; ok {
		return c
	}
	cfg := f.base.Copy()
	cfg.Region = region
	c := &regionClients{
		sm:  secretsmanager.NewFromConfig(cfg),
		ssm: ssm.NewFromConfig(cfg),
		s3:  s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = f.opts.S3PathStyle }),
	}
	f.regions[region] = c
	return c
}

// call is one API call's worth of work; it stores what it fetched in out.
type call func(ctx context.Context, out *result) error

type result struct {
	mu     sync.Mutex
	values Values
}

func (r *result) put(t ref.Target, v []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.values[t] = v
}

// Fetch fetches every request. It returns all values, or an error that names
// every request that failed; it never returns part of the values.
func (f *Fetcher) Fetch(ctx context.Context, reqs []Request) (Values, error) {
	calls, err := f.plan(reqs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	out := &result{values: make(Values, len(reqs))}
	errs := make([]error, len(calls))
	sem := make(chan struct{}, f.opts.Concurrency)
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			defer func() {
				if r := recover(); r != nil {
					errs[i] = errors.New("internal error: a fetch call panicked")
				}
			}()
			errs[i] = c(ctx, out)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	for _, r := range reqs {
		if _, ok := out.values[r.Target]; !ok {
			return nil, fmt.Errorf("%w: %s: no value returned", ErrFetch, r.Target)
		}
	}
	return out.values, nil
}

// plan groups requests into API calls.
func (f *Fetcher) plan(reqs []Request) ([]call, error) {
	type group struct {
		source ref.Source
		region string
	}
	batches := map[group][]ref.Target{}
	var order []group
	seen := map[ref.Target]bool{}
	var calls []call
	for _, r := range reqs {
		if seen[r.Target] {
			continue
		}
		seen[r.Target] = true
		region, err := f.region(r.Target)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Target, err)
		}
		c := f.clients(region)
		switch r.Target.Source {
		case ref.SecretsManager:
			if r.Target.Pinned() {
				calls = append(calls, f.getSecret(c.sm, r.Target))
				continue
			}
		case ref.SSM:
		case ref.S3:
			calls = append(calls, f.getObject(c.s3, r))
			continue
		default:
			return nil, fmt.Errorf("%s: unknown source", r.Target)
		}
		g := group{r.Target.Source, region}
		if _, ok := batches[g]; !ok {
			order = append(order, g)
		}
		batches[g] = append(batches[g], r.Target)
	}
	for _, g := range order {
		c := f.clients(g.region)
		if g.source == ref.SecretsManager {
			for chunk := range slices.Chunk(batches[g], secretsBatch) {
				calls = append(calls, f.batchGetSecrets(c.sm, chunk))
			}
			continue
		}
		for chunk := range slices.Chunk(batches[g], parametersBatch) {
			calls = append(calls, f.getParameters(c.ssm, chunk))
		}
	}
	return calls, nil
}

func (f *Fetcher) checkSize(t ref.Target, n int) error {
	if int64(n) > f.opts.MaxValueBytes {
		return fmt.Errorf("%s: value is larger than %d bytes", t, f.opts.MaxValueBytes)
	}
	return nil
}

// Package sources fetches secret values from Secrets Manager, SSM Parameter
// Store, S3 and the injector's own environment. SSM parameters are read 10
// to a GetParameters call; Secrets Manager secrets one GetSecretValue each,
// or 20 to a BatchGetSecretValue call when that saves a wave of calls (see
// Fetcher.plan). Errors name the reference and the service's error, never a
// value.
package sources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/secret"
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
	// Role is the role the target is read as (roles.go); zero: the
	// Fetcher's own credentials.
	Role Role
	// FailoverRegion is where the target is read when its own region is
	// unavailable (failover.go); "": nowhere else.
	FailoverRegion string
}

// Values maps each fetched target to its value.
type Values map[ref.Target]secret.Value

// Defaults of the Options a caller leaves zero.
const (
	// DefaultMaxValueBytes bounds one value unless Options.MaxValueBytes
	// says otherwise.
	DefaultMaxValueBytes = 16 << 20
	// DefaultMaxPathParameters is how many parameters one SSM path may
	// expand to unless Options.MaxPathParameters says otherwise.
	DefaultMaxPathParameters = 1000
)

// Options tune a Fetcher.
type Options struct {
	// S3PathStyle addresses buckets by path, for S3-compatible endpoints.
	S3PathStyle bool
	// MaxValueBytes bounds one value (default DefaultMaxValueBytes);
	// larger values are an error.
	MaxValueBytes int64
	// Concurrency bounds the API calls in flight.
	Concurrency int
	// Batch chooses between one call per value and batched calls for the
	// sources that can batch (Secrets Manager): see Fetcher.plan.
	Batch Batching
	// MaxPathParameters bounds the parameters one SSM path, and the
	// secrets one secret prefix, may expand to (default
	// DefaultMaxPathParameters); more is an error.
	MaxPathParameters int
	// LookupEnv reads the injector's own environment for env: references
	// and ECS_CONTAINER_METADATA_URI_V4 (os.LookupEnv in the injector);
	// nil means an empty environment.
	LookupEnv func(name string) (string, bool)
	// Log receives the failover warnings; nil: they are not logged.
	Log *slog.Logger
}

// Fetcher fetches values with clients made per service and region.
type Fetcher struct {
	clients       clientFactory
	opts          Options
	defaultRegion string

	mu sync.Mutex
	// regions: the region that last served each target (Regions).
	regions map[ref.Target]string
}

// New returns a Fetcher using cfg for credentials, endpoints, retries and
// the default region.
func New(cfg aws.Config, opts Options) *Fetcher {
	return newFetcher(newSDKClients(cfg, opts), cfg.Region, opts)
}

func newFetcher(c clientFactory, defaultRegion string, opts Options) *Fetcher {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.MaxValueBytes <= 0 {
		opts.MaxValueBytes = DefaultMaxValueBytes
	}
	if opts.MaxPathParameters <= 0 {
		opts.MaxPathParameters = DefaultMaxPathParameters
	}
	return &Fetcher{clients: c, opts: opts, defaultRegion: defaultRegion, regions: map[ref.Target]string{}}
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

// Preflight runs, before any call, each target's source's own pre-flight
// check: an AWS target must have a region, an environment variable must be
// set and not empty. It reports every target that fails, naming
// references, never values. Every failure is a configuration error.
func (f *Fetcher) Preflight(targets []ref.Target) error {
	var errs []error
	for _, t := range targets {
		src, ok := sourceOf[t.Source]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown source", t))
			continue
		}
		if _, err := src.preflight(f, t); err != nil {
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
		if src, ok := sourceOf[t.Source]; !ok || src.usesAWS() {
			return true
		}
	}
	return false
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
	f.record(pl.calls, out)
	for _, r := range reqs {
		v, ok := out.values[r.Target]
		if !ok {
			return nil, valueError(r.Target.String(), "no value returned")
		}
		// The region that served a value is the one its call went to,
		// unless the call said otherwise.
		if served := v.Served(); served.Region == "" && sourceOf[r.Target.Source].usesAWS() {
			served.Region, _ = Region(r.Target, f.defaultRegion)
			if region, ok := out.served[r.Target]; ok {
				served.Region = region
			}
			out.values[r.Target] = v.WithServed(served)
		}
	}
	return out.values, nil
}

// record notes which region served each target of calls that out holds
// an answer for.
func (f *Fetcher) record(calls []call, out *result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range calls {
		if !c.IsAPI() {
			continue
		}
		for _, t := range c.Targets {
			_, value := out.values[t]
			_, version := out.versions[t]
			if !value && !version {
				continue
			}
			region := c.Region
			if r, ok := out.served[t]; ok {
				region = r
			}
			f.regions[t] = region
		}
	}
}

// Regions says which region last served each target a Fetch or a
// Versions read from AWS: its own, or its failover region.
func (f *Fetcher) Regions() map[ref.Target]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.regions)
}

// source is one service the injector reads from. Adding a source is a
// file holding its calls plus one line in sourceOf.
type source interface {
	// preflight validates a target before any call and returns the
	// region it is read in ("" for a source that is no AWS service).
	preflight(f *Fetcher, t ref.Target) (region string, err error)
	// usesAWS reports whether the source calls AWS.
	usesAWS() bool
	// calls turns the requests for the source in one region into API
	// calls that fetch their values.
	calls(f *Fetcher, sc scope, reqs []Request) []call
	// versionChecks turns them into calls that learn each target's current
	// version without fetching a value (refresh mode). It is never asked
	// about a target that is fixed.
	versionChecks(f *Fetcher, sc scope, reqs []Request) []call
	// fixed reports whether the target names a version that can never
	// change, which refresh mode then never checks (Fixed).
	fixed(t ref.Target) bool
}

// awsService is the pre-flight check every AWS source shares: the target
// needs a region.
type awsService struct{}

func (awsService) preflight(f *Fetcher, t ref.Target) (string, error) {
	return Region(t, f.defaultRegion)
}

func (awsService) usesAWS() bool { return true }

// sourceOf maps each kind of reference to the source that fetches it.
var sourceOf = map[ref.Source]source{
	ref.SecretsManager: secretsManagerSource{},
	ref.SSM:            ssmSource{},
	ref.S3:             s3Source{},
	ref.Env:            envSource{},
	ref.SSMPath:        ssmPathSource{},
	ref.SecretsPrefix:  secretsPrefixSource{},
}

// checkSize refuses a value of n bytes for t if it is over the limit.
func (f *Fetcher) checkSize(t ref.Target, n int64) error {
	if n > f.opts.MaxValueBytes {
		return f.tooLarge(t)
	}
	return nil
}

// tooLarge is the error for a value of t over the limit.
func (f *Fetcher) tooLarge(t ref.Target) *Error {
	return valueError(t.String(), "value is larger than %d bytes", f.opts.MaxValueBytes)
}

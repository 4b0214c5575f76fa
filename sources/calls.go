package sources

import (
	"context"
	"errors"
	"sync"

	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/secret"
)

// Calls: a Fetch or a Versions is one set of calls (CallSet), planned from
// the requests (grouped by source and region, batched or not) and made all
// at once up to Options.Concurrency.

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
	batchCalls(f *Fetcher, sc scope, reqs []Request) []call
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
	// served: the region of each target read from a failover region.
	served map[ref.Target]string
}

func (r *result) serve(t ref.Target, region string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.served == nil {
		r.served = map[ref.Target]string{}
	}
	r.served[t] = region
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

// eachRequest makes one call per request.
func eachRequest(reqs []Request, mk func(Request) call) []call {
	calls := make([]call, len(reqs))
	for i, r := range reqs {
		calls[i] = mk(r)
	}
	return calls
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

// plan groups requests by source, region, role and failover region, each
// target once, in the order first named, and asks each source for its
// calls (its version checks instead with versionChecks set). Every call
// gets the region, role and failover region of its group, and a group
// with a failover region its failover (failover.go).
func (f *Fetcher) plan(reqs []Request, versionChecks bool) (planned, error) {
	type group struct {
		source   ref.Source
		sc       scope
		failover string
	}
	groups := map[group][]Request{}
	var order []group
	seen := map[ref.Target]bool{}
	for _, r := range reqs {
		if seen[r.Target] {
			continue
		}
		seen[r.Target] = true
		src, ok := sourceOf[r.Target.Source]
		if !ok {
			return planned{}, valueError(r.Target.String(), "unknown source")
		}
		region, err := src.preflight(f, r.Target)
		if err != nil {
			return planned{}, &Error{Ref: r.Target.String(), Err: err}
		}
		g := group{source: r.Target.Source, sc: scope{Region: region}}
		if src.usesAWS() {
			g.sc.Role = r.Role
			if _, ok := src.(failsOver); ok && r.FailoverRegion != region {
				g.failover = r.FailoverRegion
			}
		}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], r)
	}
	callsOf := func(src source, sc scope, reqs []Request, batch bool) []call {
		b, batches := src.(batcher)
		switch {
		case versionChecks:
			return src.versionChecks(f, sc, reqs)
		case batches && batch:
			return b.batchCalls(f, sc, reqs)
		default:
			return src.calls(f, sc, reqs)
		}
	}
	build := func(batch bool) []call {
		var calls []call
		for _, g := range order {
			src := sourceOf[g.source]
			cs := callsOf(src, g.sc, groups[g], batch)
			if g.failover != "" {
				replicas, back := replicaRequests(groups[g], g.failover)
				cs = f.withFailover(cs, callsOf(src, scope{Region: g.failover, Role: g.sc.Role}, replicas, batch), back, g.sc.Region, g.failover)
			}
			for i := range cs {
				cs[i].Region = g.sc.Region
				cs[i].Role, cs[i].ExternalID = g.sc.Role.ARN, g.sc.Role.ExternalID
				if g.sc.Role.ARN != "" {
					cs[i].do = asRole(g.sc.Role.ARN, cs[i].do)
				}
			}
			calls = append(calls, cs...)
		}
		return calls
	}
	// The rule: one call per value as long as every call of the run fits in
	// flight at once; batches only where that would take more than one
	// wave of calls. One call per secret spends the plentiful quota
	// (GetSecretValue's, see secretsManagerSource) and is as fast as a
	// batch while everything is in flight at once; a batch spends the
	// scarce one (BatchGetSecretValue's), worth it only to save waves. Reads that call no API (env:) do not count.
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

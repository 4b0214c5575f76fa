package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/ecs-secret-injector/injector/engine/notify"
	"github.com/ecs-secret-injector/injector/engine/status"
	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/sources"
	"github.com/ecs-secret-injector/injector/writer"
)

// Refresh mode keeps the files up to date. After the first generation a
// Refresher checks, every interval with jitter, which version of each
// value is current without fetching a value; it fetches only what changed,
// renders every file again (the unchanged ones from the values it holds,
// so they keep their bytes), writes them as one new generation and tells
// the app. On errors it keeps the last good files and retries with
// backoff; the status file under the root (package status) says when the
// files were last confirmed, for the health check.

// Jitter is the fraction by which each wait is varied either way, so that
// a fleet of injectors does not call in step.
const Jitter = 0.1

// firstRetry is the wait before the first retry of a failed check; each
// further failure doubles it, up to the interval.
const firstRetry = time.Second

// RefreshOptions configure a Refresher.
type RefreshOptions struct {
	Dir   string         // output root
	Write writer.Options // mode and owner of the files
	// Interval is the time between checks; MaxStaleness how long the files
	// may go unconfirmed before the status file says unhealthy.
	Interval, MaxStaleness time.Duration
	// Timeout bounds the first generation and each check (with its fetch
	// and write).
	Timeout   time.Duration
	Notifiers []notify.Notifier
	// NotifySplay, if positive, delays each notification by a random time
	// within it (changes meanwhile join the delayed one).
	NotifySplay time.Duration
	Log         *slog.Logger
	// Now, if set, asks for checks out of turn ("refresh now"): a receive
	// starts one at once, or, within NowGap of the start of the last one,
	// when NowGap has passed; receives while one waits are folded into it.
	// A sender that never blocks, on a channel with room for one, turns
	// any number of asks during a check into one more check after it.
	Now <-chan struct{}
}

// NowGap is the least time between the starts of two checks when the
// second was asked for on RefreshOptions.Now, so that a caller asking in a loop
// cannot run up API calls.
const NowGap = time.Second

// Refresher publishes generations of the files a plan describes.
type Refresher struct {
	plan     plan.Plan
	src      Source
	opts     RefreshOptions
	out      root
	log      *slog.Logger
	couriers []*courier

	values sources.Values // the values the current generation was rendered from
	files  []writer.File  // the current generation's files
	status status.Status
	stale  bool // the staleness limit has passed since the last good check
	// fetched and confirmed are, per target, when its value in values was
	// read and when a check last found that version current.
	fetched, confirmed map[ref.Target]time.Time
}

// NewRefresher returns a Refresher; Publish writes the first generation.
func NewRefresher(p plan.Plan, src Source, opts RefreshOptions) *Refresher {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Refresher{plan: p, src: src, opts: opts, out: root{opts.Dir, opts.Write}, log: log,
		fetched: map[ref.Target]time.Time{}, confirmed: map[ref.Target]time.Time{}}
	for _, n := range opts.Notifiers {
		r.couriers = append(r.couriers, newCourier(n, log, opts.NotifySplay))
	}
	r.status = status.Status{PID: os.Getpid(), Interval: opts.Interval, MaxStaleness: opts.MaxStaleness,
		Items: len(p.Fetches), Started: time.Now().UTC()}
	return r
}

// Publish fetches every value, renders and writes the first generation and
// the status file. Its errors are those of a one-shot run: they wrap
// sources.ErrFetch, ErrRender or writer.ErrWrite.
func (r *Refresher) Publish(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	values, files, err := first(ctx, r.plan, r.src, r.out, r.log)
	if err != nil {
		return err
	}
	r.values, r.files = values, files
	now := time.Now().UTC()
	r.status.Generation, r.status.Files = 1, len(files)
	r.status.Published, r.status.LastCheck, r.status.LastAttempt = now, now, now
	for _, pf := range r.plan.Fetches {
		r.fetched[pf.Target], r.confirmed[pf.Target] = now, now
	}
	r.status.Live = r.live()
	if err := status.Write(r.opts.Dir, r.status); err != nil {
		return fmt.Errorf("%w: the new files are visible, but %w", writer.ErrWrite, err)
	}
	return nil
}

// Run checks for changes every interval (with jitter, from the start of
// one check to the start of the next) until ctx is done, and then returns
// nil, leaving the last complete generation in place. A failed check is
// retried with backoff, counted from its end. A check asked for on
// RefreshOptions.Now starts the count again. Notifications go out in the
// background.
func (r *Refresher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, c := range r.couriers {
		wg.Go(func() { c.run(ctx) })
	}
	next := time.Now().Add(r.wait(0)) // when t fires
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	var last time.Time // the start of the last check
	asked := false     // a check asked for on Now waits for NowGap
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-r.opts.Now:
			if asked {
				r.log.Debug("check asked for: one already waits", "starts_in", time.Until(next).Round(time.Millisecond))
				continue
			}
			if gap := time.Until(last.Add(NowGap)); gap > 0 {
				asked = true
				if gap < time.Until(next) {
					next = time.Now().Add(gap)
					t.Reset(gap)
				}
				r.log.Debug("check asked for: rate-limited", "starts_in", time.Until(next).Round(time.Millisecond))
				continue
			}
		}
		asked = false
		start := time.Now()
		last = start
		err := r.cycle(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := r.wait(r.status.ConsecutiveFailures)
		if err != nil {
			r.log.Warn("check failed; keeping the last good files", "error", err,
				"failures_in_a_row", r.status.ConsecutiveFailures, "retry_in", wait.Round(time.Millisecond))
		} else {
			// Checks keep to the interval: the time a check took counts.
			wait = max(0, wait-time.Since(start))
		}
		r.watchStaleness()
		next = time.Now().Add(wait)
		t.Reset(wait)
	}
}

// wait is the time until the next check: the interval after a good check,
// and after n failed ones a backoff from firstRetry doubling up to the
// interval; either varied by ±Jitter.
func (r *Refresher) wait(failures int64) time.Duration {
	d := r.opts.Interval
	if failures > 0 {
		d = firstRetry << min(failures-1, 30)
		d = min(d, r.opts.Interval)
	}
	return time.Duration(float64(d) * (1 - Jitter + 2*Jitter*rand.Float64()))
}

// watchStaleness logs once when the files go unconfirmed for longer than
// the staleness limit (health turns red) and once when that ends.
func (r *Refresher) watchStaleness() {
	err := r.status.Healthy(time.Now())
	switch {
	case err != nil && !r.stale:
		r.stale = true
		r.log.Error("unhealthy: "+err.Error(), "last_check", r.status.LastCheck)
	case err == nil && r.stale:
		r.stale = false
		r.log.Info("healthy again", "last_check", r.status.LastCheck)
	}
}

// cycle is one check: it asks for the current versions, fetches and
// publishes what changed, and records the outcome in the status file.
// Changes found are published even when other items' checks failed; the
// check then still counts as failed.
func (r *Refresher) cycle(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	start := time.Now().UTC()
	err := r.check(ctx, start)
	r.status.LastAttempt = start
	r.status.Live = r.live()
	if err != nil {
		r.status.Failures++
		r.status.ConsecutiveFailures++
	} else {
		r.status.Checks++
		r.status.ConsecutiveFailures = 0
		r.status.LastCheck = start
	}
	if serr := status.Write(r.opts.Dir, r.status); serr != nil {
		err = errors.Join(err, serr)
	}
	return err
}

// regionReporter is a Source that says which region last served each
// target, by a value or a version check: its own, or its failover region
// (*sources.Fetcher does).
type regionReporter interface {
	Regions() map[ref.Target]string
}

// check is one check that started at start: the items it finds at the
// version they were read at, or that name one that cannot change, are
// confirmed at start; the changed ones are fetched and published, and then
// confirmed.
func (r *Refresher) check(ctx context.Context, start time.Time) error {
	reqs, err := requests(r.plan.Fetches, keysIn(r.values))
	if err != nil {
		return err
	}
	versions, checkErr := r.src.Versions(ctx, reqs)
	for _, pf := range r.plan.Fetches {
		v, ok := versions[pf.Target]
		if ok && v == r.values[pf.Target].Version() || !ok && sources.Fixed(pf.Target) {
			r.confirmed[pf.Target] = start
		}
	}
	changed := r.changed(versions)
	if len(changed) == 0 {
		r.log.Debug("checked: no change", "items", len(reqs))
		return checkErr
	}
	if err := r.publish(ctx, changed); err != nil {
		return errors.Join(err, checkErr)
	}
	for _, pf := range changed {
		r.fetched[pf.Target], r.confirmed[pf.Target] = start, start
	}
	return checkErr
}

// live is the status file's table: per item, the version of its value the
// current generation was rendered from, where it was served, and when.
func (r *Refresher) live() []status.Item {
	var regions map[ref.Target]string
	if rr, ok := r.src.(regionReporter); ok {
		regions = rr.Regions()
	}
	items := make([]status.Item, 0, len(r.plan.Fetches))
	for _, pf := range r.plan.Fetches {
		v := r.values[pf.Target]
		ver, served := v.Version(), v.Served()
		if region, ok := regions[pf.Target]; ok {
			served.Region = region
		}
		items = append(items, status.Item{Ref: pf.Target.String(), Region: served.Region, Version: ver.ID,
			Stages: served.Stages, ETag: ver.ETag, Fetched: r.fetched[pf.Target], Confirmed: r.confirmed[pf.Target]})
	}
	return items
}

// changed lists the fetches whose current version differs from the one
// their value was read at, and the SSE-C objects whose key changed.
func (r *Refresher) changed(versions sources.Versions) []plan.Fetch {
	moved := map[ref.Target]bool{}
	for _, pf := range r.plan.Fetches {
		if v, ok := versions[pf.Target]; ok && v != r.values[pf.Target].Version() {
			moved[pf.Target] = true
		}
	}
	var out []plan.Fetch
	for _, pf := range r.plan.Fetches {
		if moved[pf.Target] || (pf.SSECustomerKey != nil && moved[pf.SSECustomerKey.Target]) {
			out = append(out, pf)
		}
	}
	return out
}

// publish fetches the changed values and, if the files come out different,
// writes them all as one new generation and notifies the app.
func (r *Refresher) publish(ctx context.Context, changed []plan.Fetch) error {
	refs := make([]string, len(changed))
	for i, pf := range changed {
		refs[i] = pf.Target.String()
	}
	get := func(ctx context.Context) (sources.Values, error) {
		fetched, err := fetch(ctx, changed, r.src, r.values)
		if err != nil {
			return nil, err
		}
		values := maps.Clone(r.values)
		maps.Copy(values, fetched)
		return values, nil
	}
	var paths []string
	same := func(files []writer.File) bool {
		paths = changedPaths(r.files, files)
		return len(paths) == 0
	}
	values, files, written, err := r.out.publish(ctx, r.plan, get, same)
	if err != nil {
		return err
	}
	if !written {
		r.values = values
		r.log.Info("new versions, same files: nothing to publish", "changed", refs)
		return nil
	}
	r.values, r.files = values, files
	r.status.Generation++
	r.status.Changes++
	r.status.Files = len(files)
	r.status.Published = time.Now().UTC()
	r.log.Info("published a new generation", "generation", r.status.Generation, "changed", refs, "files_changed", len(paths))
	ev := notify.Event{Generation: r.status.Generation, Changed: paths}
	for _, c := range r.couriers {
		c.post(ev)
	}
	return nil
}

// changedPaths lists, sorted, the paths added, removed or given other
// content between two sets of files.
func changedPaths(old, cur []writer.File) []string {
	before := make(map[string][]byte, len(old))
	for _, f := range old {
		before[f.Path] = f.Data
	}
	var paths []string
	for _, f := range cur {
		if b, ok := before[f.Path]; !ok || !bytes.Equal(b, f.Data) {
			paths = append(paths, f.Path)
		}
		delete(before, f.Path)
	}
	for p := range before {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths
}

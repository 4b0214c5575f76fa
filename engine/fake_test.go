package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ecs-secret-injector/injector/engine/notify"
	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/secret"
	"github.com/ecs-secret-injector/injector/sources"
	"github.com/ecs-secret-injector/injector/writer"
)

// fakeSource holds values and versions by reference string; tests rotate
// them and make calls fail. It counts its calls and records what it
// fetched.
type fakeSource struct {
	mu       sync.Mutex
	items    map[string]fakeItem // by ref.Target.String()
	fetches  int
	checks   int
	fetched  []sources.Request
	checked  []sources.Request
	checkErr func(t ref.Target) error // per target; nil for none
	fetchErr error
	block    chan struct{} // if set, Versions waits for it or ctx
}

type fakeItem struct {
	value   string
	version int
}

func newSource() *fakeSource { return &fakeSource{items: map[string]fakeItem{}} }

func (s *fakeSource) set(ref, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.items[ref]
	s.items[ref] = fakeItem{value: value, version: it.version + 1}
}

func (s *fakeSource) version(it fakeItem) secret.Version {
	return secret.Version{ID: fmt.Sprint(it.version)}
}

func (s *fakeSource) Fetch(_ context.Context, reqs []sources.Request) (sources.Values, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	s.fetched = append(s.fetched, reqs...)
	if s.fetchErr != nil {
		return nil, &sources.Error{Ref: "fake", Err: s.fetchErr}
	}
	out := sources.Values{}
	for _, r := range reqs {
		it, ok := s.items[r.Target.String()]
		if !ok {
			return nil, &sources.Error{Ref: r.Target.String(), Err: errors.New("not found")}
		}
		out[r.Target] = secret.New([]byte(it.value), s.version(it))
	}
	return out, nil
}

func (s *fakeSource) Versions(ctx context.Context, reqs []sources.Request) (sources.Versions, error) {
	s.mu.Lock()
	s.checks++
	block := s.block
	s.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, &sources.Error{Ref: "check", Err: ctx.Err()}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checked = append(s.checked, reqs...)
	out := sources.Versions{}
	var errs []error
	for _, r := range reqs {
		if s.checkErr != nil {
			if err := s.checkErr(r.Target); err != nil {
				errs = append(errs, &sources.Error{Ref: r.Target.String(), Service: "fake", Operation: "Describe", Err: err})
				continue
			}
		}
		out[r.Target] = s.version(s.items[r.Target.String()])
	}
	return out, errors.Join(errs...)
}

// calls returns the number of Fetch and Versions calls so far.
func (s *fakeSource) calls() (fetches, checks int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches, s.checks
}

func testOptions(dir string, notifiers ...notify.Notifier) RefreshOptions {
	return RefreshOptions{Dir: dir, Write: writer.Options{Mode: 0o400, UID: -1, GID: -1}, Interval: time.Second,
		MaxStaleness: 3 * time.Second, Timeout: 10 * time.Second, Notifiers: notifiers, Log: slog.New(slog.DiscardHandler)}
}

// readFile returns a visible file's content, failing t if it cannot.
func readFile(t testing.TB, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// recorder is a notify.Notifier that records events; fail makes it fail.
type recorder struct {
	mu     sync.Mutex
	events []notify.Event
	tries  int
	fail   func(ev notify.Event, try int) error
	got    chan notify.Event // each delivered event, if set
}

func (r *recorder) Notify(_ context.Context, ev notify.Event) error {
	r.mu.Lock()
	r.tries++
	try := r.tries
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		if err := fail(ev, try); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	if r.got != nil {
		r.got <- ev
	}
	return nil
}

func (r *recorder) String() string { return "recorder" }

func (r *recorder) delivered() []notify.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notify.Event(nil), r.events...)
}

// pending reports whether an event waits to be delivered.
func (c *courier) pending() bool { return len(c.next) > 0 }

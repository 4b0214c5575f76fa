package engine

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ecs-secret-injector/injector/engine/notify"
)

func fastCourier(n notify.Notifier) *courier {
	c := newCourier(n, slog.New(slog.DiscardHandler), 0)
	c.backoff = [2]time.Duration{time.Millisecond, 4 * time.Millisecond}
	return c
}

func runCourier(t *testing.T, c *courier) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { c.run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

func waitEvent(t *testing.T, ch <-chan notify.Event) notify.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(time.Minute):
		t.Fatal("no notification within a minute")
		return notify.Event{}
	}
}

func TestCourierRetriesUntilSuccess(t *testing.T) {
	rec := &recorder{got: make(chan notify.Event, 1), fail: func(_ notify.Event, try int) error {
		if try < 4 {
			return errors.New("connection refused")
		}
		return nil
	}}
	c := fastCourier(rec)
	runCourier(t, c)
	c.post(notify.Event{Generation: 2})
	if ev := waitEvent(t, rec.got); ev.Generation != 2 {
		t.Errorf("delivered %+v", ev)
	}
	if rec.tries != 4 {
		t.Errorf("%d tries, want 4", rec.tries)
	}
}

// TestCourierSupersedes: an event still being retried gives way to a newer
// one, which is delivered once.
func TestCourierSupersedes(t *testing.T) {
	rec := &recorder{got: make(chan notify.Event, 10), fail: func(ev notify.Event, _ int) error {
		if ev.Generation == 2 {
			return errors.New("503 Service Unavailable")
		}
		return nil
	}}
	c := fastCourier(rec)
	runCourier(t, c)
	c.post(notify.Event{Generation: 2, Changed: []string{"db/password", "api-key"}})
	for {
		rec.mu.Lock()
		tries := rec.tries
		rec.mu.Unlock()
		if tries >= 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	c.post(notify.Event{Generation: 3, Changed: []string{"tls/key.pem", "api-key"}})
	// The newer event also names what the superseded one changed.
	if ev := waitEvent(t, rec.got); ev.Generation != 3 || !slices.Equal(ev.Changed, []string{"api-key", "db/password", "tls/key.pem"}) {
		t.Errorf("delivered %+v", ev)
	}
	time.Sleep(20 * time.Millisecond)
	if evs := rec.delivered(); len(evs) != 1 {
		t.Errorf("delivered %v, want generation 3 once", evs)
	}
}

func TestCourierPostNeverBlocks(t *testing.T) {
	c := fastCourier(&recorder{})
	for g := range int64(100) {
		c.post(notify.Event{Generation: g})
	}
	if ev := <-c.next; ev.Generation != 99 {
		t.Errorf("kept %+v, want the newest", ev)
	}
}

// An event not yet taken is folded into the next one posted: the newest
// generation, every changed path once.
func TestCourierPostFolds(t *testing.T) {
	c := fastCourier(&recorder{got: make(chan notify.Event, 10)})
	c.post(notify.Event{Generation: 4, Changed: []string{"b", "a"}})
	c.post(notify.Event{Generation: 5, Changed: []string{"c", "a"}})
	ev := <-c.next
	if ev.Generation != 5 || !slices.Equal(ev.Changed, []string{"a", "b", "c"}) {
		t.Errorf("pending event %+v", ev)
	}
}

// TestCourierSplay: with a splay, an event waits the delay picked within it
// before its first attempt; a newer change during the wait joins it, and one
// notification goes out for both, no sooner than the delay.
func TestCourierSplay(t *testing.T) {
	rec := &recorder{got: make(chan notify.Event, 10)}
	c := fastCourier(rec)
	const delay = 300 * time.Millisecond
	picked := make(chan time.Time, 1)
	c.splay = time.Hour
	c.delay = func(splay time.Duration) time.Duration {
		if splay != time.Hour {
			t.Errorf("delay picked within %s, want the splay", splay)
		}
		picked <- time.Now()
		return delay
	}
	runCourier(t, c)
	c.post(notify.Event{Generation: 2, Changed: []string{"db/password"}})
	start := <-picked
	c.post(notify.Event{Generation: 3, Changed: []string{"api-key"}})
	ev := waitEvent(t, rec.got)
	if took := time.Since(start); took < delay {
		t.Errorf("notified %s after the change, before the delay of %s", took, delay)
	}
	if ev.Generation != 3 || !slices.Equal(ev.Changed, []string{"api-key", "db/password"}) {
		t.Errorf("delivered %+v, want generation 3 naming both changes", ev)
	}
	time.Sleep(20 * time.Millisecond)
	if evs := rec.delivered(); len(evs) != 1 {
		t.Errorf("delivered %v, want one notification", evs)
	}
	select {
	case <-picked:
		t.Error("the joined change picked a delay of its own")
	default:
	}
}

// TestCourierSplayStops: a notification still waiting for its delay is not
// sent once the courier is stopped.
func TestCourierSplayStops(t *testing.T) {
	rec := &recorder{}
	c := fastCourier(rec)
	c.splay = time.Hour
	picked := make(chan struct{})
	c.delay = func(time.Duration) time.Duration { close(picked); return time.Hour }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.run(ctx); close(done) }()
	c.post(notify.Event{Generation: 2})
	<-picked
	cancel()
	<-done
	if evs := rec.delivered(); len(evs) != 0 {
		t.Errorf("delivered %v after the stop", evs)
	}
}

// TestCourierSplayWithin: the delays picked by default lie within the
// splay, spread over it.
func TestCourierSplayWithin(t *testing.T) {
	c := newCourier(&recorder{}, slog.New(slog.DiscardHandler), time.Second)
	var lo, hi int
	for range 1000 {
		d := c.delay(c.splay)
		if d < 0 || d >= time.Second {
			t.Fatalf("delay %s outside [0, 1s)", d)
		}
		if d < 100*time.Millisecond {
			lo++
		}
		if d >= 900*time.Millisecond {
			hi++
		}
	}
	if lo == 0 || hi == 0 {
		t.Errorf("1000 delays: %d in the first tenth of the window, %d in the last", lo, hi)
	}
}

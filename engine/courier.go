package engine

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ecs-secret-injector/injector/engine/notify"
)

// courier delivers one notifier's events in order of change, retrying with
// backoff; an event still being retried when a newer one arrives is
// dropped for the newer one. With a splay, each event first waits a random
// time within it.
type courier struct {
	n       notify.Notifier
	log     *slog.Logger
	next    chan notify.Event // the newest event not yet taken; capacity 1
	timeout time.Duration
	backoff [2]time.Duration // first and longest wait between attempts
	splay   time.Duration    // the window of the wait before the first attempt
	// delay picks that wait, in [0, splay).
	delay func(splay time.Duration) time.Duration
}

func newCourier(n notify.Notifier, log *slog.Logger, splay time.Duration) *courier {
	return &courier{n: n, log: log, next: make(chan notify.Event, 1), timeout: 2 * time.Second,
		backoff: [2]time.Duration{250 * time.Millisecond, 30 * time.Second},
		splay:   splay, delay: rand.N[time.Duration]}
}

// post hands ev over, folding in an event not yet taken. It never blocks.
// There is one poster (the refresh loop).
func (c *courier) post(ev notify.Event) {
	for {
		select {
		case c.next <- ev:
			return
		default:
		}
		select {
		case old := <-c.next:
			ev = fold(old, ev)
		default:
		}
	}
}

// run delivers events until ctx is done.
func (c *courier) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-c.next:
			ev, ok := c.splayed(ctx, ev)
			if !ok {
				return
			}
			c.deliver(ctx, ev)
		}
	}
}

// splayed waits a random time within the splay window before the first
// attempt at ev, so that the injectors of a fleet, which all see a
// rotation within one interval, do not notify (and restart) their apps at
// once. Newer events that arrive meanwhile join ev, without another wait:
// one notification goes out at the end of it. It returns false if ctx ends
// first.
func (c *courier) splayed(ctx context.Context, ev notify.Event) (notify.Event, bool) {
	if c.splay <= 0 {
		return ev, true
	}
	d := c.delay(c.splay)
	c.log.Info("notification delayed by the splay", "notifier", c.n.String(), "generation", ev.Generation,
		"delay", d, "splay", c.splay)
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ev, false
		case newer := <-c.next:
			c.log.Info("a newer change joins the delayed notification", "notifier", c.n.String(),
				"generation", ev.Generation, "by", newer.Generation)
			ev = fold(ev, newer)
		case <-t.C:
			return ev, true
		}
	}
}

func (c *courier) deliver(ctx context.Context, ev notify.Event) {
	wait := c.backoff[0]
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, c.timeout)
		err := c.n.Notify(actx, ev)
		cancel()
		if err == nil {
			c.log.Info("notified", "notifier", c.n.String(), "generation", ev.Generation, "attempt", attempt)
			return
		}
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("notification failed; will retry", "notifier", c.n.String(), "generation", ev.Generation,
			"attempt", attempt, "retry_in", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case newer := <-c.next:
			t.Stop()
			c.log.Info("notification superseded by a newer change", "notifier", c.n.String(), "generation", ev.Generation, "by", newer.Generation)
			ev, attempt, wait = fold(ev, newer), 0, c.backoff[0]
			continue
		case <-t.C:
		}
		wait = min(2*wait, c.backoff[1])
	}
}

// fold returns the event that stands for ev and a newer one that
// supersedes it before ev was delivered: the newer generation, and every path either
// changed (an app that reloads only the listed files must not miss one).
func fold(ev, newer notify.Event) notify.Event {
	changed := append(slices.Clone(ev.Changed), newer.Changed...)
	slices.Sort(changed)
	return notify.Event{Generation: newer.Generation, Changed: slices.Compact(changed)}
}

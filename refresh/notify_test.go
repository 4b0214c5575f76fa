package refresh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func fastCourier(n Notifier) *courier {
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

func waitEvent(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(time.Minute):
		t.Fatal("no notification within a minute")
		return Event{}
	}
}

func TestCourierRetriesUntilSuccess(t *testing.T) {
	rec := &recorder{got: make(chan Event, 1), fail: func(_ Event, try int) error {
		if try < 4 {
			return errors.New("connection refused")
		}
		return nil
	}}
	c := fastCourier(rec)
	runCourier(t, c)
	c.post(Event{Generation: 2})
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
	rec := &recorder{got: make(chan Event, 10), fail: func(ev Event, _ int) error {
		if ev.Generation == 2 {
			return errors.New("503 Service Unavailable")
		}
		return nil
	}}
	c := fastCourier(rec)
	runCourier(t, c)
	c.post(Event{Generation: 2, Changed: []string{"db/password", "api-key"}})
	for {
		rec.mu.Lock()
		tries := rec.tries
		rec.mu.Unlock()
		if tries >= 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	c.post(Event{Generation: 3, Changed: []string{"tls/key.pem", "api-key"}})
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
		c.post(Event{Generation: g})
	}
	if ev := <-c.next; ev.Generation != 99 {
		t.Errorf("kept %+v, want the newest", ev)
	}
}

func TestHTTPNotifier(t *testing.T) {
	var mu sync.Mutex
	status := http.StatusServiceUnavailable
	var got []Event
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with %q", r.Method, r.Header.Get("Content-Type"))
		}
		var ev Event
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Errorf("body %q: %v", b, err)
		}
		got = append(got, ev)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	n := NewHTTPNotifier(srv.URL + "/reload?token=abc")
	if s := n.String(); strings.Contains(s, "abc") || !strings.Contains(s, "/reload") {
		t.Errorf("String() = %q: want the URL without its query", s)
	}
	ev := Event{Generation: 7, Changed: []string{"db/password"}}
	if err := n.Notify(context.Background(), ev); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("err %v, want the 503 reported", err)
	}
	mu.Lock()
	status = http.StatusNoContent
	mu.Unlock()
	if err := n.Notify(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Generation != 7 || got[1].Changed[0] != "db/password" {
		t.Errorf("server got %+v", got)
	}
	redirect := httptest.NewServer(http.RedirectHandler(srv.URL, http.StatusFound))
	defer redirect.Close()
	if err := NewHTTPNotifier(redirect.URL).Notify(context.Background(), ev); err == nil {
		t.Error("a redirect counted as success")
	}
}

func TestSignalNotifierPIDFile(t *testing.T) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR2)
	defer signal.Stop(ch)
	pidFile := filepath.Join(t.TempDir(), "app.pid")
	n := &SignalNotifier{Signal: syscall.SIGUSR2, PIDFile: pidFile}
	if err := n.Notify(context.Background(), Event{}); err == nil {
		t.Error("no error without a pid file")
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), Event{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatal("no signal")
	}
}

// TestSignalNotifierProcessName finds a child process by name in a /proc
// stand-in (the real one lists other people's processes too) and signals it.
func TestSignalNotifierProcessName(t *testing.T) {
	child := exec.Command("sleep", "120")
	if err := child.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	proc := t.TempDir()
	mk := func(pid int, comm, cmdline string) {
		d := filepath.Join(proc, strconv.Itoa(pid))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = os.WriteFile(filepath.Join(d, "comm"), []byte(comm+"\n"), 0o644)
		_ = os.WriteFile(filepath.Join(d, "cmdline"), []byte(cmdline), 0o644)
	}
	mk(child.Process.Pid, "python3", "/opt/app/bin/my-app-server\x00--port\x008080\x00")
	mk(os.Getpid(), "my-app-server", "my-app-server\x00") // itself: never signalled
	_ = os.MkdirAll(filepath.Join(proc, "self"), 0o755)
	n := &SignalNotifier{Signal: syscall.SIGTERM, Process: "my-app-server", Proc: proc}
	if err := n.Notify(context.Background(), Event{}); err != nil {
		t.Fatal(err)
	}
	err := child.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Errorf("child ended with %v, want SIGTERM", err)
	}
	n.Process = "nothing-by-this-name"
	if err := n.Notify(context.Background(), Event{}); err == nil || !strings.Contains(err.Error(), "no process named") {
		t.Errorf("err %v", err)
	}
}

// A token in the notify URL's query never reaches an error (and so a log),
// even when the app does not answer.
func TestHTTPNotifierErrorHidesQuery(t *testing.T) {
	const token = "tok-3f9a7c1e-never-logged"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: the POST fails to connect
	n := NewHTTPNotifier("http://" + addr + "/reload?token=" + token + "#frag")
	err = n.Notify(context.Background(), Event{})
	if err == nil {
		t.Fatal("POST to a closed port succeeded")
	}
	if strings.Contains(err.Error(), token) || strings.Contains(fmt.Sprint(n), token) {
		t.Fatalf("the token leaks: %v", err)
	}
	if !strings.Contains(err.Error(), addr+"/reload") {
		t.Errorf("error does not name the URL: %v", err)
	}
}

// An event not yet taken is folded into the next one posted: the newest
// generation, every changed path once.
func TestCourierPostFolds(t *testing.T) {
	c := fastCourier(&recorder{got: make(chan Event, 10)})
	c.post(Event{Generation: 4, Changed: []string{"b", "a"}})
	c.post(Event{Generation: 5, Changed: []string{"c", "a"}})
	ev := <-c.next
	if ev.Generation != 5 || !slices.Equal(ev.Changed, []string{"a", "b", "c"}) {
		t.Errorf("pending event %+v", ev)
	}
}

// TestSignalNotifierPIDFileNotRegular: a FIFO, a directory or a device as
// the pid file is an error at once, never a wait for a writer that would
// hold up the notifier and with it the end of Run.
func TestSignalNotifierPIDFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "app.pid")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{fifo, dir, os.DevNull} {
		n := &SignalNotifier{Signal: syscall.SIGUSR2, PIDFile: name}
		done := make(chan error, 1)
		go func() { done <- n.Notify(context.Background(), Event{}) }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), name) {
				t.Errorf("%s: error %v, want one naming it as not a regular file", name, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s: Notify blocked", name)
		}
	}
}

// TestSignalNotifierPIDFileGivesUp: a read of the pid file that does not
// return is given up on when the context ends; while it has not returned,
// later attempts fail at once instead of starting another.
func TestSignalNotifierPIDFileGivesUp(t *testing.T) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR2)
	defer signal.Stop(ch)
	pidFile := filepath.Join(t.TempDir(), "app.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		t.Fatal(err)
	}
	n := &SignalNotifier{Signal: syscall.SIGUSR2, PIDFile: pidFile}
	// A read that has not returned, as on a file system that does not
	// answer.
	stuck := make(chan pidRead, 1)
	n.reading = stuck
	if err := n.Notify(context.Background(), Event{}); err == nil || !strings.Contains(err.Error(), "has not returned") {
		t.Fatalf("error %v while an earlier read is under way", err)
	}
	// Its late answer is dropped for a fresh read.
	stuck <- pidRead{pid: 1}
	if err := n.Notify(context.Background(), Event{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatal("no signal")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A done context either wins or the read was quicker; it never hangs.
	if err := n.Notify(ctx, Event{}); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("error %v", err)
	}
}

// TestCourierSplay: with a splay, an event waits the delay picked within it
// before its first attempt; a newer change during the wait joins it, and one
// notification goes out for both, no sooner than the delay.
func TestCourierSplay(t *testing.T) {
	rec := &recorder{got: make(chan Event, 10)}
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
	c.post(Event{Generation: 2, Changed: []string{"db/password"}})
	start := <-picked
	c.post(Event{Generation: 3, Changed: []string{"api-key"}})
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
	c.post(Event{Generation: 2})
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

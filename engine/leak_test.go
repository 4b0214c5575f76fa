package engine

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecs-secret-injector/injector/engine/notify"
	"github.com/ecs-secret-injector/injector/internal/testsupport/testplan"
)

// usage is what the process holds: open descriptors, live heap after a
// collection, goroutines.
type usage struct {
	fds        int
	heap       uint64
	goroutines int
}

func measure(t *testing.T) usage {
	t.Helper()
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return usage{fds: len(fds), heap: m.HeapAlloc, goroutines: runtime.NumGoroutine()}
}

// TestFlatOver1000Cycles drives 1,000 checks, with a rotation every tenth
// (100 new generations, each notified over HTTP), and checks that
// descriptors, goroutines and the live heap do not grow. Values are 4 KiB,
// so keeping old ones would show: 100 rotations of three files would hold
// more than 1 MiB.
func TestFlatOver1000Cycles(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 cycles")
	}
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	src := newSource()
	value := func(i int) string {
		return fmt.Sprintf(`{"user":"u","pass":"%s"}`, strings.Repeat(fmt.Sprintf("%04d", i), 1024))
	}
	src.set("secretsmanager:db", value(0))
	src.set("ssm:/api", strings.Repeat("a", 4096))
	dir := t.TempDir()
	r := NewRefresher(testplan.Plan(t, twoSpec), src, testOptions(dir, notify.NewHTTPNotifier(srv.URL)))
	if err := r.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, c := range r.couriers {
		wg.Go(func() { c.run(ctx) })
	}
	defer func() {
		cancel()
		wg.Wait()
	}()

	rotation := 0
	cycles := func(n int) {
		for i := range n {
			if i%10 == 9 {
				rotation++
				src.set("secretsmanager:db", value(rotation))
			}
			if err := r.cycle(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	settle := func() {
		// Let the last notification go out, so that its connection is idle.
		for deadline := time.Now().Add(time.Minute); r.couriers[0].pending() || posts.Load() == 0; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("notifications stuck")
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	cycles(100) // warm up: connections, pools, caches
	settle()
	before := measure(t)
	cycles(1000)
	settle()
	after := measure(t)
	t.Logf("after 100 warm-up cycles: %d fds, %d KiB heap, %d goroutines", before.fds, before.heap>>10, before.goroutines)
	t.Logf("after 1,000 more cycles (%d generations, %d notifications): %d fds, %d KiB heap, %d goroutines",
		r.status.Generation, posts.Load(), after.fds, after.heap>>10, after.goroutines)
	if r.status.Generation != int64(rotation)+1 || r.status.Checks != 1100 {
		t.Fatalf("status %+v: want a generation per rotation", r.status)
	}
	if after.fds > before.fds+2 {
		t.Errorf("descriptors grew from %d to %d", before.fds, after.fds)
	}
	if after.goroutines > before.goroutines+2 {
		t.Errorf("goroutines grew from %d to %d", before.goroutines, after.goroutines)
	}
	if after.heap > before.heap+512<<10 {
		t.Errorf("live heap grew from %d KiB to %d KiB", before.heap>>10, after.heap>>10)
	}
}

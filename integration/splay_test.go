package integration_test

// The notification splay across a fleet: many injectors in refresh mode on
// one secret, each with INJECTOR_NOTIFY_SPLAY, notify at times spread over
// the window after one rotation, each once and none before its delay.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecs-secret-injector/injector/engine/status"
	"github.com/ecs-secret-injector/injector/internal/testsupport"
)

// splayDelay is the delay an injector's log says it picked.
var splayDelay = regexp.MustCompile(`notification delayed by the splay.* delay=(\S+)`)

// TestNotifySplayFleet: 50 injectors, one rotation, a splay window: every
// injector notifies once, after the delay it picked, every delay lies in
// the window, and the delays spread across it.
func TestNotifySplayFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 50 injectors")
	}
	const (
		fleet  = 50
		window = 6 * time.Second
	)
	p := uniq()
	arn := putSecret(t, p+"/fleet", `{"MARK":"gen-0"}`)
	spec := specJSON(t, map[string]any{"from": arn, "path": "app.env", "format": "dotenv"})

	var mu sync.Mutex
	posts := map[int][]time.Time{}
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/n/"))
		if err != nil {
			http.Error(w, "bad path", http.StatusNotFound)
			return
		}
		mu.Lock()
		posts[n] = append(posts[n], time.Now())
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(sink.Close)

	type member struct {
		dir string
		out *testsupport.Buffer
		cmd *exec.Cmd
	}
	members := make([]member, fleet)
	for i := range members {
		m := member{dir: t.TempDir(), out: &testsupport.Buffer{}}
		m.cmd = exec.Command(h.bin)
		m.cmd.Env = slices.Concat(h.env(h.motoDirect, h.minio), []string{
			"INJECTOR_DIR=" + m.dir, "INJECTOR_SPEC=" + spec, "INJECTOR_REFRESH_INTERVAL=2s",
			fmt.Sprintf("INJECTOR_NOTIFY_URL=%s/n/%d", sink.URL, i), "INJECTOR_NOTIFY_SPLAY=" + window.String(),
		})
		m.cmd.Stdout, m.cmd.Stderr = m.out, m.out
		if err := m.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = m.cmd.Process.Kill()
			_ = m.cmd.Wait()
		})
		members[i] = m
	}
	waitAll := func(what string, done func(i int) bool) {
		t.Helper()
		deadline := time.Now().Add(patience)
		for i := 0; i < fleet; {
			if done(i) {
				i++
				continue
			}
			if m := members[i]; m.cmd.ProcessState != nil || time.Now().After(deadline) {
				t.Fatalf("injector %d: no %s:\n%s", i, what, m.out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitAll("first generation", func(i int) bool {
		s, _ := status.Read(members[i].dir)
		return s.Generation >= 1
	})
	rotated := time.Now()
	rotateSecret(t, arn, `{"MARK":"gen-1"}`)
	waitAll("notification", func(i int) bool {
		mu.Lock()
		defer mu.Unlock()
		return len(posts[i]) > 0
	})
	time.Sleep(2 * time.Second) // room for a second notification that must not come

	var delays, offsets []time.Duration
	for i, m := range members {
		s, err := status.Read(m.dir)
		if err != nil || s.Generation != 2 {
			t.Fatalf("injector %d: generation %d (%v), want 2", i, s.Generation, err)
		}
		found := splayDelay.FindAllStringSubmatch(m.out.String(), -1)
		if len(found) != 1 {
			t.Fatalf("injector %d logged %d splay delays, want 1:\n%s", i, len(found), m.out.String())
		}
		d, err := time.ParseDuration(found[0][1])
		if err != nil {
			t.Fatalf("injector %d: delay %q: %v", i, found[0][1], err)
		}
		if d < 0 || d >= window {
			t.Errorf("injector %d picked a delay of %s, outside the window [0, %s)", i, d, window)
		}
		mu.Lock()
		got := slices.Clone(posts[i])
		mu.Unlock()
		if len(got) != 1 {
			t.Errorf("injector %d notified %d times, want once", i, len(got))
			continue
		}
		if early := s.Published.Add(d).Sub(got[0]); early > 0 {
			t.Errorf("injector %d notified %s before its delay of %s had passed since the switch", i, early, d)
		}
		delays = append(delays, d)
		offsets = append(offsets, got[0].Sub(rotated))
	}
	slices.Sort(delays)
	slices.Sort(offsets)
	if len(delays) == fleet && delays[fleet-1]-delays[0] < window/2 {
		t.Errorf("the delays span %s to %s: not spread across the window of %s", delays[0], delays[fleet-1], window)
	}
	t.Logf("splay %s over %d injectors: delays %s", window, fleet, deciles(delays))
	t.Logf("notifications after the rotation (detection within the 2s interval, then the delay): %s", deciles(offsets))
}

// deciles formats the minimum, the deciles and the maximum of sorted ds.
func deciles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	var parts []string
	for q := 0; q <= 10; q++ {
		i := min(q*len(ds)/10, len(ds)-1)
		parts = append(parts, ds[i].Round(10*time.Millisecond).String())
	}
	return "min " + parts[0] + ", deciles " + strings.Join(parts[1:10], " ") + ", max " + parts[10]
}

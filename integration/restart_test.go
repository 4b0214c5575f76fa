package integration_test

// Restart on change: an app that reads its environment only when it starts,
// started through the exec helper the injector placed in the volume, is
// stopped by the injector's SIGTERM after each change and restarted by a
// supervisor loop standing in for ECS's container restart policy.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// supervisor starts an app again each time it exits, as ECS does for a
// container with a restart policy, and records what each start saw.
type supervisor struct {
	mu      sync.Mutex
	starts  []map[string]string // the environment of each start
	stop    chan struct{}
	halted  sync.Once
	stopped chan struct{}
	err     error
}

// supervise runs argv (through the helper) until stop is called.
func supervise(argv ...string) *supervisor {
	s := &supervisor{stop: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(s.stopped)
		for {
			select {
			case <-s.stop:
				return
			default:
			}
			if err := s.once(argv); err != nil {
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
				return
			}
		}
	}()
	return s
}

// once starts the app, records its environment and waits for it to exit
// (or kills it when stop is called).
func (s *supervisor) once(argv []string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = []string{"KEPT=1"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	data, _ := io.ReadAll(out) // the app closes stdout once it has written its environment
	env := map[string]string{}
	for _, e := range strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00") {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
	}
	s.mu.Lock()
	s.starts = append(s.starts, env)
	s.mu.Unlock()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			return fmt.Errorf("the app exited %d (%v): %s", code, err, stderr.String())
		}
		return nil
	case <-s.stop:
		_ = cmd.Process.Kill()
		<-exited
		return nil
	}
}

func (s *supervisor) seen() ([]map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]string(nil), s.starts...), s.err
}

// halt stops the loop and the app; it may be called more than once.
func (s *supervisor) halt() {
	s.halted.Do(func() { close(s.stop) })
	<-s.stopped
}

// appCopy makes the test app reachable under a name of its own, which the
// injector's INJECTOR_NOTIFY_PROCESS names: no other process has it (its
// comm is the name it is started by).
func appCopy(t *testing.T, app string) (path, name string) {
	t.Helper()
	name = "rs" + randHex(5)
	return programAt(t, app, name), name
}

// TestRestartOnChange: refresh mode with SIGTERM to the app after each
// change, the app started through the helper in the volume by a supervisor
// loop: after each rotation the app's next start sees the new value, and
// each change restarts it once.
func TestRestartOnChange(t *testing.T) {
	t.Parallel()
	_, app := withEnvBins(t)
	app, name := appCopy(t, app)
	p := uniq()
	secret := func(n int) string {
		b, _ := json.Marshal(map[string]string{"MARK": fmt.Sprintf("gen-%d", n), "PASSWORD": fmt.Sprintf("pw'%d\n", n)})
		return string(b)
	}
	arn := putSecret(t, p+"/app", secret(0))
	spec := specJSON(t, map[string]any{"from": arn, "path": "app.env", "format": "dotenv"})
	dir := t.TempDir()
	r := startRefresh(t, spec, dir, "INJECTOR_EXEC_HELPER=true", "INJECTOR_NOTIFY_SIGNAL=SIGTERM", "INJECTOR_NOTIFY_PROCESS="+name)
	r.published(t, 1)
	sup := supervise(filepath.Join(dir, "..bin", "with-env"), "--env-file", filepath.Join(dir, "app.env"), "--", app, "-wait")
	defer sup.halt()

	waitStart := func(n int) {
		t.Helper()
		want := fmt.Sprintf("gen-%d", n)
		r.waitFor(t, "a start of the app that sees "+want, func() bool {
			starts, err := sup.seen()
			if err != nil {
				t.Fatalf("supervisor: %v", err)
			}
			return len(starts) > 0 && starts[len(starts)-1]["MARK"] == want
		})
	}
	waitStart(0)
	const rotations = 3
	for n := 1; n <= rotations; n++ {
		rotateSecret(t, arn, secret(n))
		r.published(t, int64(n+1))
		waitStart(n)
	}
	// A notification more than one per change would come within an
	// interval or two of the last one.
	time.Sleep(3 * refreshInterval)
	sup.halt()
	starts, err := sup.seen()
	if err != nil {
		t.Fatalf("supervisor: %v", err)
	}
	var marks []string
	for _, env := range starts {
		marks = append(marks, env["MARK"])
		if n := strings.TrimPrefix(env["MARK"], "gen-"); env["PASSWORD"] != "pw'"+n+"\n" {
			t.Errorf("start with MARK=%s saw another generation's PASSWORD", env["MARK"])
		}
		if env["KEPT"] != "1" {
			t.Errorf("start with MARK=%s lost the inherited environment", env["MARK"])
		}
	}
	if want := "gen-0 gen-1 gen-2 gen-3"; strings.Join(marks, " ") != want {
		t.Errorf("starts saw %v, want %s: one restart per change", marks, want)
	}
}

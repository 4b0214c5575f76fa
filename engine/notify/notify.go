// Package notify tells the app that its files changed: an HTTP POST of
// the change to a URL, or a signal to a process. The engine delivers each
// change through every notifier the settings name.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ecs-secret-injector/injector/internal/regfile"
)

// Event is one change: the generation just switched in and the paths whose
// content changed (added, replaced or gone), relative to the output root.
type Event struct {
	Generation int64    `json:"generation"`
	Changed    []string `json:"changed"`
}

// Notifier tells the app about a change. Notify is tried again until it
// succeeds or a newer change supersedes it.
type Notifier interface {
	Notify(ctx context.Context, ev Event) error
	String() string // for logs
}

// HTTPNotifier POSTs each event as JSON to a URL (the app's reload
// endpoint on a loopback address); any 2xx answer is success.
type HTTPNotifier struct {
	url    string
	client *http.Client
}

// NewHTTPNotifier returns a notifier for rawURL. Environment proxies are
// not used and redirects are not followed.
func NewHTTPNotifier(rawURL string) *HTTPNotifier {
	return &HTTPNotifier{url: rawURL, client: &http.Client{
		Transport:     &http.Transport{Proxy: nil, MaxIdleConns: 1, IdleConnTimeout: time.Minute},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Notify implements Notifier.
func (n *HTTPNotifier) Notify(ctx context.Context, ev Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		// The error would quote the URL, query and all.
		return fmt.Errorf("%s: cannot build the request", n)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ecs-secret-injector")
	resp, err := n.client.Do(req)
	if err != nil {
		// A *url.Error prints the whole URL, whose query may hold a
		// token: name the URL without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("%s: %w", n, ue.Err)
		}
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

// String names the URL without its query, which might hold a token.
func (n *HTTPNotifier) String() string {
	u, err := url.Parse(n.url)
	if err != nil {
		return "notify URL"
	}
	u.RawQuery, u.Fragment = "", ""
	return "POST " + u.String()
}

// SignalNotifier sends a signal to the process whose pid a file holds, or
// to every process with a given name (its /proc comm, or the base name of
// its argv[0]). The target is looked up afresh each time: the app may have
// restarted.
type SignalNotifier struct {
	Signal  syscall.Signal
	PIDFile string
	Process string
	// Proc is where processes are listed; "" means /proc.
	Proc string

	mu      sync.Mutex
	reading <-chan pidRead // a read of PIDFile given up on that has not returned
}

// maxPIDFileBytes bounds what is read of a pid file, which holds one
// number.
const maxPIDFileBytes = 4 << 10

// pidRead is the outcome of one read of a pid file.
type pidRead struct {
	pid int
	err error
}

// Notify implements Notifier.
func (n *SignalNotifier) Notify(ctx context.Context, _ Event) error {
	pids, err := n.targets(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, pid := range pids {
		if err := syscall.Kill(pid, n.Signal); err != nil {
			errs = append(errs, fmt.Errorf("signalling pid %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}

func (n *SignalNotifier) String() string {
	if n.PIDFile != "" {
		return fmt.Sprintf("%s to the pid in %s", n.Signal, n.PIDFile)
	}
	return fmt.Sprintf("%s to processes named %s", n.Signal, n.Process)
}

func (n *SignalNotifier) targets(ctx context.Context) ([]int, error) {
	if n.PIDFile != "" {
		pid, err := n.readPID(ctx)
		if err != nil {
			return nil, err
		}
		return []int{pid}, nil
	}
	proc := n.Proc
	if proc == "" {
		proc = "/proc"
	}
	entries, err := os.ReadDir(proc)
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if n.named(filepath.Join(proc, e.Name())) {
			pids = append(pids, pid)
		}
	}
	if len(pids) == 0 {
		return nil, fmt.Errorf("no process named %s in %s", n.Process, proc)
	}
	return pids, nil
}

// readPID reads the pid in n.PIDFile, giving up when ctx ends. A read the
// file system does not answer is left to finish on its own; until it has,
// later reads fail at once rather than start another (so a hung file
// system holds one thread, not one per attempt), and its late answer is
// dropped: the pid it read may be stale.
func (n *SignalNotifier) readPID(ctx context.Context) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.reading != nil {
		select {
		case <-n.reading:
			n.reading = nil
		default:
			return 0, fmt.Errorf("%s: an earlier read has not returned", n.PIDFile)
		}
	}
	done := make(chan pidRead, 1)
	go func() {
		pid, err := readPIDFile(n.PIDFile)
		done <- pidRead{pid, err}
	}()
	select {
	case r := <-done:
		return r.pid, r.err
	case <-ctx.Done():
		n.reading = done
		return 0, fmt.Errorf("%s: not read in time: %w", n.PIDFile, context.Cause(ctx))
	}
}

// readPIDFile reads a pid file as the spec file is read (see package
// regfile).
func readPIDFile(name string) (int, error) {
	b, err := regfile.Read(name, maxPIDFileBytes)
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s does not hold a process id", name)
	}
	return pid, nil
}

// named reports whether the process at dir (/proc/PID) is n.Process.
func (n *SignalNotifier) named(dir string) bool {
	if comm, err := os.ReadFile(filepath.Join(dir, "comm")); err == nil && strings.TrimSuffix(string(comm), "\n") == n.Process {
		return true
	}
	cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return false
	}
	argv0, _, _ := strings.Cut(string(cmdline), "\x00")
	return argv0 != "" && filepath.Base(argv0) == n.Process
}

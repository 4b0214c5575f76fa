package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

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

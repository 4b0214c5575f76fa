package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-secret-injector/injector/internal/testsupport"
)

// TestSignals sends each signal in signalActions to the test process itself
// while an inject run would be handling them: each is logged by name and
// has its effect, and none ends the process.
func TestSignals(t *testing.T) {
	type effect int
	const (
		cancels effect = iota
		asks           // sends on now
		nothing
	)
	tests := []struct {
		sig     syscall.Signal
		refresh bool
		say     string
		then    effect
	}{
		{syscall.SIGTERM, true, "SIGTERM received: stopping", cancels},
		{syscall.SIGINT, false, "SIGINT received: stopping", cancels},
		{syscall.SIGQUIT, true, "SIGQUIT received: stopping", cancels},
		{syscall.SIGABRT, false, "SIGABRT received: stopping", cancels},
		{syscall.SIGHUP, true, "SIGHUP received: checking for changes now", asks},
		{syscall.SIGHUP, false, "SIGHUP received: ignored; a one-shot run ends on its own", nothing},
		{syscall.SIGUSR1, true, "SIGUSR1 received: ignored", nothing},
		{syscall.SIGUSR2, false, "SIGUSR2 received: ignored", nothing},
		{syscall.SIGILL, true, "SIGILL received: ignored", nothing},
		{syscall.SIGTRAP, true, "SIGTRAP received: ignored", nothing},
		{syscall.SIGBUS, true, "SIGBUS received: ignored", nothing},
		{syscall.SIGFPE, true, "SIGFPE received: ignored", nothing},
		{syscall.SIGSEGV, true, "SIGSEGV received: ignored", nothing},
		{syscall.SIGSTKFLT, true, "SIGSTKFLT received: ignored", nothing},
		{syscall.SIGSYS, true, "SIGSYS received: ignored", nothing},
	}
	tested := map[os.Signal]bool{}
	for _, tt := range tests {
		tested[tt.sig] = true
		mode := "one-shot"
		if tt.refresh {
			mode = "refresh"
		}
		t.Run(signalName(tt.sig)+" "+mode, func(t *testing.T) {
			var out testsupport.Buffer
			log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
			s := listen()
			var now chan struct{}
			if tt.refresh {
				now = make(chan struct{}, 1)
			}
			ctx := s.handle(context.Background(), log, now)
			if err := syscall.Kill(os.Getpid(), tt.sig); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), tt.say); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("no log line %q within a minute:\n%s", tt.say, out.String())
				}
			}
			s.close()
			if !strings.Contains(out.String(), "signal="+signalName(tt.sig)) {
				t.Errorf("the log line does not name the signal as an attribute:\n%s", out.String())
			}
			var se signalError
			if cause := context.Cause(ctx); (tt.then == cancels) != errors.As(cause, &se) {
				t.Errorf("context cause %v after %v", cause, tt.sig)
			} else if tt.then == cancels && cause.Error() != signalName(tt.sig)+" received" {
				t.Errorf("cause %q", cause)
			}
			if asked := len(now) == 1; asked != (tt.then == asks) {
				t.Errorf("asked for a check: %v", asked)
			}
		})
	}
	for sig := range signalActions() {
		if !tested[sig] {
			t.Errorf("%s is handled but not tested", signalName(sig))
		}
	}
}

// TestSignalsCoalesce: SIGHUPs while an ask waits are logged at debug and
// leave one ask.
func TestSignalsCoalesce(t *testing.T) {
	var out testsupport.Buffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := listen()
	now := make(chan struct{}, 1)
	s.handle(context.Background(), log, now)
	// The first SIGHUP asks; the ones after it, with the ask still
	// waiting, are folded into it. (The kernel keeps one pending SIGHUP,
	// so they are sent until one is seen folded.)
	const want = "SIGHUP received: a check asked for already waits"
	for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), want); time.Sleep(time.Millisecond) {
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q:\n%s", want, out.String())
		}
	}
	s.close()
	if len(now) != 1 {
		t.Errorf("%d asks waiting, want 1", len(now))
	}
	if !strings.Contains(out.String(), "level=DEBUG msg=\""+want) {
		t.Errorf("the coalesced SIGHUP is not at debug:\n%s", out.String())
	}
}

package main

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestSignalContext: once its handlers are in place, SIGTERM cancels the
// context with the signal as the cause, and the process lives on.
func TestSignalContext(t *testing.T) {
	ctx, installed := signalContext()
	select {
	case <-installed:
	case <-time.After(time.Minute):
		t.Fatal("the signal handlers were never installed")
	}
	if ctx.Err() != nil {
		t.Fatalf("cancelled before any signal: %v", context.Cause(ctx))
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Minute):
		t.Fatal("SIGTERM did not cancel the context")
	}
	var se signalError
	if cause := context.Cause(ctx); !errors.As(cause, &se) || cause.Error() != "terminated signal received" {
		t.Errorf("cause %v, want %q", cause, "terminated signal received")
	}
}

package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// stopSignals are the signals that stop a run: ECS sends SIGTERM when it
// stops a task, a terminal SIGINT.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// signalContext returns a context that SIGINT or SIGTERM cancels, with the
// same cause as signal.NotifyContext gives ("terminated signal received"),
// and a channel closed once the handlers are in place.
//
// The handlers are installed on another goroutine. The process's first
// signal.Notify starts an OS thread for the runtime's signal delivery, which
// a one-shot run need not wait for, since it has a network round trip ahead
// of it. Until the handlers are in place a signal has its
// default action: the process ends before it has touched the output, and
// the output layout survives that as it survives SIGKILL. Refresh mode,
// which must always stop cleanly, also registers synchronously
// (signal.NotifyContext in runRefresh).
//
// Nothing stops the handlers: the process exits when the run ends.
func signalContext() (context.Context, <-chan struct{}) {
	ctx, cancel := context.WithCancelCause(context.Background())
	installed := make(chan struct{})
	go func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, stopSignals...)
		close(installed)
		cancel(signalError((<-c).String() + " signal received"))
	}()
	return ctx, installed
}

// signalError is the cause of a context a signal ended.
type signalError string

func (e signalError) Error() string { return string(e) }

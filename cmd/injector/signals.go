package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// signalAction is what the injector does with a signal.
type signalAction int

const (
	// stop ends the run: refresh mode exits 0 leaving the last complete
	// generation in place; a one-shot run is cancelled and fails.
	stop signalAction = iota + 1
	// checkNow asks refresh mode for a check at once (package engine
	// folds asks together and rate-limits them); a one-shot run, which
	// ends on its own, carries on.
	checkNow
	// ignore carries on.
	ignore
)

// signalActions is every signal an inject run handles and what each
// means; each is logged by name when it arrives. They are the signals whose
// default in a Go program ends the process (silently for SIGHUP, SIGINT and
// SIGTERM, with a stack dump for the others), and SIGUSR1 and SIGUSR2,
// which Go ignores silently and which an operator might send expecting
// something. Go still crashes on a fault signal the kernel raises for the
// process itself; the ones here are those another process sends. Neither
// SIGKILL nor SIGSTOP can be caught, nor the signals 32 to 34 that the C
// library reserves and Go's runtime leaves at their default.
func signalActions() map[os.Signal]signalAction {
	return map[os.Signal]signalAction{
		syscall.SIGTERM: stop, // ECS stopping the task
		syscall.SIGINT:  stop, // a terminal
		syscall.SIGQUIT: stop, // a STOPSIGNAL some images use
		syscall.SIGABRT: stop,
		syscall.SIGHUP:  checkNow, // "refresh now", from the app after an authentication failure

		syscall.SIGUSR1:   ignore,
		syscall.SIGUSR2:   ignore,
		syscall.SIGILL:    ignore,
		syscall.SIGTRAP:   ignore,
		syscall.SIGBUS:    ignore,
		syscall.SIGFPE:    ignore,
		syscall.SIGSEGV:   ignore,
		syscall.SIGSTKFLT: ignore,
		syscall.SIGSYS:    ignore,
	}
}

// signals receives the signals in signalActions from the moment listen
// returns until close.
type signals struct {
	c    chan os.Signal
	acts map[os.Signal]signalAction
	done chan struct{}
	wg   sync.WaitGroup
}

// listen takes over the signals in signalActions: from now on they wait
// in a buffer for handle instead of having their default effect.
func listen() *signals {
	s := &signals{c: make(chan os.Signal, 16), acts: signalActions(), done: make(chan struct{})}
	sigs := make([]os.Signal, 0, len(s.acts))
	for sig := range s.acts {
		sigs = append(sigs, sig)
	}
	signal.Notify(s.c, sigs...)
	return s
}

// handle acts on the signals, those that came since listen first, until
// close: each is logged; a stop cancels the context it returns, with the
// signal as the cause; checkNow, when now is not nil (refresh mode), is
// sent on now without blocking (an ask already waiting there stands for
// it).
func (s *signals) handle(ctx context.Context, log *slog.Logger, now chan<- struct{}) context.Context {
	ctx, cancel := context.WithCancelCause(ctx)
	s.wg.Go(func() {
		for {
			select {
			case <-s.done:
				return
			case sig := <-s.c:
				s.act(ctx, sig, log, cancel, now)
			}
		}
	})
	return ctx
}

func (s *signals) act(ctx context.Context, sig os.Signal, log *slog.Logger, cancel context.CancelCauseFunc, now chan<- struct{}) {
	name := signalName(sig)
	switch s.acts[sig] {
	case stop:
		if ctx.Err() != nil {
			log.Info(name+" received: already stopping", "signal", name)
			return
		}
		log.Info(name+" received: stopping", "signal", name)
		cancel(signalError(name + " received"))
	case checkNow:
		if now == nil {
			log.Info(name+" received: ignored; a one-shot run ends on its own", "signal", name)
			return
		}
		select {
		case now <- struct{}{}:
			log.Info(name+" received: checking for changes now", "signal", name)
		default:
			log.Debug(name+" received: a check asked for already waits", "signal", name)
		}
	default:
		log.Warn(name+" received: ignored", "signal", name)
	}
}

// close gives the signals back their default effect and returns once
// handle has stopped.
func (s *signals) close() {
	signal.Stop(s.c)
	close(s.done)
	s.wg.Wait()
}

// signalName is sig's name, SIGHUP.
func signalName(sig os.Signal) string {
	if n, ok := sig.(syscall.Signal); ok {
		if name := unix.SignalName(n); name != "" {
			return name
		}
	}
	return sig.String()
}

// signalError is the cause of a context a signal ended.
type signalError string

func (e signalError) Error() string { return string(e) }

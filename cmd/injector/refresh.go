package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/ecs-secret-injector/injector/config"
	"github.com/ecs-secret-injector/injector/engine"
	"github.com/ecs-secret-injector/injector/engine/notify"
)

// runRefresh is refresh mode: the first generation as in one-shot mode
// (failing the same way), then checks every interval, and at once for each
// ask on now (SIGHUP), until ctx ends (SIGTERM, SIGINT), which leaves the
// last complete generation in place and exits 0.
func runRefresh(ctx context.Context, s config.Settings, log *slog.Logger, now <-chan struct{}) (int, error) {
	p, f, err := prepare(ctx, s, log)
	if err != nil {
		return exitConfig, err
	}
	wopts, err := writeOptions(s)
	if err != nil {
		return exitConfig, err
	}
	var notifiers []notify.Notifier
	if s.NotifyURL.URL != "" {
		notifiers = append(notifiers, notify.NewHTTPNotifier(s.NotifyURL.URL))
	}
	if s.NotifySignal.Name != "" {
		notifiers = append(notifiers, &notify.SignalNotifier{Signal: s.NotifySignal.Sig, PIDFile: s.NotifyPIDFile, Process: s.NotifyProcess})
	}
	r := engine.NewRefresher(p, f, engine.RefreshOptions{
		Dir: s.Dir.Path, Write: wopts,
		Interval: s.RefreshInterval.D, MaxStaleness: s.Staleness(), Timeout: s.Timeout.D,
		Notifiers: notifiers, NotifySplay: s.NotifySplay.D, Log: log, Now: now,
	})
	log.Info("injecting", "values", len(p.Fetches), "outputs", len(p.Outputs), "dir", s.Dir.Path)
	if err := r.Publish(ctx); err != nil {
		return exitCode(err), err
	}
	log.Info("published the first generation; checking for changes", "interval", s.RefreshInterval.D,
		"jitter", engine.Jitter, "max_staleness", s.Staleness(), "notify_splay", s.NotifySplay.D)
	start := time.Now()
	_ = r.Run(ctx)
	log.Info("stopping; the last complete generation stays in place", "ran", time.Since(start).Round(time.Second))
	return exitOK, nil
}

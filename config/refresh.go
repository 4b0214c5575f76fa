package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/ecs-secret-injector/injector/formats"
	"github.com/ecs-secret-injector/injector/plan"
)

// Refresh mode settings. With INJECTOR_REFRESH_INTERVAL unset the injector
// runs once (the default); set, it keeps the files up to date.

// MinRefreshInterval is the shortest refresh interval accepted.
const MinRefreshInterval = time.Second

// Duration is a Go duration setting that remembers whether it was set.
type Duration struct {
	D   time.Duration
	Set bool
}

// Decode parses a setting's text (Parse calls it). An empty value is an error: unset
// the variable to leave the setting off.
func (d *Duration) Decode(s string) error {
	if s == "" {
		return errors.New("empty: unset it or give a Go duration such as 30s or 5m")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a Go duration such as 30s or 5m", s)
	}
	*d = Duration{D: v, Set: true}
	return nil
}

// Signal is a signal name setting such as SIGHUP (or HUP).
type Signal struct {
	Sig  syscall.Signal
	Name string // canonical, SIGHUP
}

// signals are the signals an app may be asked to reload with.
var signals = map[string]syscall.Signal{
	"SIGHUP": syscall.SIGHUP, "SIGUSR1": syscall.SIGUSR1, "SIGUSR2": syscall.SIGUSR2,
	"SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT, "SIGTERM": syscall.SIGTERM,
	"SIGWINCH": syscall.SIGWINCH, "SIGALRM": syscall.SIGALRM, "SIGCONT": syscall.SIGCONT,
}

// Decode parses a setting's text (Parse calls it).
func (s *Signal) Decode(v string) error {
	name := strings.ToUpper(strings.TrimSpace(v))
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig, ok := signals[name]
	if !ok {
		return fmt.Errorf("%q: want one of SIGHUP, SIGUSR1, SIGUSR2, SIGINT, SIGQUIT, SIGTERM, SIGWINCH, SIGALRM, SIGCONT", v)
	}
	*s = Signal{Sig: sig, Name: name}
	return nil
}

// Refresh reports whether the settings ask for refresh mode.
func (s Settings) Refresh() bool { return s.RefreshInterval.Set }

// Staleness is how long the files may go unconfirmed before the injector
// reports itself unhealthy: INJECTOR_MAX_STALENESS, or three intervals.
func (s Settings) Staleness() time.Duration {
	if s.MaxStaleness.Set {
		return s.MaxStaleness.D
	}
	return 3 * s.RefreshInterval.D
}

func (s Settings) validateRefresh() error {
	var errs []error
	if !s.Refresh() {
		for _, o := range []struct {
			name string
			set  bool
		}{
			{"INJECTOR_MAX_STALENESS", s.MaxStaleness.Set}, {"INJECTOR_NOTIFY_URL", s.NotifyURL != ""},
			{"INJECTOR_NOTIFY_SIGNAL", s.NotifySignal.Name != ""}, {"INJECTOR_NOTIFY_PID_FILE", s.NotifyPIDFile != ""},
			{"INJECTOR_NOTIFY_PROCESS", s.NotifyProcess != ""}, {"INJECTOR_NOTIFY_SPLAY", s.NotifySplay.Set},
		} {
			if o.set {
				errs = append(errs, fmt.Errorf("%s applies to refresh mode only: set INJECTOR_REFRESH_INTERVAL too", o.name))
			}
		}
		return errors.Join(errs...)
	}
	interval := s.RefreshInterval.D
	if interval < MinRefreshInterval {
		errs = append(errs, fmt.Errorf("INJECTOR_REFRESH_INTERVAL %s: must be at least %s", interval, MinRefreshInterval))
	}
	if s.MaxStaleness.Set && s.MaxStaleness.D < interval {
		errs = append(errs, fmt.Errorf("INJECTOR_MAX_STALENESS %s: must be at least the refresh interval %s (health would fail between checks)",
			s.MaxStaleness.D, interval))
	}
	if s.NotifyURL != "" {
		if err := checkNotifyURL(s.NotifyURL); err != nil {
			errs = append(errs, fmt.Errorf("INJECTOR_NOTIFY_URL: %w", err))
		}
	}
	targets := 0
	if s.NotifyPIDFile != "" {
		targets++
	}
	if s.NotifyProcess != "" {
		targets++
		if strings.ContainsRune(s.NotifyProcess, '/') {
			errs = append(errs, fmt.Errorf("INJECTOR_NOTIFY_PROCESS %q: want a process name, not a path", s.NotifyProcess))
		}
	}
	switch {
	case s.NotifySignal.Name != "" && targets != 1:
		errs = append(errs, errors.New("INJECTOR_NOTIFY_SIGNAL needs exactly one of INJECTOR_NOTIFY_PID_FILE and INJECTOR_NOTIFY_PROCESS"))
	case s.NotifySignal.Name == "" && targets > 0:
		errs = append(errs, errors.New("INJECTOR_NOTIFY_PID_FILE and INJECTOR_NOTIFY_PROCESS need INJECTOR_NOTIFY_SIGNAL"))
	}
	if s.NotifySplay.Set {
		switch {
		case s.NotifySplay.D < 0:
			errs = append(errs, fmt.Errorf("INJECTOR_NOTIFY_SPLAY %s: must not be negative", s.NotifySplay.D))
		case s.NotifyURL == "" && s.NotifySignal.Name == "":
			errs = append(errs, errors.New("INJECTOR_NOTIFY_SPLAY delays notifications: set INJECTOR_NOTIFY_URL or INJECTOR_NOTIFY_SIGNAL too"))
		}
	}
	return errors.Join(errs...)
}

// checkNotifyURL accepts an http URL to a loopback address: the app's
// reload endpoint in the same task.
// Its messages show the URL without user information, query or fragment,
// which may hold a token.
func checkNotifyURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	shown := *u
	shown.User, shown.RawQuery, shown.ForceQuery, shown.Fragment, shown.RawFragment = nil, "", false, "", ""
	if u.Scheme != "http" {
		return fmt.Errorf("%q: want an http:// URL", shown.String())
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%q: the host must be localhost or a loopback address (the app in the same task)", shown.String())
	}
	if u.User != nil {
		return fmt.Errorf("%q: no user information in the URL", shown.String())
	}
	return nil
}

// checkRefreshPlan refuses what refresh mode cannot keep up to date.
func (s Settings) checkRefreshPlan(p plan.Plan) error {
	if !s.Refresh() {
		return nil
	}
	for _, o := range p.Outputs {
		if o.Format == formats.ECSConfig {
			return fmt.Errorf("%w: %s: format ecs-config is read by the ECS agent when it starts; refresh mode cannot update it (run the injector once)", ErrConfig, o.Path)
		}
	}
	return nil
}

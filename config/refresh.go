package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Refresh mode settings. With INJECTOR_REFRESH_INTERVAL unset the injector
// runs once (the default); set, it keeps the files up to date.

// MinRefreshInterval is the shortest refresh interval accepted.
const MinRefreshInterval = time.Second

// Duration is a Go duration setting that remembers whether it was set.
type Duration struct {
	D   time.Duration
	Set bool
	refusal
}

// Decode implements envconfig.Decoder.
func (d *Duration) Decode(text string) error {
	*d = Duration{}
	if text == "" {
		return nil
	}
	v, err := time.ParseDuration(text)
	if err != nil {
		d.err = fmt.Errorf("%q is not a Go duration such as 30s or 5m", text)
		return nil
	}
	d.D, d.Set = v, true
	return nil
}

// Signal is a signal name setting such as SIGHUP (or HUP).
type Signal struct {
	Sig  syscall.Signal
	Name string // canonical, SIGHUP
	refusal
}

// signals are the signals an app may be asked to reload with.
var signals = map[string]syscall.Signal{
	"SIGHUP": syscall.SIGHUP, "SIGUSR1": syscall.SIGUSR1, "SIGUSR2": syscall.SIGUSR2,
	"SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT, "SIGTERM": syscall.SIGTERM,
	"SIGWINCH": syscall.SIGWINCH, "SIGALRM": syscall.SIGALRM, "SIGCONT": syscall.SIGCONT,
}

// Decode implements envconfig.Decoder.
func (s *Signal) Decode(text string) error {
	*s = Signal{}
	if text == "" {
		return nil
	}
	name := strings.ToUpper(strings.TrimSpace(text))
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig, ok := signals[name]
	if !ok {
		s.err = fmt.Errorf("%q: want one of SIGHUP, SIGUSR1, SIGUSR2, SIGINT, SIGQUIT, SIGTERM, SIGWINCH, SIGALRM, SIGCONT", text)
		return nil
	}
	s.Sig, s.Name = sig, name
	return nil
}

// NotifyURL is an http URL to a loopback address: the app's reload
// endpoint in the same task. Its refusals show the URL without user
// information, query or fragment, which may hold a token. They count in
// refresh mode only (outside it, setting the URL is the error).
type NotifyURL struct {
	URL string
	refusal
}

// Decode implements envconfig.Decoder.
func (n *NotifyURL) Decode(text string) error {
	*n = NotifyURL{URL: text}
	if text != "" {
		n.err = checkNotifyURL(text)
	}
	return nil
}

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

package config

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"
)

// loadCase is one environment for Parse: the error it must give, or a
// check of the settings.
type loadCase struct {
	name    string
	env     map[string]string
	wantErr string
	check   func(t *testing.T, s Settings)
}

func runLoadCases(t *testing.T, tests []loadCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parse(t, tt.env)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrConfig saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

func TestLoadRefresh(t *testing.T) {
	base := map[string]string{"INJECTOR_DIR": "/s", "INJECTOR_SPEC": okSpec}
	with := func(kv ...string) map[string]string {
		env := map[string]string{"INJECTOR_REFRESH_INTERVAL": "30s"}
		for k, v := range base {
			env[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	runLoadCases(t, []loadCase{
		{name: "one-shot by default", env: base, check: func(t *testing.T, s Settings) {
			if s.Refresh() {
				t.Error("refresh mode without INJECTOR_REFRESH_INTERVAL")
			}
		}},
		{name: "interval and default staleness", env: with(), check: func(t *testing.T, s Settings) {
			if !s.Refresh() || s.RefreshInterval.D != 30*time.Second || s.Staleness() != 90*time.Second {
				t.Errorf("refresh %v, interval %v, staleness %v", s.Refresh(), s.RefreshInterval.D, s.Staleness())
			}
		}},
		{name: "everything", env: with("INJECTOR_MAX_STALENESS", "2m", "INJECTOR_NOTIFY_URL", "http://127.0.0.1:8080/-/reload",
			"INJECTOR_NOTIFY_SIGNAL", "hup", "INJECTOR_NOTIFY_PROCESS", "nginx"), check: func(t *testing.T, s Settings) {
			if s.Staleness() != 2*time.Minute || s.NotifySignal.Sig != syscall.SIGHUP || s.NotifySignal.Name != "SIGHUP" || s.NotifyProcess != "nginx" {
				t.Errorf("settings %+v", s)
			}
		}},
		{name: "localhost", env: with("INJECTOR_NOTIFY_URL", "http://localhost:9/x"), check: func(*testing.T, Settings) {}},
		{name: "refused URL hides its query", env: with("INJECTOR_NOTIFY_URL", "http://app.internal:9/x?token=tok-never-shown"),
			wantErr: `"http://app.internal:9/x": the host must be localhost`},
		{name: "ipv6 loopback", env: with("INJECTOR_NOTIFY_URL", "http://[::1]:9/x"), check: func(*testing.T, Settings) {}},
		{name: "pid file", env: with("INJECTOR_NOTIFY_SIGNAL", "SIGUSR1", "INJECTOR_NOTIFY_PID_FILE", "/run/app.pid"), check: func(t *testing.T, s Settings) {
			if s.NotifySignal.Sig != syscall.SIGUSR1 {
				t.Errorf("signal %v", s.NotifySignal)
			}
		}},
		{name: "not a duration", env: with("INJECTOR_REFRESH_INTERVAL", "5"), wantErr: "not a Go duration"},
		{name: "empty interval is one-shot", env: with("INJECTOR_REFRESH_INTERVAL", ""), check: func(t *testing.T, s Settings) {
			if s.Refresh() {
				t.Error(`INJECTOR_REFRESH_INTERVAL="" turned refresh mode on`)
			}
		}},
		{name: "zero interval", env: with("INJECTOR_REFRESH_INTERVAL", "0s"), wantErr: "at least 1s"},
		{name: "interval too short", env: with("INJECTOR_REFRESH_INTERVAL", "999ms"), wantErr: "at least 1s"},
		{name: "negative interval", env: with("INJECTOR_REFRESH_INTERVAL", "-1m"), wantErr: "at least 1s"},
		{name: "staleness below the interval", env: with("INJECTOR_MAX_STALENESS", "29s"), wantErr: "at least the refresh interval"},
		{name: "staleness of one interval", env: with("INJECTOR_MAX_STALENESS", "30s"), check: func(t *testing.T, s Settings) {
			if s.Staleness() != 30*time.Second {
				t.Errorf("staleness %v", s.Staleness())
			}
		}},
		{name: "bad staleness", env: with("INJECTOR_MAX_STALENESS", "soon"), wantErr: "not a Go duration"},
		{name: "staleness without interval", env: map[string]string{"INJECTOR_DIR": "/s", "INJECTOR_SPEC": okSpec, "INJECTOR_MAX_STALENESS": "1m"},
			wantErr: "INJECTOR_MAX_STALENESS applies to refresh mode only"},
		{name: "notify without interval", env: map[string]string{"INJECTOR_DIR": "/s", "INJECTOR_SPEC": okSpec, "INJECTOR_NOTIFY_URL": "http://127.0.0.1/"},
			wantErr: "INJECTOR_NOTIFY_URL applies to refresh mode only"},
		{name: "remote URL", env: with("INJECTOR_NOTIFY_URL", "http://example.com/reload"), wantErr: "loopback"},
		{name: "private address", env: with("INJECTOR_NOTIFY_URL", "http://10.0.0.1/reload"), wantErr: "loopback"},
		{name: "https", env: with("INJECTOR_NOTIFY_URL", "https://127.0.0.1/reload"), wantErr: "http://"},
		{name: "not a URL", env: with("INJECTOR_NOTIFY_URL", "127.0.0.1:80"), wantErr: "INJECTOR_NOTIFY_URL"},
		{name: "user info", env: with("INJECTOR_NOTIFY_URL", "http://u:p@127.0.0.1/"), wantErr: "user information"},
		{name: "unknown signal", env: with("INJECTOR_NOTIFY_SIGNAL", "SIGKILL", "INJECTOR_NOTIFY_PROCESS", "app"), wantErr: "want one of"},
		{name: "signal without target", env: with("INJECTOR_NOTIFY_SIGNAL", "HUP"), wantErr: "exactly one"},
		{name: "signal with two targets", env: with("INJECTOR_NOTIFY_SIGNAL", "HUP", "INJECTOR_NOTIFY_PROCESS", "a", "INJECTOR_NOTIFY_PID_FILE", "/p"),
			wantErr: "exactly one"},
		{name: "target without signal", env: with("INJECTOR_NOTIFY_PROCESS", "app"), wantErr: "need INJECTOR_NOTIFY_SIGNAL"},
		{name: "process path", env: with("INJECTOR_NOTIFY_SIGNAL", "HUP", "INJECTOR_NOTIFY_PROCESS", "/usr/bin/app"), wantErr: "not a path"},
		{name: "splay", env: with("INJECTOR_NOTIFY_SIGNAL", "TERM", "INJECTOR_NOTIFY_PROCESS", "app", "INJECTOR_NOTIFY_SPLAY", "2m"), check: func(t *testing.T, s Settings) {
			if !s.NotifySplay.Set || s.NotifySplay.D != 2*time.Minute {
				t.Errorf("splay %+v", s.NotifySplay)
			}
		}},
		{name: "splay longer than the interval", env: with("INJECTOR_NOTIFY_URL", "http://127.0.0.1/", "INJECTOR_NOTIFY_SPLAY", "1h"), check: func(*testing.T, Settings) {}},
		{name: "zero splay", env: with("INJECTOR_NOTIFY_URL", "http://127.0.0.1/", "INJECTOR_NOTIFY_SPLAY", "0s"), check: func(*testing.T, Settings) {}},
		{name: "negative splay", env: with("INJECTOR_NOTIFY_URL", "http://127.0.0.1/", "INJECTOR_NOTIFY_SPLAY", "-1s"), wantErr: "must not be negative"},
		{name: "bad splay", env: with("INJECTOR_NOTIFY_URL", "http://127.0.0.1/", "INJECTOR_NOTIFY_SPLAY", "10"), wantErr: "not a Go duration"},
		{name: "splay without notification", env: with("INJECTOR_NOTIFY_SPLAY", "1m"), wantErr: "set INJECTOR_NOTIFY_URL or INJECTOR_NOTIFY_SIGNAL"},
		{name: "splay without interval", env: map[string]string{"INJECTOR_DIR": "/s", "INJECTOR_SPEC": okSpec, "INJECTOR_NOTIFY_SPLAY": "1m"},
			wantErr: "INJECTOR_NOTIFY_SPLAY applies to refresh mode only"},
	})
}

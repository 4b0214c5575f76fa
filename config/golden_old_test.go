package config

// The settings reader as it was before Settings became envconfig's own
// struct, kept to compare the new one against (golden_test.go).

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type oldSettings struct {
	Dir, Spec, SpecFile string
	Timeout             time.Duration
	FileMode            uint32
	UID, GID            int
	LogFormat           string
	S3PathStyle         bool
	MaxValueBytes       int64
	Concurrency         int
	SecretsBatch        string
	SSMPathMax          int
	RefreshInterval     oldDuration
	MaxStaleness        oldDuration
	NotifyURL           string
	NotifySignal        oldSignal
	NotifyPIDFile       string
	NotifyProcess       string
}

type oldDuration struct {
	D   time.Duration
	Set bool
}

func (d *oldDuration) Decode(s string) error {
	if s == "" {
		return errors.New("empty: unset it or give a Go duration such as 30s or 5m")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a Go duration such as 30s or 5m", s)
	}
	*d = oldDuration{D: v, Set: true}
	return nil
}

type oldSignal struct {
	Sig  syscall.Signal
	Name string
}

var oldSignals = map[string]syscall.Signal{
	"SIGHUP": syscall.SIGHUP, "SIGUSR1": syscall.SIGUSR1, "SIGUSR2": syscall.SIGUSR2,
	"SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT, "SIGTERM": syscall.SIGTERM,
	"SIGWINCH": syscall.SIGWINCH, "SIGALRM": syscall.SIGALRM, "SIGCONT": syscall.SIGCONT,
}

func (s *oldSignal) Decode(v string) error {
	name := strings.ToUpper(strings.TrimSpace(v))
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig, ok := oldSignals[name]
	if !ok {
		return fmt.Errorf("%q: want one of SIGHUP, SIGUSR1, SIGUSR2, SIGINT, SIGQUIT, SIGTERM, SIGWINCH, SIGALRM, SIGCONT", v)
	}
	*s = oldSignal{Sig: sig, Name: name}
	return nil
}

func oldParseFileMode(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	switch {
	case err != nil || v > 0o7777:
		return 0, fmt.Errorf("file mode %q: want octal permission bits such as 0400", s)
	case v&0o7000 != 0:
		return 0, fmt.Errorf("file mode %q: setuid, setgid and sticky bits are not allowed", s)
	case v&0o022 != 0:
		return 0, fmt.Errorf("file mode %q: group or other write permission is not allowed (files are read-only for everyone but the owner)", s)
	case v&0o400 == 0:
		return 0, fmt.Errorf("file mode %q: the owner must be able to read the files", s)
	}
	return uint32(v), nil
}

var oldDefaults = map[string]string{
	"TIMEOUT": "60s", "FILE_MODE": "0400", "UID": "-1", "GID": "-1", "LOG_FORMAT": "text",
	"S3_PATH_STYLE": "false", "MAX_VALUE_BYTES": "16777216", "CONCURRENCY": "32",
	"SECRETS_BATCH": "auto", "SSM_PATH_MAX": "1000",
}

func oldParse(lookup func(string) (string, bool)) (oldSettings, error) {
	const maxSpecBytes, maxID, maxConcurrency = 1 << 20, 1<<32 - 2, 64
	get := func(name string) string {
		if v, ok := lookup("INJECTOR_" + name); ok && v != "" {
			return v
		}
		return oldDefaults[name]
	}
	var (
		s    oldSettings
		errs []error
	)
	fail := func(name string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("INJECTOR_"+name+" "+format, args...))
	}

	s.Dir = get("DIR")
	switch {
	case s.Dir == "":
		fail("DIR", "is required: the output root (the shared volume's mount point)")
	case !filepath.IsAbs(s.Dir):
		fail("DIR", "%q: must be an absolute path", s.Dir)
	case filepath.Clean(s.Dir) == "/":
		fail("DIR", "%q: must not be the file system root", s.Dir)
	}

	s.Spec, s.SpecFile = get("SPEC"), get("SPEC_FILE")
	switch {
	case (s.Spec == "") == (s.SpecFile == ""):
		errs = append(errs, errors.New("set exactly one of INJECTOR_SPEC and INJECTOR_SPEC_FILE"))
	case len(s.Spec) > maxSpecBytes:
		fail("SPEC", "is %d bytes, more than the limit of %d", len(s.Spec), maxSpecBytes)
	}

	var err error
	if s.Timeout, err = time.ParseDuration(get("TIMEOUT")); err != nil {
		fail("TIMEOUT", "%q: want a duration such as 60s", get("TIMEOUT"))
	} else if s.Timeout <= 0 {
		fail("TIMEOUT", "must be positive, not %q", get("TIMEOUT"))
	}
	if s.FileMode, err = oldParseFileMode(get("FILE_MODE")); err != nil {
		errs = append(errs, fmt.Errorf("INJECTOR_FILE_MODE: %w", err))
	}
	for _, id := range []struct {
		name string
		dst  *int
	}{{"UID", &s.UID}, {"GID", &s.GID}} {
		v, err := strconv.ParseInt(get(id.name), 10, 64)
		if err != nil || v < -1 || v > maxID {
			fail(id.name, "%q: must be -1 (leave as is) or an id from 0 to %d", get(id.name), maxID)
		}
		*id.dst = int(v)
	}
	if s.LogFormat = get("LOG_FORMAT"); s.LogFormat != "text" && s.LogFormat != "json" {
		fail("LOG_FORMAT", "%q: want text or json", s.LogFormat)
	}
	if s.S3PathStyle, err = strconv.ParseBool(get("S3_PATH_STYLE")); err != nil {
		fail("S3_PATH_STYLE", "%q: want true or false", get("S3_PATH_STYLE"))
	}
	if s.MaxValueBytes, err = strconv.ParseInt(get("MAX_VALUE_BYTES"), 10, 64); err != nil || s.MaxValueBytes <= 0 {
		fail("MAX_VALUE_BYTES", "%q: must be a positive number of bytes", get("MAX_VALUE_BYTES"))
	}
	c, err := strconv.Atoi(get("CONCURRENCY"))
	if err != nil || c < 1 || c > maxConcurrency {
		fail("CONCURRENCY", "%q: must be 1 to %d", get("CONCURRENCY"), maxConcurrency)
	}
	s.Concurrency = c
	switch s.SecretsBatch = get("SECRETS_BATCH"); s.SecretsBatch {
	case "auto", "always", "never":
	default:
		fail("SECRETS_BATCH", "%q: want auto, always or never", s.SecretsBatch)
	}
	if s.SSMPathMax, err = strconv.Atoi(get("SSM_PATH_MAX")); err != nil || s.SSMPathMax < 1 {
		fail("SSM_PATH_MAX", "%q: must be a positive number of parameters", get("SSM_PATH_MAX"))
	}

	for _, d := range []struct {
		name string
		dst  *oldDuration
	}{{"REFRESH_INTERVAL", &s.RefreshInterval}, {"MAX_STALENESS", &s.MaxStaleness}} {
		if v := get(d.name); v != "" {
			if err := d.dst.Decode(v); err != nil {
				fail(d.name, "%v", err)
			}
		}
	}
	s.NotifyURL, s.NotifyPIDFile, s.NotifyProcess = get("NOTIFY_URL"), get("NOTIFY_PID_FILE"), get("NOTIFY_PROCESS")
	if v := get("NOTIFY_SIGNAL"); v != "" {
		if err := s.NotifySignal.Decode(v); err != nil {
			fail("NOTIFY_SIGNAL", "%v", err)
		}
	}
	if err := s.oldValidateRefresh(); err != nil {
		errs = append(errs, err)
	}

	if err := errors.Join(errs...); err != nil {
		return oldSettings{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return s, nil
}

func (s oldSettings) oldValidateRefresh() error {
	var errs []error
	if !s.RefreshInterval.Set {
		for _, o := range []struct {
			name string
			set  bool
		}{
			{"INJECTOR_MAX_STALENESS", s.MaxStaleness.Set}, {"INJECTOR_NOTIFY_URL", s.NotifyURL != ""},
			{"INJECTOR_NOTIFY_SIGNAL", s.NotifySignal.Name != ""}, {"INJECTOR_NOTIFY_PID_FILE", s.NotifyPIDFile != ""},
			{"INJECTOR_NOTIFY_PROCESS", s.NotifyProcess != ""},
		} {
			if o.set {
				errs = append(errs, fmt.Errorf("%s applies to refresh mode only: set INJECTOR_REFRESH_INTERVAL too", o.name))
			}
		}
		return errors.Join(errs...)
	}
	interval := s.RefreshInterval.D
	if interval < time.Second {
		errs = append(errs, fmt.Errorf("INJECTOR_REFRESH_INTERVAL %s: must be at least %s", interval, time.Second))
	}
	if s.MaxStaleness.Set && s.MaxStaleness.D < interval {
		errs = append(errs, fmt.Errorf("INJECTOR_MAX_STALENESS %s: must be at least the refresh interval %s (health would fail between checks)",
			s.MaxStaleness.D, interval))
	}
	if s.NotifyURL != "" {
		if err := oldCheckNotifyURL(s.NotifyURL); err != nil {
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
	return errors.Join(errs...)
}

func oldCheckNotifyURL(raw string) error {
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

// Package config reads the injector's settings from the environment
// (prefix INJECTOR) and loads the item spec they point at.
//
// Every setting is checked before anything else happens: an error names the
// setting and the rule it breaks, and the injector exits 2 without having
// made any AWS call.
package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/ecs-secret-injector/injector/internal/fileperm"
	"github.com/ecs-secret-injector/injector/plan"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("configuration error")

// Limits of the settings.
const (
	// MaxID is the largest INJECTOR_UID or INJECTOR_GID (fileperm.MaxID).
	MaxID = fileperm.MaxID
	// MaxConcurrency bounds INJECTOR_CONCURRENCY.
	MaxConcurrency = 64
)

// FileMode is the permission of the files written: octal, readable by the
// owner, writable by no one else, without setuid, setgid or sticky bits.
type FileMode os.FileMode

// ParseFileMode parses an INJECTOR_FILE_MODE value such as 0400 or 640,
// by the rules of every file mode (fileperm.ParseMode).
func ParseFileMode(s string) (FileMode, error) {
	m, err := fileperm.ParseMode(s)
	return FileMode(m), err
}

// Settings are the injector's settings.
type Settings struct {
	// Dir is the output root: the shared volume's mount point.
	Dir string
	// Spec is the JSON item list; SpecFile a file holding it. Exactly one is set.
	Spec     string
	SpecFile string
	// Timeout bounds the whole run, reading the spec file included.
	Timeout time.Duration
	// FileMode is the permission of every file written.
	FileMode FileMode
	// UID and GID own the files written; -1 leaves them as the process's.
	UID int
	GID int
	// LogFormat is text or json.
	LogFormat string
	// S3PathStyle addresses buckets by path (S3-compatible endpoints).
	S3PathStyle bool
	// MaxValueBytes bounds the size of one fetched value and of one
	// rendered file.
	MaxValueBytes int64
	// Concurrency bounds the API calls in flight at once: by default every
	// call of a run up to 32.
	Concurrency int
	// SecretsBatch is when Secrets Manager secrets are read with
	// BatchGetSecretValue: auto, always or never.
	SecretsBatch string
	// SSMPathMax bounds the parameters one SSM path (ssm:/app/prod/) may
	// expand to; more is a fetch error.
	SSMPathMax int

	// Refresh mode (refresh.go): unset, the injector runs once.
	RefreshInterval Duration
	MaxStaleness    Duration
	// NotifyURL gets a POST after each change.
	NotifyURL string
	// NotifySignal goes after each change to the process whose pid
	// NotifyPIDFile holds, or to every process named NotifyProcess.
	NotifySignal  Signal
	NotifyPIDFile string
	NotifyProcess string
}

// Load reads settings from the process environment (through envconfig) and
// validates them.
func Load() (Settings, error) {
	lookup, err := readEnvironment()
	if err != nil {
		return Settings{}, err
	}
	return Parse(lookup)
}

// Parse reads settings through lookup (os.LookupEnv for the process
// environment) and validates them. A variable set to "" counts as unset.
// The error lists every setting that is wrong, each by name.
func Parse(lookup func(string) (string, bool)) (Settings, error) {
	defaults := defaultValues()
	get := func(name string) string {
		if v, ok := lookup(Prefix + "_" + name); ok && v != "" {
			return v
		}
		return defaults[name]
	}
	var (
		s    Settings
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
	case len(s.Spec) > plan.MaxSpecBytes:
		fail("SPEC", "is %d bytes, more than the limit of %d", len(s.Spec), plan.MaxSpecBytes)
	}

	var err error
	if s.Timeout, err = time.ParseDuration(get("TIMEOUT")); err != nil {
		fail("TIMEOUT", "%q: want a duration such as 60s", get("TIMEOUT"))
	} else if s.Timeout <= 0 {
		fail("TIMEOUT", "must be positive, not %q", get("TIMEOUT"))
	}
	if s.FileMode, err = ParseFileMode(get("FILE_MODE")); err != nil {
		errs = append(errs, fmt.Errorf("INJECTOR_FILE_MODE: %w", err))
	}
	for _, id := range []struct {
		name string
		dst  *int
	}{{"UID", &s.UID}, {"GID", &s.GID}} {
		v, err := fileperm.ParseID(get(id.name))
		if err != nil {
			fail(id.name, "%w", err)
		}
		*id.dst = v
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
	if err != nil || c < 1 || c > MaxConcurrency {
		fail("CONCURRENCY", "%q: must be 1 to %d", get("CONCURRENCY"), MaxConcurrency)
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
		dst  *Duration
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
	if err := s.validateRefresh(); err != nil {
		errs = append(errs, err)
	}

	if err := errors.Join(errs...); err != nil {
		return Settings{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return s, nil
}

// LoadPlan reads the spec the settings point at and plans it. Reading
// INJECTOR_SPEC_FILE counts against ctx (the run's timeout).
func (s Settings) LoadPlan(ctx context.Context) (plan.Plan, error) {
	data := []byte(s.Spec)
	if s.SpecFile != "" {
		var err error
		if data, err = readSpecFile(ctx, s.SpecFile); err != nil {
			return plan.Plan{}, fmt.Errorf("%w: reading INJECTOR_SPEC_FILE %q: %w", ErrConfig, s.SpecFile, err)
		}
	}
	items, err := plan.ParseSpec(data)
	if err != nil {
		return plan.Plan{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	p, err := plan.Build(items)
	if err != nil {
		return plan.Plan{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	p.MaxFileBytes = s.MaxValueBytes
	if err := s.checkRefreshPlan(p); err != nil {
		return plan.Plan{}, err
	}
	return p, nil
}

// readSpecFile reads a regular file of at most plan.MaxSpecBytes. A FIFO, a
// device or a directory is refused without waiting on it (it is opened
// non-blocking, and checked before and after opening); a file system that
// does not answer is given up on when ctx ends.
func readSpecFile(ctx context.Context, name string) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := readRegular(name)
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("not read within INJECTOR_TIMEOUT: %w", context.Cause(ctx))
	}
}

func readRegular(name string) ([]byte, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(fi); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := checkRegular(fi); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, plan.MaxSpecBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > plan.MaxSpecBytes {
		return nil, fmt.Errorf("is more than the limit of %d bytes", plan.MaxSpecBytes)
	}
	return data, nil
}

func checkRegular(fi fs.FileInfo) error {
	var kind string
	switch t := fi.Mode().Type(); {
	case t == 0:
		if fi.Size() > plan.MaxSpecBytes {
			return fmt.Errorf("is %d bytes, more than the limit of %d", fi.Size(), plan.MaxSpecBytes)
		}
		return nil
	case t&fs.ModeDir != 0:
		kind = "a directory"
	case t&fs.ModeNamedPipe != 0:
		kind = "a FIFO"
	case t&fs.ModeDevice != 0:
		kind = "a device"
	case t&fs.ModeSocket != 0:
		kind = "a socket"
	default:
		kind = "not a regular file"
	}
	return fmt.Errorf("is %s: want a regular file", kind)
}

// Package config reads the injector's settings from the environment: one
// struct, Settings, whose tags give each variable's name, default and
// meaning, read once by envconfig.
//
// Every setting is checked before anything else happens: an error names the
// setting and the rule it breaks, and the injector exits 2 without having
// made any AWS call. Loading the spec the settings point at is package
// plan's (plan.Load).
package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"github.com/ecs-secret-injector/injector/internal/fileperm"
	"github.com/kelseyhightower/envconfig"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("configuration error")

// Limits of the settings.
const (
	// MaxID is the largest INJECTOR_UID or INJECTOR_GID (fileperm.MaxID).
	MaxID = fileperm.MaxID
	// MaxConcurrency bounds INJECTOR_CONCURRENCY.
	MaxConcurrency = 64
	// MaxSpecBytes bounds INJECTOR_SPEC. It is plan.MaxSpecBytes, the
	// limit of a spec however it is given (a test in cmd/injector keeps the
	// two equal; config does not import the planner).
	MaxSpecBytes = 1 << 20
)

// Settings are the injector's settings, as envconfig reads them: each
// field's envconfig tag is its variable's full name (Load passes envconfig
// no prefix, so DIR or TIMEOUT are never taken for INJECTOR_DIR or
// INJECTOR_TIMEOUT, and no field name is split into words), default its
// default and desc what --help says of it. Variables lists them.
//
// Each field's type decodes and checks its variable's text (values.go,
// refresh.go). A type keeps, rather than returns, why it refused a text, so
// that one envconfig.Process reports every wrong setting, not only the
// first; validate collects the reasons and checks the rules between
// settings.
type Settings struct {
	// Spec is the JSON item list; SpecFile a file holding it. Exactly one
	// is set; plan.Load reads and plans it.
	Spec     string `envconfig:"INJECTOR_SPEC" desc:"JSON list of items to write (this or INJECTOR_SPEC_FILE)"`
	SpecFile string `envconfig:"INJECTOR_SPEC_FILE" desc:"file holding the JSON list of items (this or INJECTOR_SPEC)"`
	// Timeout bounds the whole run, reading the spec file included.
	Timeout Timeout `envconfig:"INJECTOR_TIMEOUT" default:"60s" desc:"bound on the whole run"`
	// FileMode is the permission of every file written.
	FileMode FileMode `envconfig:"INJECTOR_FILE_MODE" default:"0400" desc:"octal mode of every file written"`
	// UID and GID own the files written; -1 leaves them as the process's.
	UID ID `envconfig:"INJECTOR_UID" default:"-1" desc:"owner of written files and directories (-1: the process's)"`
	GID ID `envconfig:"INJECTOR_GID" default:"-1" desc:"group of written files and directories (-1: the process's)"`
	// LogFormat is text or json.
	LogFormat LogFormat `envconfig:"INJECTOR_LOG_FORMAT" default:"text" desc:"text or json"`
	// S3PathStyle addresses buckets by path (S3-compatible endpoints).
	S3PathStyle Bool `envconfig:"INJECTOR_S3_PATH_STYLE" default:"false" desc:"path-style S3 addressing, for S3-compatible endpoints"`
	// MaxValueBytes bounds the size of one fetched value and of one
	// rendered file.
	MaxValueBytes Bytes `envconfig:"INJECTOR_MAX_VALUE_BYTES" default:"16777216" desc:"largest value accepted, and largest file rendered"`
	// Concurrency bounds the API calls in flight at once.
	Concurrency Concurrency `envconfig:"INJECTOR_CONCURRENCY" default:"32" desc:"API calls in flight at once"`
	// SecretsBatch is when Secrets Manager secrets are read with
	// BatchGetSecretValue: auto, always or never.
	SecretsBatch SecretsBatch `envconfig:"INJECTOR_SECRETS_BATCH" default:"auto" desc:"when to read Secrets Manager with BatchGetSecretValue: auto (only when one call per secret would not fit in INJECTOR_CONCURRENCY), always or never"`
	// SSMPathMax bounds the parameters one SSM path (ssm:/app/prod/) may
	// expand to; more is a fetch error.
	SSMPathMax Parameters `envconfig:"INJECTOR_SSM_PATH_MAX" default:"1000" desc:"most parameters or secrets one SSM path (ssm:/PATH/) or secret prefix (secretsmanager:PREFIX/*) may expand to"`
	// RoleARN is the role of every item that names none (plan.Defaults).
	RoleARN RoleARN `envconfig:"INJECTOR_ROLE_ARN" desc:"IAM role every item without a roleArn is read as (sts:AssumeRole); unset: the task's own credentials"`
	// FailoverRegion is the failover region of every item that names none.
	FailoverRegion Region `envconfig:"INJECTOR_FAILOVER_REGION" desc:"region every item without a failoverRegion falls back to when its own region is unavailable"`
	// ExecHelper puts the exec helper (cmd/with-env, beside the injector's
	// executable) into every generation.
	ExecHelper Bool `envconfig:"INJECTOR_EXEC_HELPER" default:"false" desc:"put the exec helper into every generation as ..bin/with-env, the entry point of apps that take the dotenv files as environment variables"`

	// Refresh mode (refresh.go): unset, the injector runs once.
	RefreshInterval Duration `envconfig:"INJECTOR_REFRESH_INTERVAL" desc:"refresh mode: check for rotated values this often (Go duration, at least 1s); unset: run once"`
	MaxStaleness    Duration `envconfig:"INJECTOR_MAX_STALENESS" desc:"refresh mode: how long files may go unconfirmed before health fails (default 3 intervals)"`
	// NotifyURL gets a POST after each change.
	NotifyURL NotifyURL `envconfig:"INJECTOR_NOTIFY_URL" desc:"refresh mode: loopback http URL that gets a POST after each change"`
	// NotifySignal goes after each change to the process whose pid
	// NotifyPIDFile holds, or to every process named NotifyProcess.
	NotifySignal  Signal `envconfig:"INJECTOR_NOTIFY_SIGNAL" desc:"refresh mode: signal (SIGHUP, ...) sent after each change to the process named below"`
	NotifyPIDFile string `envconfig:"INJECTOR_NOTIFY_PID_FILE" desc:"refresh mode: file holding the pid that gets INJECTOR_NOTIFY_SIGNAL"`
	NotifyProcess string `envconfig:"INJECTOR_NOTIFY_PROCESS" desc:"refresh mode: name of the processes (/proc/PID/comm) that get INJECTOR_NOTIFY_SIGNAL"`
	// NotifySplay delays each notification by a random time within it.
	NotifySplay Duration `envconfig:"INJECTOR_NOTIFY_SPLAY" desc:"refresh mode: delay each notification by a random time within this window (Go duration), so that a fleet does not restart at once"`

	// Dir is the output root: the shared volume's mount point. It is the
	// last field because envconfig stops at a required variable that is
	// not set: every other setting is read before, and its errors are
	// reported with this one (Variables still lists it first).
	Dir Root `envconfig:"INJECTOR_DIR" required:"true" desc:"output root: the shared volume's mount point"`
}

// Load reads the settings from the process environment and checks them. A
// variable set to "" counts as unset. The error lists every setting that is
// wrong, each by name.
func Load() (Settings, error) {
	var s Settings
	// With INJECTOR_DIR unset, Process stops at it (the last field) with an
	// error of its own: validate says so with every other error.
	err := envconfig.Process("", &s)
	if _, parse := errors.AsType[*envconfig.ParseError](err); parse || err != nil && s.Dir.Path != "" {
		return Settings{}, processError(err)
	}
	s.defaultEmpty()
	if err := s.validate(); err != nil {
		return Settings{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return s, nil
}

// processError is an error of envconfig.Process as a configuration error.
// Every setting's type keeps its own refusals, so none is expected; but the
// text of envconfig's *ParseError holds the variable's value, which is
// never shown: only the variable's name and the reason are.
func processError(err error) error {
	if pe, ok := errors.AsType[*envconfig.ParseError](err); ok {
		return fmt.Errorf("%w: %s: %w", ErrConfig, pe.KeyName, pe.Err)
	}
	return fmt.Errorf("%w: %w", ErrConfig, err)
}

// defaultEmpty gives a setting whose variable is set to "" its default, as
// envconfig gives it to one that is not set. (envconfig decodes "", which
// every setting's type takes as "not given".)
func (s *Settings) defaultEmpty() {
	v, t := reflect.ValueOf(s).Elem(), reflect.TypeFor[Settings]()
	for i := range t.NumField() {
		tag := t.Field(i).Tag
		def := tag.Get("default")
		if def == "" {
			continue
		}
		if text, ok := os.LookupEnv(tag.Get("envconfig")); ok && text == "" {
			// Each field with a default has a Decoder of its own.
			_ = v.Field(i).Addr().Interface().(envconfig.Decoder).Decode(def)
		}
	}
}

// validate returns every reason a setting was refused, in the order of
// the settings table, and checks the rules between settings: exactly one
// spec, and the refresh settings.
func (s *Settings) validate() error {
	var errs []error
	add := func(name string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s%w", name, err))
		}
	}
	if s.Dir.Path == "" {
		errs = append(errs, errors.New("INJECTOR_DIR is required: the output root (the shared volume's mount point)"))
	}
	add("INJECTOR_DIR ", s.Dir.err)
	switch {
	case (s.Spec == "") == (s.SpecFile == ""):
		errs = append(errs, errors.New("set exactly one of INJECTOR_SPEC and INJECTOR_SPEC_FILE"))
	case len(s.Spec) > MaxSpecBytes:
		errs = append(errs, fmt.Errorf("INJECTOR_SPEC is %d bytes, more than the limit of %d", len(s.Spec), MaxSpecBytes))
	}
	add("INJECTOR_TIMEOUT ", s.Timeout.err)
	add("INJECTOR_FILE_MODE: ", s.FileMode.err)
	add("INJECTOR_UID ", s.UID.err)
	add("INJECTOR_GID ", s.GID.err)
	add("INJECTOR_LOG_FORMAT ", s.LogFormat.err)
	add("INJECTOR_S3_PATH_STYLE ", s.S3PathStyle.err)
	add("INJECTOR_MAX_VALUE_BYTES ", s.MaxValueBytes.err)
	add("INJECTOR_CONCURRENCY ", s.Concurrency.err)
	add("INJECTOR_SECRETS_BATCH ", s.SecretsBatch.err)
	add("INJECTOR_SSM_PATH_MAX ", s.SSMPathMax.err)
	add("INJECTOR_ROLE_ARN", s.RoleARN.err)
	add("INJECTOR_FAILOVER_REGION", s.FailoverRegion.err)
	add("INJECTOR_EXEC_HELPER ", s.ExecHelper.err)
	add("INJECTOR_REFRESH_INTERVAL ", s.RefreshInterval.err)
	add("INJECTOR_MAX_STALENESS ", s.MaxStaleness.err)
	add("INJECTOR_NOTIFY_SIGNAL ", s.NotifySignal.err)
	add("INJECTOR_NOTIFY_SPLAY ", s.NotifySplay.err)

	// Refresh mode (refresh.go): outside it, none of its settings may be
	// set.
	if !s.Refresh() {
		for _, o := range []struct {
			name string
			set  bool
		}{
			{"INJECTOR_MAX_STALENESS", s.MaxStaleness.Set}, {"INJECTOR_NOTIFY_URL", s.NotifyURL.URL != ""},
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
	if s.NotifyURL.err != nil {
		errs = append(errs, fmt.Errorf("INJECTOR_NOTIFY_URL: %w", s.NotifyURL.err))
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
		case s.NotifyURL.URL == "" && s.NotifySignal.Name == "":
			errs = append(errs, errors.New("INJECTOR_NOTIFY_SPLAY delays notifications: set INJECTOR_NOTIFY_URL or INJECTOR_NOTIFY_SIGNAL too"))
		}
	}
	return errors.Join(errs...)
}

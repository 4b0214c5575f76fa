// Package config reads the injector's settings from the environment
// (prefix INJECTOR) and loads the item spec they point at.
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/ecs-secret-injector/injector/plan"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("configuration error")

// FileMode is an octal permission such as 0400.
type FileMode os.FileMode

// Decode implements envconfig.Decoder.
func (m *FileMode) Decode(s string) error {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o777 {
		return fmt.Errorf("file mode %q: want octal permission bits such as 0400", s)
	}
	*m = FileMode(v)
	return nil
}

// Settings are the injector's settings.
type Settings struct {
	// Dir is the output root: the shared volume's mount point.
	Dir string `envconfig:"DIR" required:"true"`
	// Spec is the JSON item list; SpecFile a file holding it. Exactly one is set.
	Spec     string `envconfig:"SPEC"`
	SpecFile string `envconfig:"SPEC_FILE"`
	// Timeout bounds the whole run.
	Timeout time.Duration `envconfig:"TIMEOUT" default:"60s"`
	// FileMode is the permission of every file written.
	FileMode FileMode `envconfig:"FILE_MODE" default:"0400"`
	// UID and GID own the files written; -1 leaves them as the process's.
	UID int `envconfig:"UID" default:"-1"`
	GID int `envconfig:"GID" default:"-1"`
	// LogFormat is text or json.
	LogFormat string `envconfig:"LOG_FORMAT" default:"text"`
	// S3PathStyle addresses buckets by path (S3-compatible endpoints).
	S3PathStyle bool `envconfig:"S3_PATH_STYLE" default:"false"`
	// MaxValueBytes bounds the size of one fetched value.
	MaxValueBytes int64 `envconfig:"MAX_VALUE_BYTES" default:"16777216"`
	// Concurrency bounds the API calls in flight at once.
	Concurrency int `envconfig:"CONCURRENCY" default:"8"`

	// Refresh mode (refresh.go): unset, the injector runs once.
	RefreshInterval Duration `envconfig:"REFRESH_INTERVAL"`
	MaxStaleness    Duration `envconfig:"MAX_STALENESS"`
	// NotifyURL gets a POST after each change.
	NotifyURL string `envconfig:"NOTIFY_URL"`
	// NotifySignal goes after each change to the process whose pid
	// NotifyPIDFile holds, or to every process named NotifyProcess.
	NotifySignal  Signal `envconfig:"NOTIFY_SIGNAL"`
	NotifyPIDFile string `envconfig:"NOTIFY_PID_FILE"`
	NotifyProcess string `envconfig:"NOTIFY_PROCESS"`
}

// Load reads settings from the process environment and validates them.
func Load() (Settings, error) {
	var s Settings
	if err := envconfig.Process("INJECTOR", &s); err != nil {
		return Settings{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := s.validate(); err != nil {
		return Settings{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return s, nil
}

func (s Settings) validate() error {
	var errs []error
	if s.Dir == "" {
		errs = append(errs, errors.New("INJECTOR_DIR is empty"))
	}
	if (s.Spec == "") == (s.SpecFile == "") {
		errs = append(errs, errors.New("set exactly one of INJECTOR_SPEC and INJECTOR_SPEC_FILE"))
	}
	if s.Timeout <= 0 {
		errs = append(errs, errors.New("INJECTOR_TIMEOUT must be positive"))
	}
	if s.UID < -1 || s.GID < -1 {
		errs = append(errs, errors.New("INJECTOR_UID and INJECTOR_GID must be -1 or an id"))
	}
	if s.LogFormat != "text" && s.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("INJECTOR_LOG_FORMAT %q: want text or json", s.LogFormat))
	}
	if s.MaxValueBytes <= 0 {
		errs = append(errs, errors.New("INJECTOR_MAX_VALUE_BYTES must be positive"))
	}
	if s.Concurrency < 1 || s.Concurrency > 64 {
		errs = append(errs, errors.New("INJECTOR_CONCURRENCY must be 1 to 64"))
	}
	errs = append(errs, s.validateRefresh())
	return errors.Join(errs...)
}

// LoadPlan reads the spec the settings point at and plans it.
func (s Settings) LoadPlan() (plan.Plan, error) {
	data := []byte(s.Spec)
	if s.SpecFile != "" {
		var err error
		if data, err = os.ReadFile(s.SpecFile); err != nil {
			return plan.Plan{}, fmt.Errorf("%w: reading INJECTOR_SPEC_FILE: %w", ErrConfig, err)
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
	if err := s.checkRefreshPlan(p); err != nil {
		return plan.Plan{}, err
	}
	return p, nil
}

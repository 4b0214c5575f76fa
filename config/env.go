package config

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/kelseyhightower/envconfig"
)

// Prefix is the prefix of every setting's variable.
const Prefix = "INJECTOR"

// environment is every setting as envconfig reads it from the process
// environment. Each field's envconfig tag is the variable's full name and
// readEnvironment passes envconfig no prefix, so envconfig looks up exactly
// that name (its fallback, the tag without a prefix, is the same name):
// DIR or TIMEOUT are never taken for INJECTOR_DIR or INJECTOR_TIMEOUT, and
// no field name is split into words (split_words runs regular expressions
// per field, a third of a millisecond at start-up). Variables and Parse's
// defaults read the names from the same tags. The settings are read as
// text, to be checked by Parse with the rules and messages of each setting
// (envconfig's own conversions would wrap 4294967296 to 0 or take "" as a
// value).
//
// It is also the one list of settings: their defaults (which Parse uses)
// and the descriptions that --help prints.
type environment struct {
	Dir           string `envconfig:"INJECTOR_DIR" needed:"true" desc:"output root: the shared volume's mount point"`
	Spec          string `envconfig:"INJECTOR_SPEC" desc:"JSON list of items to write (this or INJECTOR_SPEC_FILE)"`
	SpecFile      string `envconfig:"INJECTOR_SPEC_FILE" desc:"file holding the JSON list of items (this or INJECTOR_SPEC)"`
	Timeout       string `envconfig:"INJECTOR_TIMEOUT" default:"60s" desc:"bound on the whole run"`
	FileMode      string `envconfig:"INJECTOR_FILE_MODE" default:"0400" desc:"octal mode of every file written"`
	UID           string `envconfig:"INJECTOR_UID" default:"-1" desc:"owner of written files and directories (-1: the process's)"`
	GID           string `envconfig:"INJECTOR_GID" default:"-1" desc:"group of written files and directories (-1: the process's)"`
	LogFormat     string `envconfig:"INJECTOR_LOG_FORMAT" default:"text" desc:"text or json"`
	S3PathStyle   string `envconfig:"INJECTOR_S3_PATH_STYLE" default:"false" desc:"path-style S3 addressing, for S3-compatible endpoints"`
	MaxValueBytes string `envconfig:"INJECTOR_MAX_VALUE_BYTES" default:"16777216" desc:"largest value accepted, and largest file rendered"`
	Concurrency   string `envconfig:"INJECTOR_CONCURRENCY" default:"32" desc:"API calls in flight at once"`
	SecretsBatch  string `envconfig:"INJECTOR_SECRETS_BATCH" default:"auto" desc:"when to read Secrets Manager with BatchGetSecretValue: auto (only when one call per secret would not fit in INJECTOR_CONCURRENCY), always or never"`
	SSMPathMax    string `envconfig:"INJECTOR_SSM_PATH_MAX" default:"1000" desc:"most parameters one SSM path (ssm:/PATH/) may expand to"`
	ExecHelper    string `envconfig:"INJECTOR_EXEC_HELPER" default:"false" desc:"put the exec helper into every generation as ..bin/with-env, the entry point of apps that take the dotenv files as environment variables"`

	RefreshInterval string `envconfig:"INJECTOR_REFRESH_INTERVAL" desc:"refresh mode: check for rotated values this often (Go duration, at least 1s); unset: run once"`
	MaxStaleness    string `envconfig:"INJECTOR_MAX_STALENESS" desc:"refresh mode: how long files may go unconfirmed before health fails (default 3 intervals)"`
	NotifyURL       string `envconfig:"INJECTOR_NOTIFY_URL" desc:"refresh mode: loopback http URL that gets a POST after each change"`
	NotifySignal    string `envconfig:"INJECTOR_NOTIFY_SIGNAL" desc:"refresh mode: signal (SIGHUP, ...) sent after each change to the process named below"`
	NotifyPIDFile   string `envconfig:"INJECTOR_NOTIFY_PID_FILE" desc:"refresh mode: file holding the pid that gets INJECTOR_NOTIFY_SIGNAL"`
	NotifyProcess   string `envconfig:"INJECTOR_NOTIFY_PROCESS" desc:"refresh mode: name of the processes (/proc/PID/comm) that get INJECTOR_NOTIFY_SIGNAL"`
	NotifySplay     string `envconfig:"INJECTOR_NOTIFY_SPLAY" desc:"refresh mode: delay each notification by a random time within this window (Go duration), so that a fleet does not restart at once"`
}

// Variable is one setting: its environment variable, default and meaning.
type Variable struct {
	Name, Default, Doc string
	Required           bool
}

// Variables lists every setting, in the order of the table in
// docs/configuration.md.
func Variables() []Variable {
	t := reflect.TypeFor[environment]()
	vars := make([]Variable, t.NumField())
	for i := range vars {
		tag := t.Field(i).Tag
		vars[i] = Variable{Name: tag.Get("envconfig"), Default: tag.Get("default"),
			Doc: tag.Get("desc"), Required: tag.Get("needed") == "true"}
	}
	return vars
}

// defaultValues maps each setting's short name (DIR, TIMEOUT, ...) to its
// default.
func defaultValues() map[string]string {
	t := reflect.TypeFor[environment]()
	defs := make(map[string]string, t.NumField())
	for i := range t.NumField() {
		name := strings.TrimPrefix(t.Field(i).Tag.Get("envconfig"), Prefix+"_")
		defs[name] = t.Field(i).Tag.Get("default")
	}
	return defs
}

// readEnvironment reads the settings' variables with envconfig and returns
// a lookup over them for Parse.
// envconfig applies the default tags too (Parse reads "" as unset and
// gives the same defaults); "needed" is not envconfig's "required", so
// that a missing INJECTOR_DIR is reported by Parse with every other error.
func readEnvironment() (func(string) (string, bool), error) {
	var e environment
	if err := envconfig.Process("", &e); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	vars := map[string]string{}
	v, t := reflect.ValueOf(e), reflect.TypeOf(e)
	for i := range t.NumField() {
		if s := v.Field(i).String(); s != "" {
			vars[t.Field(i).Tag.Get("envconfig")] = s
		}
	}
	return func(name string) (string, bool) {
		s, ok := vars[name]
		return s, ok
	}, nil
}

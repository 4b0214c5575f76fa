package config

import (
	"fmt"
	"reflect"

	"github.com/kelseyhightower/envconfig"
)

// Prefix is the prefix of every setting's variable.
const Prefix = "INJECTOR"

// environment is every setting as envconfig reads it from the process
// environment: text, to be checked by Parse with the rules and messages of
// each setting (envconfig's own conversions would wrap 4294967296 to 0 or
// take "" as a value).
type environment struct {
	Dir           string `envconfig:"DIR"`
	Spec          string `envconfig:"SPEC"`
	SpecFile      string `envconfig:"SPEC_FILE"`
	Timeout       string `envconfig:"TIMEOUT"`
	FileMode      string `envconfig:"FILE_MODE"`
	UID           string `envconfig:"UID"`
	GID           string `envconfig:"GID"`
	LogFormat     string `envconfig:"LOG_FORMAT"`
	S3PathStyle   string `envconfig:"S3_PATH_STYLE"`
	MaxValueBytes string `envconfig:"MAX_VALUE_BYTES"`
	Concurrency   string `envconfig:"CONCURRENCY"`
}

// readEnvironment reads the settings' variables with envconfig and returns
// a lookup over them for Parse.
func readEnvironment() (func(string) (string, bool), error) {
	var e environment
	if err := envconfig.Process(Prefix, &e); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	vars := map[string]string{}
	v, t := reflect.ValueOf(e), reflect.TypeOf(e)
	for i := range t.NumField() {
		if s := v.Field(i).String(); s != "" {
			vars[Prefix+"_"+t.Field(i).Tag.Get("envconfig")] = s
		}
	}
	return func(name string) (string, bool) {
		s, ok := vars[name]
		return s, ok
	}, nil
}

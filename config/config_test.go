package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"
)

const okSpec = `[{"from":"ssm:/a","path":"a"}]`

// parse is Load with vars as the whole INJECTOR_ environment.
func parse(t *testing.T, vars map[string]string) (Settings, error) {
	t.Helper()
	setEnv(t, vars)
	return Load()
}

// with is the minimal valid settings plus more (a value of "" unsets).
func with(more map[string]string) map[string]string {
	m := map[string]string{"INJECTOR_DIR": "/s", "INJECTOR_SPEC": okSpec}
	for k, v := range more {
		m[k] = v
	}
	return m
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string
		check   func(t *testing.T, s Settings)
	}{
		{name: "defaults", env: with(nil),
			check: func(t *testing.T, s Settings) {
				if s.FileMode.Mode != 0o400 || s.UID.N != -1 || s.GID.N != -1 || s.Timeout.D != 60*time.Second || s.LogFormat.Name != "text" ||
					s.Concurrency.N != 32 || s.MaxValueBytes.N != 16<<20 || s.S3PathStyle.On || s.SSMPathMax.N != 1000 || s.SecretsBatch.Mode != "auto" {
					t.Errorf("defaults = %+v", s)
				}
			}},
		{name: "empty counts as unset", env: with(map[string]string{"INJECTOR_UID": "", "INJECTOR_FILE_MODE": "", "INJECTOR_SPEC_FILE": ""}),
			check: func(t *testing.T, s Settings) {
				if s.UID.N != -1 || s.FileMode.Mode != 0o400 {
					t.Errorf("settings = %+v", s)
				}
			}},
		{name: "all set", env: map[string]string{"INJECTOR_DIR": "/s/", "INJECTOR_SPEC_FILE": "/f", "INJECTOR_FILE_MODE": "0440",
			"INJECTOR_UID": "1000", "INJECTOR_GID": "4294967294", "INJECTOR_TIMEOUT": "5s", "INJECTOR_LOG_FORMAT": "json",
			"INJECTOR_S3_PATH_STYLE": "true", "INJECTOR_MAX_VALUE_BYTES": "1024", "INJECTOR_CONCURRENCY": "64"},
			check: func(t *testing.T, s Settings) {
				if s.FileMode.Mode != 0o440 || s.UID.N != 1000 || s.GID.N != MaxID || s.Timeout.D != 5*time.Second || s.LogFormat.Name != "json" ||
					s.SpecFile != "/f" || !s.S3PathStyle.On || s.MaxValueBytes.N != 1024 || s.Concurrency.N != 64 || s.Dir.Path != "/s/" {
					t.Errorf("settings = %+v", s)
				}
			}},
		{name: "uid 0", env: with(map[string]string{"INJECTOR_UID": "0", "INJECTOR_GID": "0"}),
			check: func(t *testing.T, s Settings) {
				if s.UID.N != 0 || s.GID.N != 0 {
					t.Errorf("settings = %+v", s)
				}
			}},
		{name: "no dir", env: map[string]string{"INJECTOR_SPEC": okSpec}, wantErr: []string{"INJECTOR_DIR is required"}},
		{name: "dir is root", env: with(map[string]string{"INJECTOR_DIR": "/"}), wantErr: []string{"INJECTOR_DIR", "file system root"}},
		{name: "dir is //", env: with(map[string]string{"INJECTOR_DIR": "//"}), wantErr: []string{"INJECTOR_DIR", "file system root"}},
		{name: "dir is /.", env: with(map[string]string{"INJECTOR_DIR": "/."}), wantErr: []string{"INJECTOR_DIR", "file system root"}},
		{name: "dir is /tmp/..", env: with(map[string]string{"INJECTOR_DIR": "/tmp/.."}), wantErr: []string{"INJECTOR_DIR", "file system root"}},
		{name: "relative dir", env: with(map[string]string{"INJECTOR_DIR": "secrets"}), wantErr: []string{"INJECTOR_DIR", "absolute"}},
		{name: "dot dir", env: with(map[string]string{"INJECTOR_DIR": "."}), wantErr: []string{"INJECTOR_DIR", "absolute"}},
		{name: "no spec", env: map[string]string{"INJECTOR_DIR": "/s"}, wantErr: []string{"exactly one"}},
		{name: "both specs", env: with(map[string]string{"INJECTOR_SPEC_FILE": "/f"}), wantErr: []string{"exactly one"}},
		{name: "spec too large", env: with(map[string]string{"INJECTOR_SPEC": strings.Repeat(" ", MaxSpecBytes+1)}), wantErr: []string{"INJECTOR_SPEC is 1048577 bytes"}},
		{name: "mode not octal", env: with(map[string]string{"INJECTOR_FILE_MODE": "0999"}), wantErr: []string{"INJECTOR_FILE_MODE", "octal"}},
		{name: "mode too wide", env: with(map[string]string{"INJECTOR_FILE_MODE": "17777"}), wantErr: []string{"INJECTOR_FILE_MODE", "octal"}},
		{name: "mode setuid", env: with(map[string]string{"INJECTOR_FILE_MODE": "4400"}), wantErr: []string{"INJECTOR_FILE_MODE", "setuid"}},
		{name: "mode sticky", env: with(map[string]string{"INJECTOR_FILE_MODE": "1600"}), wantErr: []string{"INJECTOR_FILE_MODE", "sticky"}},
		{name: "mode other write", env: with(map[string]string{"INJECTOR_FILE_MODE": "0602"}), wantErr: []string{"INJECTOR_FILE_MODE", "write"}},
		{name: "mode 0666", env: with(map[string]string{"INJECTOR_FILE_MODE": "0666"}), wantErr: []string{"INJECTOR_FILE_MODE", "write"}},
		{name: "mode 0777", env: with(map[string]string{"INJECTOR_FILE_MODE": "0777"}), wantErr: []string{"INJECTOR_FILE_MODE", "write"}},
		{name: "mode 0000", env: with(map[string]string{"INJECTOR_FILE_MODE": "0000"}), wantErr: []string{"INJECTOR_FILE_MODE", "owner must be able to read"}},
		{name: "mode 0200", env: with(map[string]string{"INJECTOR_FILE_MODE": "0200"}), wantErr: []string{"INJECTOR_FILE_MODE", "owner must be able to read"}},
		{name: "bad timeout", env: with(map[string]string{"INJECTOR_TIMEOUT": "-1s"}), wantErr: []string{"INJECTOR_TIMEOUT", "positive"}},
		{name: "timeout without unit", env: with(map[string]string{"INJECTOR_TIMEOUT": "60"}), wantErr: []string{"INJECTOR_TIMEOUT"}},
		{name: "uid -2", env: with(map[string]string{"INJECTOR_UID": "-2"}), wantErr: []string{"INJECTOR_UID", "-1 (leave as is) or an id from 0 to 4294967294"}},
		{name: "uid 2^32-1", env: with(map[string]string{"INJECTOR_UID": "4294967295"}), wantErr: []string{"INJECTOR_UID"}},
		{name: "uid 2^32", env: with(map[string]string{"INJECTOR_UID": "4294967296"}), wantErr: []string{"INJECTOR_UID"}},
		{name: "gid 2^64", env: with(map[string]string{"INJECTOR_GID": "18446744073709551616"}), wantErr: []string{"INJECTOR_GID"}},
		{name: "uid hex", env: with(map[string]string{"INJECTOR_UID": "0x10"}), wantErr: []string{"INJECTOR_UID"}},
		{name: "uid with space", env: with(map[string]string{"INJECTOR_UID": " 1"}), wantErr: []string{"INJECTOR_UID"}},
		{name: "bad log format", env: with(map[string]string{"INJECTOR_LOG_FORMAT": "xml"}), wantErr: []string{"INJECTOR_LOG_FORMAT", "text or json"}},
		{name: "bad path style", env: with(map[string]string{"INJECTOR_S3_PATH_STYLE": "yes please"}), wantErr: []string{"INJECTOR_S3_PATH_STYLE"}},
		{name: "bad max bytes", env: with(map[string]string{"INJECTOR_MAX_VALUE_BYTES": "0"}), wantErr: []string{"INJECTOR_MAX_VALUE_BYTES", "positive"}},
		{name: "bad concurrency", env: with(map[string]string{"INJECTOR_CONCURRENCY": "0"}), wantErr: []string{"INJECTOR_CONCURRENCY", "1 to 64"}},
		{name: "every error at once", env: map[string]string{"INJECTOR_DIR": "/", "INJECTOR_UID": "4294967296", "INJECTOR_FILE_MODE": "0666"},
			wantErr: []string{"INJECTOR_DIR", "INJECTOR_UID", "INJECTOR_FILE_MODE", "INJECTOR_SPEC"}},
		{name: "bad secrets batch", env: with(map[string]string{"INJECTOR_SECRETS_BATCH": "sometimes"}), wantErr: []string{"INJECTOR_SECRETS_BATCH", "auto, always or never"}},
		{name: "bad ssm path max", env: with(map[string]string{"INJECTOR_SSM_PATH_MAX": "0"}), wantErr: []string{"INJECTOR_SSM_PATH_MAX"}},
		{name: "batch and path max", env: with(map[string]string{"INJECTOR_SECRETS_BATCH": "never", "INJECTOR_SSM_PATH_MAX": "5000"}),
			check: func(t *testing.T, s Settings) {
				if s.SSMPathMax.N != 5000 || s.SecretsBatch.Mode != "never" {
					t.Errorf("settings = %+v", s)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parse(t, tt.env)
			if len(tt.wantErr) > 0 {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("err = %v, want ErrConfig", err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
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

func TestParseFileModeAllowed(t *testing.T) {
	for _, m := range []string{"0400", "0440", "0444", "0600", "0640", "400", "0500", "0755"} {
		got, err := ParseFileMode(m)
		want, _ := strconv.ParseUint(m, 8, 32)
		if err != nil || uint64(got) != want {
			t.Errorf("ParseFileMode(%s) = %o, %v", m, got, err)
		}
	}
}

func TestLoad(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "INJECTOR_") {
			t.Setenv(k, "")
		}
	}
	t.Setenv("INJECTOR_DIR", "/s")
	t.Setenv("INJECTOR_SPEC", okSpec)
	t.Setenv("INJECTOR_UID", "4294967296")
	if _, err := Load(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "INJECTOR_UID") {
		t.Fatalf("Load err = %v", err)
	}
}

// FuzzSettings checks the settings parser: it never panics, every error names
// a setting, and what it accepts keeps every rule.
func FuzzSettings(f *testing.F) {
	f.Add("/s", "-1", "-1", "0400", "60s", "16777216", "8")
	f.Add("/", "4294967295", "4294967296", "0666", "0", "-1", "65")
	f.Add("relative", "0", "4294967294", "4755", "1ns", "1", "1")
	f.Add("//.", "+7", "0x10", "0200", "-1s", "99999999999999999999", "0")
	f.Fuzz(func(t *testing.T, dir, uid, gid, mode, timeout, maxBytes, concurrency string) {
		if strings.Contains(dir+uid+gid+mode+timeout+maxBytes+concurrency, "\x00") {
			t.Skip("an environment variable cannot hold a NUL byte")
		}
		s, err := parse(t, map[string]string{
			"INJECTOR_DIR": dir, "INJECTOR_SPEC": okSpec, "INJECTOR_UID": uid, "INJECTOR_GID": gid, "INJECTOR_FILE_MODE": mode,
			"INJECTOR_TIMEOUT": timeout, "INJECTOR_MAX_VALUE_BYTES": maxBytes, "INJECTOR_CONCURRENCY": concurrency,
		})
		if err != nil {
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "INJECTOR_") {
				t.Fatalf("error does not wrap ErrConfig or name a setting: %v", err)
			}
			return
		}
		for _, id := range []int{s.UID.N, s.GID.N} {
			if id < -1 || id > MaxID {
				t.Fatalf("id %d accepted", id)
			}
		}
		m := s.FileMode.Mode
		if m&^0o777 != 0 || m&0o022 != 0 || m&0o400 == 0 {
			t.Fatalf("mode %o accepted", m)
		}
		if !filepath.IsAbs(s.Dir.Path) || filepath.Clean(s.Dir.Path) == "/" {
			t.Fatalf("dir %q accepted", s.Dir.Path)
		}
		if s.Timeout.D <= 0 || s.MaxValueBytes.N <= 0 || s.Concurrency.N < 1 || s.Concurrency.N > MaxConcurrency {
			t.Fatalf("settings %+v accepted", s)
		}
	})
}

// Load reads every setting Parse knows from the process environment.
func TestLoadReadsEverySetting(t *testing.T) {
	vars := map[string]string{
		"INJECTOR_DIR": "/secrets", "INJECTOR_SPEC": okSpec, "INJECTOR_TIMEOUT": "7s", "INJECTOR_FILE_MODE": "0440",
		"INJECTOR_UID": "4294967294", "INJECTOR_GID": "0", "INJECTOR_LOG_FORMAT": "json", "INJECTOR_S3_PATH_STYLE": "true",
		"INJECTOR_MAX_VALUE_BYTES": "99", "INJECTOR_CONCURRENCY": "3",
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	t.Setenv("INJECTOR_SPEC_FILE", "")
	got, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	want, err := parse(t, vars)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Load() = %+v, want %+v", got, want)
	}
	t.Setenv("INJECTOR_UID", "4294967295")
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), "INJECTOR_UID") {
		t.Errorf("Load accepted UID 4294967295: %v", err)
	}
}

// Only the prefixed variables are read: DIR or TIMEOUT in the environment
// are someone else's.
func TestLoadIgnoresUnprefixed(t *testing.T) {
	for _, v := range Variables() {
		if !strings.HasPrefix(v.Name, Prefix+"_") {
			t.Fatalf("setting %q lacks the prefix %s_", v.Name, Prefix)
		}
		t.Setenv(v.Name, "")
		os.Unsetenv(v.Name)
		t.Setenv(strings.TrimPrefix(v.Name, Prefix+"_"), "bogus")
	}
	t.Setenv("INJECTOR_DIR", "/secrets")
	t.Setenv("INJECTOR_SPEC", okSpec)
	s, err := Load()
	if err != nil {
		t.Fatalf("unprefixed variables were read: %v", err)
	}
	if s.Timeout.D != 60*time.Second || s.UID.N != -1 {
		t.Errorf("settings %+v", s)
	}
}

// An error of envconfig's own never shows the value it could not take:
// its ParseError's text does.
func TestProcessErrorHidesTheValue(t *testing.T) {
	pe := &envconfig.ParseError{KeyName: "INJECTOR_X", FieldName: "X", TypeName: "int", Value: "tok-never-shown", Err: errors.New("invalid syntax")}
	err := processError(fmt.Errorf("wrapped: %w", pe))
	if !errors.Is(err, ErrConfig) || strings.Contains(err.Error(), "tok-never-shown") || err.Error() != "configuration error: INJECTOR_X: invalid syntax" {
		t.Errorf("err = %v", err)
	}
}

// Every setting is a field of Settings whose type decodes and checks its
// own text (plain strings excepted, which take any text and have no
// default), and the required one is last, so that envconfig reads every
// other before it stops at a missing one.
func TestSettingsFields(t *testing.T) {
	st := reflect.TypeFor[Settings]()
	for i := range st.NumField() {
		f := st.Field(i)
		name := f.Tag.Get("envconfig")
		if name == "" {
			t.Errorf("field %s has no envconfig tag", f.Name)
			continue
		}
		_, decodes := reflect.New(f.Type).Interface().(envconfig.Decoder)
		if !decodes && (f.Type.Kind() != reflect.String || f.Tag.Get("default") != "") {
			t.Errorf("%s (%s) is neither a Decoder nor a plain string without a default", name, f.Type)
		}
		if f.Tag.Get("required") == "true" && i != st.NumField()-1 {
			t.Errorf("%s is required but not the last field", name)
		}
	}
	if v := Variables(); v[0].Name != "INJECTOR_DIR" || !v[0].Required || len(v) != st.NumField() {
		t.Errorf("Variables() = %+v", v)
	}
}

// A Decoder given "" leaves the zero value and refuses nothing: Load gives
// a variable set to "" its default, as envconfig does to an unset one.
func TestDecodeEmpty(t *testing.T) {
	var s Settings
	v := reflect.ValueOf(&s).Elem()
	for i := range v.NumField() {
		if d, ok := v.Field(i).Addr().Interface().(envconfig.Decoder); ok {
			if err := d.Decode(""); err != nil {
				t.Errorf("%s: Decode(\"\") = %v", v.Type().Field(i).Name, err)
			}
		}
	}
	if s != (Settings{}) {
		t.Errorf("Decode(\"\") set %+v", s)
	}
}

// BenchmarkLoad reads a refresh-mode environment with most settings given,
// as a run starts.
func BenchmarkLoad(b *testing.B) {
	vars := map[string]string{
		"INJECTOR_DIR": "/secrets", "INJECTOR_SPEC": okSpec, "INJECTOR_TIMEOUT": "7s", "INJECTOR_FILE_MODE": "0440",
		"INJECTOR_UID": "1000", "INJECTOR_GID": "", "INJECTOR_LOG_FORMAT": "json", "INJECTOR_CONCURRENCY": "8",
		"INJECTOR_REFRESH_INTERVAL": "1m", "INJECTOR_NOTIFY_SIGNAL": "HUP", "INJECTOR_NOTIFY_PROCESS": "nginx",
	}
	for _, v := range Variables() {
		b.Setenv(v.Name, "")
		os.Unsetenv(v.Name)
	}
	for k, v := range vars {
		b.Setenv(k, v)
	}
	for b.Loop() {
		if _, err := Load(); err != nil {
			b.Fatal(err)
		}
	}
}

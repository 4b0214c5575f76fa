package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const okSpec = `[{"from":"ssm:/a","path":"a"}]`

// loadCase is one environment for Load: the error it must give, or a check
// of the settings.
type loadCase struct {
	name    string
	env     map[string]string
	wantErr string
	check   func(t *testing.T, s Settings)
}

func TestLoad(t *testing.T) {
	runLoadCases(t, []loadCase{
		{name: "defaults", env: map[string]string{"INJECTOR_DIR": "/s", "INJECTOR_SPEC": okSpec},
			check: func(t *testing.T, s Settings) {
				if s.FileMode != 0o400 || s.UID != -1 || s.GID != -1 || s.Timeout != 60*time.Second || s.LogFormat != "text" || s.Concurrency != 8 {
					t.Errorf("defaults = %+v", s)
				}
			}},
		{name: "all set", env: map[string]string{"INJECTOR_DIR": "/s", "INJECTOR_SPEC_FILE": "/f", "INJECTOR_FILE_MODE": "0440",
			"INJECTOR_UID": "1000", "INJECTOR_GID": "2000", "INJECTOR_TIMEOUT": "5s", "INJECTOR_LOG_FORMAT": "json"},
			check: func(t *testing.T, s Settings) {
				if fs.FileMode(s.FileMode) != 0o440 || s.UID != 1000 || s.GID != 2000 || s.Timeout != 5*time.Second || s.LogFormat != "json" || s.SpecFile != "/f" {
					t.Errorf("settings = %+v", s)
				}
			}},
		{name: "no dir", env: map[string]string{"INJECTOR_SPEC": okSpec}, wantErr: "DIR"},
		{name: "no spec", env: map[string]string{"INJECTOR_DIR": "/s"}, wantErr: "exactly one"},
		{name: "both specs", env: map[string]string{"INJECTOR_DIR": "/s", "INJECTOR_SPEC": okSpec, "INJECTOR_SPEC_FILE": "/f"}, wantErr: "exactly one"},
		{name: "mode not octal", env: map[string]string{"INJECTOR_DIR": "/s", "INJECTOR_SPEC": okSpec, "INJECTOR_FILE_MODE": "0999"}, wantErr: "octal"},
		{name: "mode too wide", env: map[string]string{"INJECTOR_DIR": "/s", "INJECTOR_SPEC": okSpec, "INJECTOR_FILE_MODE": "4755"}, wantErr: "octal"},
		{name: "bad timeout", env: map[string]string{"INJECTOR_DIR": "/s", "INJECTOR_SPEC": okSpec, "INJECTOR_TIMEOUT": "-1s"}, wantErr: "positive"},
		{name: "bad uid", env: map[string]string{"INJECTOR_DIR": "/s", "INJECTOR_SPEC": okSpec, "INJECTOR_UID": "-2"}, wantErr: "-1 or an id"},
		{name: "bad log format", env: map[string]string{"INJECTOR_DIR": "/s", "INJECTOR_SPEC": okSpec, "INJECTOR_LOG_FORMAT": "xml"}, wantErr: "text or json"},
		{name: "bad concurrency", env: map[string]string{"INJECTOR_DIR": "/s", "INJECTOR_SPEC": okSpec, "INJECTOR_CONCURRENCY": "0"}, wantErr: "1 to 64"},
	})
}

func runLoadCases(t *testing.T, tests []loadCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			s, err := Load()
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

func TestLoadPlan(t *testing.T) {
	file := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(file, []byte(okSpec), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, s := range []Settings{{Spec: okSpec}, {SpecFile: file}} {
		p, err := s.LoadPlan()
		if err != nil || len(p.Outputs) != 1 {
			t.Errorf("LoadPlan(%+v) = %+v, %v", s, p, err)
		}
	}
	for _, s := range []Settings{{SpecFile: file + ".missing"}, {Spec: `[{"from":"ssm:/a"}]`}, {Spec: `nope`}} {
		if _, err := s.LoadPlan(); !errors.Is(err, ErrConfig) {
			t.Errorf("LoadPlan(%+v) err = %v, want ErrConfig", s, err)
		}
	}
}

func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "INJECTOR_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

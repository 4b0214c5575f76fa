package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// goldenEnvs are environments for the settings reader: every setting with
// valid, invalid and empty values, alone and together.
func goldenEnvs() []map[string]string {
	values := map[string][]string{
		"DIR":              {"", "/s", "/s/", "/", "//", "/.", "/tmp/..", "secrets", ".", " /x", "/a b", "/x/../y"},
		"SPEC":             {"", okSpec, "nope", strings.Repeat(" ", 1<<20), strings.Repeat(" ", 1<<20+1)},
		"SPEC_FILE":        {"", "/f", "relative.json"},
		"TIMEOUT":          {"", "60s", "1ns", "0", "0s", "-1s", "60", "abc", " 5s", "1h", "9999999h"},
		"FILE_MODE":        {"", "0400", "400", "0440", "0444", "0600", "0640", "0500", "0755", "0999", "17777", "4400", "1600", "2400", "0602", "0620", "0666", "0777", "0000", "0200", "abc", "-1", "0o400", "+400", " 400", "0x100"},
		"UID":              {"", "-1", "0", "1000", "4294967294", "4294967295", "4294967296", "18446744073709551616", "-2", "0x10", " 1", "+7", "abc", "01", "1e3"},
		"GID":              {"", "-1", "0", "4294967294", "4294967295", "-2", "0x10"},
		"LOG_FORMAT":       {"", "text", "json", "xml", "JSON", " text"},
		"S3_PATH_STYLE":    {"", "true", "false", "1", "0", "t", "F", "TRUE", "True", "yes please", "yes", "2"},
		"MAX_VALUE_BYTES":  {"", "1", "1024", "0", "-1", "abc", "9223372036854775807", "9223372036854775808", "0x10", "1e3", " 1"},
		"CONCURRENCY":      {"", "1", "32", "64", "65", "0", "-1", "abc", "0x10", "99999999999999999999"},
		"SECRETS_BATCH":    {"", "auto", "always", "never", "sometimes", "AUTO", " auto"},
		"SSM_PATH_MAX":     {"", "1", "5000", "0", "-1", "abc", "0x10", "99999999999999999999"},
		"REFRESH_INTERVAL": {"", "30s", "1s", "999ms", "0s", "-1m", "5", "soon"},
		"MAX_STALENESS":    {"", "2m", "29s", "30s", "soon", "-1s"},
		"NOTIFY_URL": {"", "http://127.0.0.1:8080/-/reload", "http://localhost:9/x", "http://[::1]:9/x", "http://app.internal:9/x?token=t",
			"http://example.com/reload", "http://10.0.0.1/reload", "https://127.0.0.1/reload", "127.0.0.1:80", "http://u:p@127.0.0.1/",
			"http://u@localhost/#frag", "::", "http://%zz", "http://127.0.0.1/?q=secret#f"},
		"NOTIFY_SIGNAL":   {"", "hup", "HUP", "SIGHUP", "sigusr1", " term ", "SIGKILL", "9", "SIG"},
		"NOTIFY_PID_FILE": {"", "/run/app.pid", "app.pid"},
		"NOTIFY_PROCESS":  {"", "nginx", "/usr/bin/app", "a/b"},
	}
	base := map[string]string{"INJECTOR_DIR": "/s", "INJECTOR_SPEC": okSpec}
	refresh := map[string]string{"INJECTOR_DIR": "/s", "INJECTOR_SPEC": okSpec, "INJECTOR_REFRESH_INTERVAL": "30s"}
	signal := map[string]string{"INJECTOR_DIR": "/s", "INJECTOR_SPEC": okSpec, "INJECTOR_REFRESH_INTERVAL": "30s",
		"INJECTOR_NOTIFY_SIGNAL": "HUP", "INJECTOR_NOTIFY_PROCESS": "app"}
	plus := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out["INJECTOR_"+kv[i]] = kv[i+1]
		}
		return out
	}
	envs := []map[string]string{{}, base, refresh, signal}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range values {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		for _, v := range values[name] {
			envs = append(envs, plus(base, name, v), plus(refresh, name, v), plus(signal, name, v), plus(nil, name, v))
		}
	}
	// Everything empty, everything wrong, and pairs of wrong values.
	empty, wrong := map[string]string{}, map[string]string{}
	for _, name := range names {
		empty["INJECTOR_"+name] = ""
		wrong["INJECTOR_"+name] = values[name][len(values[name])-1]
	}
	envs = append(envs, empty, wrong, plus(empty, "DIR", "/s"), plus(wrong, "REFRESH_INTERVAL", ""))
	for i, a := range names {
		b := names[(i+1)%len(names)]
		c := names[(i+5)%len(names)]
		envs = append(envs,
			plus(nil, a, values[a][len(values[a])-1], b, values[b][len(values[b])-1]),
			plus(base, a, values[a][len(values[a])-1], b, values[b][len(values[b])-1], c, values[c][len(values[c])-2]),
			plus(refresh, a, values[a][len(values[a])-2], c, values[c][len(values[c])-1]))
	}
	envs = append(envs,
		map[string]string{"INJECTOR_DIR": "/", "INJECTOR_UID": "4294967296", "INJECTOR_FILE_MODE": "0666"},
		plus(refresh, "NOTIFY_SIGNAL", "HUP"),
		plus(refresh, "NOTIFY_SIGNAL", "HUP", "NOTIFY_PROCESS", "a", "NOTIFY_PID_FILE", "/p"),
		plus(refresh, "NOTIFY_PROCESS", "app", "NOTIFY_PID_FILE", "/p"),
		plus(refresh, "NOTIFY_SIGNAL", "KILL", "NOTIFY_PROCESS", "/a", "NOTIFY_URL", "https://x/?t=1", "MAX_STALENESS", "1s", "REFRESH_INTERVAL", "10ms"),
		plus(base, "MAX_STALENESS", "1m", "NOTIFY_URL", "x", "NOTIFY_SIGNAL", "HUP", "NOTIFY_PID_FILE", "/p", "NOTIFY_PROCESS", "p"),
		plus(base, "MAX_STALENESS", "", "NOTIFY_URL", "", "NOTIFY_SIGNAL", "", "NOTIFY_PID_FILE", "", "NOTIFY_PROCESS", ""),
		plus(base, "SPEC", strings.Repeat(" ", 1<<20+1), "SPEC_FILE", "/f"),
		plus(nil, "SPEC", strings.Repeat(" ", 1<<20+1), "DIR", "rel"),
		map[string]string{"DIR": "/s", "SPEC": okSpec, "TIMEOUT": "x", "UID": "x"},
	)
	return envs
}

// setEnv makes vars the whole INJECTOR_ environment for the rest of the test.
func setEnv(t *testing.T, vars map[string]string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "INJECTOR_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	for _, v := range Variables() {
		t.Setenv(v.Name, "")
		os.Unsetenv(v.Name)
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
}

// view is what Load read, as plain values.
type view struct {
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
	RefreshInterval     time.Duration
	RefreshSet          bool
	MaxStaleness        time.Duration
	MaxStalenessSet     bool
	NotifyURL           string
	NotifySignal        syscall.Signal
	NotifySignalName    string
	NotifyPIDFile       string
	NotifyProcess       string
}

func viewOf(s Settings) view {
	return view{
		Dir: s.Dir.Path, Spec: shorten(s.Spec), SpecFile: s.SpecFile, Timeout: s.Timeout.D, FileMode: uint32(s.FileMode.Mode),
		UID: s.UID.N, GID: s.GID.N, LogFormat: s.LogFormat.Name, S3PathStyle: s.S3PathStyle.On, MaxValueBytes: s.MaxValueBytes.N,
		Concurrency: s.Concurrency.N, SecretsBatch: s.SecretsBatch.Mode, SSMPathMax: s.SSMPathMax.N,
		RefreshInterval: s.RefreshInterval.D, RefreshSet: s.RefreshInterval.Set, MaxStaleness: s.MaxStaleness.D, MaxStalenessSet: s.MaxStaleness.Set,
		NotifyURL: s.NotifyURL.URL, NotifySignal: s.NotifySignal.Sig, NotifySignalName: s.NotifySignal.Name,
		NotifyPIDFile: s.NotifyPIDFile, NotifyProcess: s.NotifyProcess,
	}
}

// shorten stands for a long value by its length.
func shorten(v string) string {
	if len(v) > 64 {
		return fmt.Sprintf("<%d bytes>", len(v))
	}
	return v
}

// outcome is one line of testdata/settings.golden: an environment and what
// Load made of it, the error word for word.
type outcome struct {
	Env      map[string]string `json:"env"`
	Err      string            `json:"err,omitempty"`
	Settings *view             `json:"settings,omitempty"`
}

func outcomeOf(vars map[string]string, s Settings, err error) outcome {
	o := outcome{Env: map[string]string{}}
	for k, v := range vars {
		o.Env[k] = shorten(v)
	}
	if err != nil {
		o.Err = err.Error()
	} else {
		v := viewOf(s)
		o.Settings = &v
	}
	return o
}

var update = flag.Bool("update", false, "rewrite testdata/settings.golden from what Load reads")

// TestGolden: Load reads every environment of goldenEnvs as
// testdata/settings.golden says: the same settings, or the same error, word
// for word. The file was made by the reader Settings replaced (its own
// map of strings and Parse); go test -run TestGolden -update rewrites it,
// for a change to be reviewed in its diff.
func TestGolden(t *testing.T) {
	const file = "testdata/settings.golden"
	var got bytes.Buffer
	enc := json.NewEncoder(&got)
	enc.SetEscapeHTML(false)
	for _, vars := range goldenEnvs() {
		t.Run("", func(t *testing.T) {
			setEnv(t, vars)
			s, err := Load()
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Errorf("env %q: err %v is not ErrConfig", vars, err)
			}
			if err := enc.Encode(outcomeOf(vars, s, err)); err != nil {
				t.Fatal(err)
			}
		})
	}
	if *update {
		if err := os.WriteFile(file, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	gotLines, wantLines := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
	if len(gotLines) != len(wantLines) {
		t.Fatalf("%d outcomes, %s has %d", len(gotLines), file, len(wantLines))
	}
	for i := range gotLines {
		if gotLines[i] != wantLines[i] {
			t.Errorf("line %d:\ngot  %s\nwant %s", i+1, gotLines[i], wantLines[i])
		}
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/ecs-secret-injector/injector/config"
	"github.com/ecs-secret-injector/injector/writer"
)

func runArgs(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args  []string
		usage string // the usage line(s) the help starts with
	}{
		{[]string{"--help"}, "Usage:\n  injector [inject]"},
		{[]string{"-h"}, "Usage:\n  injector [inject]"},
		{[]string{"-help"}, "Usage:\n  injector [inject]"},
		{[]string{"help"}, "Usage:\n  injector [inject]"},
		{[]string{"inject", "--help"}, "Usage: injector [inject]\n"},
		{[]string{"version", "--help"}, "Usage: injector version\n"},
		{[]string{"version", "-h"}, "Usage: injector version\n"},
		{[]string{"help", "version"}, "Usage: injector version\n"},
		{[]string{"validate", "--help"}, "Usage: injector validate [flags]\n"},
		{[]string{"validate", "--json", "-h"}, "Usage: injector validate [flags]\n"},
		{[]string{"policy", "--help"}, "Usage: injector policy [flags]\n"},
		{[]string{"help", "policy"}, "Usage: injector policy [flags]\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runArgs(t, tt.args...)
			if code != exitOK || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if !strings.HasPrefix(out, tt.usage) {
				t.Errorf("help does not start with %q:\n%s", tt.usage, out)
			}
			for _, v := range config.Variables() {
				if !strings.Contains(out, v.Name) {
					t.Errorf("help does not list %s", v.Name)
				}
			}
			for code, doc := range exitCodes() {
				if !strings.Contains(out, fmt.Sprintf("  %d  %s\n", code, doc)) {
					t.Errorf("help does not explain exit code %d", code)
				}
			}
		})
	}
}

func TestHelpListsEveryCommand(t *testing.T) {
	_, out, _ := runArgs(t, "--help")
	for _, c := range commands() {
		if !strings.Contains(out, "injector "+c.name) && !strings.Contains(out, "injector ["+c.name+"]") {
			t.Errorf("usage does not list %s", c.name)
		}
	}
}

func TestCommandErrors(t *testing.T) {
	// None of these may inject: the environment names a spec that would need
	// AWS, and no endpoint answers.
	t.Setenv("INJECTOR_DIR", t.TempDir())
	t.Setenv("INJECTOR_SPEC", `[{"from":"ssm:/a","path":"a"}]`)
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"help", "bogus"}, `unknown command "bogus"`},
		{[]string{"--version"}, `unknown command "--version"`},
		{[]string{"version", "extra"}, "takes no arguments"},
		{[]string{"inject", "extra"}, "takes no arguments"},
		{[]string{"validate", "extra"}, `unexpected argument "extra"`},
		{[]string{"validate", "--yaml"}, "flag provided but not defined: -yaml"},
		{[]string{"policy", "--account"}, "flag needs an argument: -account"},
		{[]string{"policy", "--region", "us-east-1", "x"}, `unexpected argument "x"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runArgs(t, tt.args...)
			if code != exitConfig {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitConfig, errOut)
			}
			if out != "" {
				t.Errorf("wrote to stdout: %q", out)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr does not say %q:\n%s", tt.wantErr, errOut)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	code, out, errOut := runArgs(t, "version")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	want := currentVersion()
	if out != fmt.Sprintf("version: %s\ncommit:  %s\ngo:      %s\n", want.Version, want.Commit, want.Go) {
		t.Errorf("output %q", out)
	}
	if want.Go != runtime.Version() {
		t.Errorf("go %q, want %q", want.Go, runtime.Version())
	}
}

func TestVersionOf(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified},
		}}
	}
	tests := []struct {
		name                string
		ldVersion, ldCommit string
		bi                  *debug.BuildInfo
		want                buildVersion
	}{
		{"ldflags win", "v1.2.3", "abc", vcs("def", "false"), buildVersion{"v1.2.3", "abc", "go1.99.1"}},
		{"checkout build", "", "", vcs("def", "false"), buildVersion{"(devel)", "def", "go1.99.1"}},
		{"dirty checkout", "", "", vcs("def", "true"), buildVersion{"(devel)", "def-dirty", "go1.99.1"}},
		{"go install module@version", "", "", &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "v1.4.0"}},
			buildVersion{"v1.4.0", "unknown", "go1.99.1"}},
		{"no build info", "", "", nil, buildVersion{"(devel)", "unknown", runtime.Version()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionOf(tt.ldVersion, tt.ldCommit, tt.bi); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestSettingsDocumented keeps the help and the documentation in step with
// the settings config reads: each has a description, a line in README.md's
// settings at a glance and one in docs/configuration.md.
func TestSettingsDocumented(t *testing.T) {
	docs := map[string][]byte{}
	for _, name := range []string{"README.md", filepath.Join("docs", "configuration.md")} {
		b, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		docs[name] = b
	}
	var help bytes.Buffer
	writeSettings(&help)
	for _, v := range config.Variables() {
		if v.Doc == "" {
			t.Errorf("%s has no description", v.Name)
		}
		for name, doc := range docs {
			if !bytes.Contains(doc, []byte("`"+v.Name+"`")) {
				t.Errorf("%s does not document %s", name, v.Name)
			}
		}
		if !strings.Contains(help.String(), v.Name) {
			t.Errorf("--help does not list %s", v.Name)
		}
	}
}

func TestWriteHint(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	denied := fmt.Errorf("%w: a: %w", writer.ErrWrite, fs.ErrPermission)
	hint := writeHint(denied, dir)
	for _, want := range []string{dir, "mode 0755", "owned by " + strconv.Itoa(os.Getuid()), "runs as " + strconv.Itoa(os.Geteuid())} {
		if !strings.Contains(hint, want) {
			t.Errorf("hint %q does not say %q", hint, want)
		}
	}
	for _, err := range []error{
		fmt.Errorf("%w: disk full", writer.ErrWrite),
		fs.ErrPermission, // not from the writer
	} {
		if hint := writeHint(err, dir); hint != "" {
			t.Errorf("writeHint(%v) = %q, want none", err, hint)
		}
	}
}

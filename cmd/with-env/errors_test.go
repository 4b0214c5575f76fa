package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Marks planted in hostile files: no message may contain one.
const (
	secretName  = "SECRETNAMEMARK"
	secretValue = "s3cretvaluemark"
)

// TestFailures: each way the helper can fail before the exec exits with
// its documented code and a message that names the file (and line), and
// never a name or value from a file.
func TestFailures(t *testing.T) {
	good := renderDotenv(t, map[string]string{secretName: secretValue})
	root := writeRoot(t, map[string][]byte{
		"good.env":             good,
		"sub/x.env":            good,
		"hostile/export.env":   []byte("export " + secretName + "='" + secretValue + "'\n"),
		"hostile/unquoted.env": []byte("A='1'\n" + secretName + "=" + secretValue + "\n"),
		"hostile/double.env":   []byte(secretName + "=\"" + secretValue + "\"\n"),
		"hostile/shell.env":    []byte("A='1'\nB='2\n3'\n" + secretName + "='" + secretValue + "'$(id)\n"),
		"hostile/nul.env":      []byte(secretName + "='" + secretValue + "\x00'\n"),
		"hostile/noeq.env":     []byte(secretName + secretValue + "\n"),
		"hostile/comment.env":  []byte("# " + secretValue + "\n"),
		"hostile/dup.env":      []byte(secretName + "='a'\n" + secretName + "='" + secretValue + "'\n"),
		"hostile/special.env":  []byte("UID='" + secretValue + "'\n"),
		"hostile/nonl.env":     []byte(secretName + "='" + secretValue + "'"),
		"hostile/unclosed.env": []byte(secretName + "='" + secretValue + "\n"),
		"notexec":              []byte("#!/bin/sh\n"),
		// Linux takes no environment string over 128 KiB.
		"huge.env": renderDotenv(t, map[string]string{secretName: strings.Repeat(secretValue, 200<<10/len(secretValue))}),
	})
	goodFile := filepath.Join(root, "good.env")

	// Layout the injector does not make.
	plainRoot := t.TempDir() // no ..data
	if err := os.WriteFile(filepath.Join(plainRoot, "app.env"), good, 0o600); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "outside.env")
	if err := os.WriteFile(outside, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "escape.env")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "planted.env"), good, 0o600); err != nil {
		t.Fatal(err)
	}
	gen, err := os.Readlink(filepath.Join(root, "..data"))
	if err != nil {
		t.Fatal(err)
	}
	// A link inside the generation, leading out of the root, behind the
	// injector's own top-level link.
	if err := os.Symlink(outside, filepath.Join(root, gen, "sub", "link.env")); err != nil {
		t.Fatal(err)
	}
	fifoRoot := writeRoot(t, map[string][]byte{"fifo.env": good})
	fifoGen, _ := os.Readlink(filepath.Join(fifoRoot, "..data"))
	fifo := filepath.Join(fifoRoot, fifoGen, "fifo.env")
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	if err := mkfifo(fifo); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	app := selfBin(t)
	tests := []struct {
		name    string
		args    []string
		code    int
		mention []string
	}{
		{"no arguments", nil, exitUsage, []string{"no --env-file"}},
		{"no command", []string{"--env-file", goodFile}, exitUsage, []string{"no command"}},
		{"no command after --", []string{"--env-file", goodFile, "--"}, exitUsage, []string{"no command"}},
		{"no env file", []string{"--", app}, exitUsage, []string{"no --env-file"}},
		{"env file without name", []string{"--env-file"}, exitUsage, []string{"needs a file name"}},
		{"empty name", []string{"--env-file=", app}, exitUsage, []string{"empty file name"}},
		{"unknown option", []string{"--env", goodFile, app}, exitUsage, []string{`"--env"`}},

		{"missing file", []string{"--env-file", filepath.Join(root, "missing.env"), app}, exitNoInput, []string{"missing.env", "no such file"}},
		{"missing in subdirectory", []string{"--env-file", filepath.Join(root, "sub", "missing.env"), app}, exitNoInput, []string{"missing.env", "not in the current generation"}},
		{"missing, no root", []string{"--env-file", filepath.Join(dir, "none.env"), app}, exitNoInput, []string{"none.env", "has the injector run?"}},
		{"FIFO", []string{"--env-file", filepath.Join(fifoRoot, "fifo.env"), app}, exitNoInput, []string{"fifo.env", "not a regular file"}},

		{"not in an output root", []string{"--env-file", filepath.Join(plainRoot, "app.env"), app}, exitLayout, []string{"app.env", "not in an injector output root"}},
		{"link leaving the root", []string{"--env-file", filepath.Join(root, "escape.env"), app}, exitLayout, []string{"escape.env", "leads elsewhere"}},
		{"file planted in the root", []string{"--env-file", filepath.Join(root, "planted.env"), app}, exitLayout, []string{"planted.env", "not the injector's link"}},
		{"link inside the generation", []string{"--env-file", filepath.Join(root, "sub", "link.env"), app}, exitLayout, []string{"link.env", "symbolic link inside the generation"}},
		{"generation named directly", []string{"--env-file", filepath.Join(root, gen, "good.env"), app}, exitLayout, []string{"injector's own"}},
		{"the data link itself", []string{"--env-file", filepath.Join(root, "..data"), app}, exitLayout, []string{"..data link itself"}},

		{"export", []string{"--env-file", filepath.Join(root, "hostile", "export.env"), app}, exitSyntax, []string{"export.env: line 1:", "export"}},
		{"unquoted", []string{"--env-file", filepath.Join(root, "hostile", "unquoted.env"), app}, exitSyntax, []string{"unquoted.env: line 2:", "not single-quoted"}},
		{"double quoted", []string{"--env-file", filepath.Join(root, "hostile", "double.env"), app}, exitSyntax, []string{"line 1:", "not single-quoted"}},
		{"shell syntax after the value", []string{"--env-file", filepath.Join(root, "hostile", "shell.env"), app}, exitSyntax, []string{"shell.env: line 4:", "after the closing quote"}},
		{"NUL", []string{"--env-file", filepath.Join(root, "hostile", "nul.env"), app}, exitSyntax, []string{"line 1:", "NUL"}},
		{"no =", []string{"--env-file", filepath.Join(root, "hostile", "noeq.env"), app}, exitSyntax, []string{"line 1:", "NAME='value'"}},
		{"comment", []string{"--env-file", filepath.Join(root, "hostile", "comment.env"), app}, exitSyntax, []string{"line 1:", "comment"}},
		{"duplicate", []string{"--env-file", filepath.Join(root, "hostile", "dup.env"), app}, exitSyntax, []string{"line 2:", "of line 1 is set again"}},
		{"special name", []string{"--env-file", filepath.Join(root, "hostile", "special.env"), app}, exitSyntax, []string{"line 1:", "special shell variable"}},
		{"no final newline", []string{"--env-file", filepath.Join(root, "hostile", "nonl.env"), app}, exitSyntax, []string{"line 1:", "newline"}},
		{"unclosed", []string{"--env-file", filepath.Join(root, "hostile", "unclosed.env"), app}, exitSyntax, []string{"line 2:", "not closed"}},
		{"second file bad", []string{"--env-file", goodFile, "--env-file", filepath.Join(root, "hostile", "export.env"), app}, exitSyntax, []string{"export.env: line 1:"}},

		{"command not found", []string{"--env-file", goodFile, "no-such-command-here"}, exitNotFound, []string{"no-such-command-here", "not found"}},
		{"path not found", []string{"--env-file", goodFile, filepath.Join(dir, "nothing")}, exitNotFound, []string{"nothing", "no such file"}},
		{"not executable", []string{"--env-file", goodFile, filepath.Join(root, "notexec")}, exitCannotExec, []string{"notexec", "permission denied"}},
		{"directory", []string{"--env-file", goodFile, dir}, exitCannotExec, []string{"cannot be executed"}},
		{"value too large for execve", []string{"--env-file", filepath.Join(root, "huge.env"), app}, exitCannotExec, []string{"larger than execve accepts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runHelper(t, baseEnv("env"), tt.args...)
			t.Logf("exit %d: %s", r.code, r.stderr)
			if r.code != tt.code {
				t.Errorf("exit code %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q: the app ran or usage went to stdout", r.stdout)
			}
			if !strings.HasPrefix(r.stderr, "with-env: ") {
				t.Errorf("stderr %q does not begin with with-env:", r.stderr)
			}
			for _, m := range tt.mention {
				if !strings.Contains(r.stderr, m) {
					t.Errorf("stderr %q does not mention %q", r.stderr, m)
				}
			}
			for _, s := range []string{secretName, secretValue} {
				if strings.Contains(r.stderr, s) {
					t.Errorf("stderr %q contains a name or value from a file", r.stderr)
				}
			}
		})
	}
}

// TestPathLookupRules: a command found in PATH only relative to the
// current directory is refused, as os/exec does; without PATH nothing is
// found by name.
func TestPathLookupRules(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(selfBin(t), filepath.Join(dir, "the-app")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path string
	}{
		{"dot in PATH", "."},
		{"empty entry in PATH", ":/nonexistent"},
		{"no such directory", "/nonexistent"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := writeRoot(t, map[string][]byte{"path.env": renderDotenv(t, map[string]string{"PATH": tt.path})})
			cmd := helperCmd(t, dir, "--env-file", filepath.Join(root, "path.env"), "the-app")
			out, err := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); err == nil || code != exitNotFound {
				t.Errorf("exit %d, want %d: %s", code, exitNotFound, out)
			}
		})
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ecs-secret-injector/injector/formats"
	"github.com/ecs-secret-injector/injector/internal/dotenv"
	"github.com/ecs-secret-injector/injector/writer"
)

// childEnv makes the test binary act as the app the helper starts (a static
// program without a shell) instead of running tests; its value says how.
const childEnv = "WITHENV_TEST_CHILD"

// helperBin is the helper, built once by TestMain.
var helperBin string

func TestMain(m *testing.M) {
	if mode, ok := os.LookupEnv(childEnv); ok {
		os.Exit(child(mode))
	}
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "with-env-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	helperBin = filepath.Join(dir, "with-env")
	build := exec.Command("go", "build", "-o", helperBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building with-env: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// child is the app: "env" writes its environment NUL-terminated, "pid" its
// PID and parent's PID, "signal" waits for SIGTERM and exits 42 on it.
func child(mode string) int {
	switch mode {
	case "env":
		w := bufio.NewWriter(os.Stdout)
		for _, e := range os.Environ() {
			w.WriteString(e)
			w.WriteByte(0)
		}
		if err := w.Flush(); err != nil {
			return 1
		}
		return 0
	case "pid":
		fmt.Printf("%d %d %s\n", os.Getpid(), os.Getppid(), strings.Join(os.Args[1:], ","))
		return 0
	case "sigmask":
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return 1
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "SigBlk:") || strings.HasPrefix(l, "SigIgn:") {
				fmt.Println(l)
			}
		}
		return 0
	case "signal":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Printf("ready %d\n", os.Getpid())
		<-c
		fmt.Println("got SIGTERM")
		return 42
	}
	return 3
}

// selfBin is the test binary, the app the helper starts.
func selfBin(t testing.TB) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// baseEnv is the environment the helper (and bash) inherit.
func baseEnv(mode string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent", "LC_ALL=C", childEnv + "=" + mode, "PLAIN=inherited"}
}

// writeRoot writes files into a fresh output root with the injector's
// writer and returns the root.
func writeRoot(t testing.TB, files map[string][]byte) string {
	t.Helper()
	root := t.TempDir()
	rewrite(t, root, files)
	return root
}

func rewrite(t testing.TB, root string, files map[string][]byte) {
	t.Helper()
	if err := writeFiles(root, files); err != nil {
		t.Fatal(err)
	}
}

// writeFiles makes files the new generation of root.
func writeFiles(root string, files map[string][]byte) error {
	var fs []writer.File
	for _, name := range slices.Sorted(maps.Keys(files)) {
		fs = append(fs, writer.File{Path: name, Data: files[name]})
	}
	return writer.Write(context.Background(), root, fs, writer.Options{Mode: 0o600, UID: -1, GID: -1})
}

// renderDotenv is the injector's dotenv format of vars.
func renderDotenv(t testing.TB, vars map[string]string) []byte {
	t.Helper()
	obj, err := json.Marshal(vars)
	if err != nil {
		t.Fatal(err)
	}
	out, err := formats.RenderDotenv(obj)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// result is one run of the helper.
type result struct {
	code           int
	stdout, stderr string
}

// runHelper runs the helper with args and env.
func runHelper(t testing.TB, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(helperBin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running with-env: %v", err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// parseEnv splits NUL-terminated NAME=value entries.
func parseEnv(t testing.TB, out string) map[string]string {
	t.Helper()
	if out == "" {
		return map[string]string{}
	}
	if !strings.HasSuffix(out, "\x00") {
		t.Fatalf("environment output not NUL-terminated")
	}
	env := make(map[string]string)
	for _, e := range strings.Split(strings.TrimSuffix(out, "\x00"), "\x00") {
		name, value, ok := strings.Cut(e, "=")
		if !ok {
			t.Fatalf("environment entry without =")
		}
		if _, dup := env[name]; dup {
			t.Fatalf("%s twice in the environment", name)
		}
		env[name] = value
	}
	return env
}

// bashEnv is the environment bash gives the app after `set -a; . FILE`
// for each file, without the variables bash sets itself.
func bashEnv(t testing.TB, env []string, files ...string) map[string]string {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	script := `for f in "$@"; do set -a; . "$f"; set +a; done; exec "$APP"`
	cmd := exec.Command(bash, append([]string{"-c", script, "_"}, files...)...)
	cmd.Env = append(slices.Clone(env), "APP="+selfBin(t))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("bash: %v; stderr: %s", err, stderr.String())
	}
	got := parseEnv(t, stdout.String())
	for _, own := range []string{"PWD", "SHLVL", "_", "OLDPWD", "APP"} {
		delete(got, own)
	}
	return got
}

// adversarial are values the injector's dotenv output must carry byte for
// byte (as JSON strings: valid UTF-8).
func adversarial() map[string]string {
	var all strings.Builder
	for r := rune(1); r < 256; r++ {
		all.WriteRune(r)
	}
	return map[string]string{
		"ALL_RUNES_1_TO_255": all.String(),
		"EMPTY":              "",
		"PLAIN":              "from the file",
		"QUOTES":             `'"''"' it's`,
		"ONLY_QUOTE":         "'",
		"QUOTE_END":          "x'",
		"NEWLINES":           "line1\nline2\n\nline4\n",
		"ONLY_NEWLINE":       "\n",
		"CRLF":               "a\r\nb\r",
		"EQUALS":             "=a=b==",
		"DOLLAR":             "$HOME ${PATH} $(id) $((1+1)) $1 $@ $* $$",
		"BACKTICKS":          "`id` `echo pwned`",
		"BACKSLASHES":        `\ \\ \n \' \" \$ trailing\`,
		"SHELL_META":         "; & | < > ( ) { } ! # % * ? [a-z] ~",
		"UNICODE":            "pässwörd ✓ 密码 🔑 \u200b \ufeff",
		"PEM":                "-----BEGIN KEY-----\nMIIB+/=\n-----END KEY-----\n",
		"LONG":               strings.Repeat("long'value\n$x", 7000),
		"lower":              "ok",
	}
}

// TestInjectorOutputAgainstBash: the injector's dotenv files, written by
// its writer, give the app through the helper exactly the values they were
// rendered from, and exactly the environment bash gives after
// `set -a; . FILE` (every other inherited variable as it was).
func TestInjectorOutputAgainstBash(t *testing.T) {
	values := adversarial()
	second := map[string]string{"SECOND": "two", "PLAIN": "the later file wins"}
	root := writeRoot(t, map[string][]byte{
		"app.env":        renderDotenv(t, values),
		"more/extra.env": renderDotenv(t, second),
	})
	files := []string{filepath.Join(root, "app.env"), filepath.Join(root, "more", "extra.env")}
	for _, locale := range []string{"C", "C.UTF-8"} {
		t.Run(locale, func(t *testing.T) {
			env := baseEnv("env")
			env[2] = "LC_ALL=" + locale
			r := runHelper(t, env, "--env-file", files[0], "--env-file="+files[1], "--", selfBin(t))
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			got := parseEnv(t, r.stdout)
			want := parseEnv(t, strings.Join(env, "\x00")+"\x00")
			maps.Copy(want, values)
			maps.Copy(want, second)
			if !maps.Equal(got, want) {
				for k := range want {
					if got[k] != want[k] {
						t.Errorf("%s: helper gave %q, want %q", k, got[k], want[k])
					}
				}
				t.Fatalf("helper environment has %d variables, want %d", len(got), len(want))
			}
			if b := bashEnv(t, env, files...); !maps.Equal(b, got) {
				for k := range got {
					if b[k] != got[k] {
						t.Errorf("%s: bash gave %q, helper %q", k, b[k], got[k])
					}
				}
				t.Fatalf("bash environment has %d variables, helper's %d", len(b), len(got))
			}
		})
	}
}

// TestEveryByteAgainstBash: a file in the dotenv syntax whose values hold
// every byte 0x01-0xFF raw (not only valid UTF-8) gives the helper and bash
// the same bytes.
func TestEveryByteAgainstBash(t *testing.T) {
	var file []byte
	want := map[string]string{}
	var all []byte
	for c := 1; c < 256; c++ {
		all = append(all, byte(c))
		name := fmt.Sprintf("B_%02X", c)
		value := string([]byte{'<', byte(c), '>', byte(c)})
		want[name] = value
		file = dotenv.AppendAssignment(file, name, []byte(value))
	}
	want["ALL"] = string(all)
	file = dotenv.AppendAssignment(file, "ALL", all)
	root := writeRoot(t, map[string][]byte{"raw.env": file})
	path := filepath.Join(root, "raw.env")
	for _, locale := range []string{"C", "C.UTF-8"} {
		env := baseEnv("env")
		env[2] = "LC_ALL=" + locale
		r := runHelper(t, env, "--env-file", path, selfBin(t))
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		got := parseEnv(t, r.stdout)
		b := bashEnv(t, env, path)
		for k, w := range want {
			if got[k] != w {
				t.Errorf("LC_ALL=%s %s: helper gave %q, want %q", locale, k, got[k], w)
			}
			if b[k] != w {
				t.Errorf("LC_ALL=%s %s: bash gave %q, want %q", locale, k, b[k], w)
			}
		}
		if !maps.Equal(got, b) {
			t.Errorf("LC_ALL=%s: helper and bash environments differ", locale)
		}
	}
}

// TestExecSamePID: the app runs in the helper's process (execve), with the
// arguments given, and PATH lookup finds it by name.
func TestExecSamePID(t *testing.T) {
	root := writeRoot(t, map[string][]byte{"app.env": renderDotenv(t, map[string]string{"A": "1"})})
	bin := selfBin(t)
	t.Run("path", func(t *testing.T) {
		cmd := exec.Command(helperBin, "--env-file", filepath.Join(root, "app.env"), "--", bin, "--flag", "x y")
		checkSamePID(t, cmd, "--flag,x y")
	})
	t.Run("lookup in the new PATH", func(t *testing.T) {
		// The file sets PATH; the lookup uses it, as a shell would after
		// sourcing the file.
		dir := t.TempDir()
		if err := os.Symlink(bin, filepath.Join(dir, "the-app")); err != nil {
			t.Fatal(err)
		}
		root := writeRoot(t, map[string][]byte{"path.env": renderDotenv(t, map[string]string{"PATH": "/nonexistent:" + dir})})
		cmd := exec.Command(helperBin, "--env-file", filepath.Join(root, "path.env"), "the-app", "arg")
		checkSamePID(t, cmd, "arg")
	})
}

func checkSamePID(t *testing.T, cmd *exec.Cmd, wantArgs string) {
	t.Helper()
	cmd.Env = baseEnv("pid")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	want := fmt.Sprintf("%d %d %s\n", pid, os.Getpid(), wantArgs)
	if stdout.String() != want {
		t.Errorf("app printed %q, want %q (pid, parent pid, args)", stdout.String(), want)
	}
}

// TestSignalsReachApp: a signal sent to the helper's PID is the app's, and
// the app's exit code is the helper's.
func TestSignalsReachApp(t *testing.T) {
	root := writeRoot(t, map[string][]byte{"app.env": renderDotenv(t, map[string]string{"A": "1"})})
	cmd := exec.Command(helperBin, "--env-file", filepath.Join(root, "app.env"), "--", selfBin(t))
	cmd.Env = baseEnv("signal")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready "+strconv.Itoa(cmd.Process.Pid) {
		_ = cmd.Process.Kill()
		t.Fatalf("app printed %q, want ready and the helper's pid", lines.Text())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !lines.Scan() || lines.Text() != "got SIGTERM" {
		t.Errorf("app printed %q after SIGTERM", lines.Text())
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 42 {
		t.Errorf("exit code %d, want the app's 42", code)
	}
}

// TestSignalDispositions: the app starts with the signal mask the helper
// was started with, and with SIGHUP and SIGINT still ignored if they were
// (as nohup or a shell's trap leave them), as if started directly. (Other
// ignored signals a Go program takes over; see docs/exec.md.)
func TestSignalDispositions(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	root := writeRoot(t, map[string][]byte{"app.env": renderDotenv(t, map[string]string{"A": "1"})})
	start := func(viaHelper bool) string {
		t.Helper()
		script := `trap '' HUP INT; exec "$@"`
		args := []string{"-c", script, "_"}
		if viaHelper {
			args = append(args, helperBin, "--env-file", filepath.Join(root, "app.env"), "--")
		}
		cmd := exec.Command(bash, append(args, selfBin(t))...)
		cmd.Env = baseEnv("sigmask")
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	direct, via := start(false), start(true)
	if !strings.Contains(direct, "SigIgn:\t0000000000000003") {
		t.Fatalf("started directly the app has %q; the test expects SIGHUP and SIGINT ignored", direct)
	}
	if via != direct {
		t.Errorf("through the helper the app has\n%s\nwant, as started directly,\n%s", via, direct)
	}
}

// TestHelp: --help prints the usage on stdout and exits 0.
func TestHelp(t *testing.T) {
	r := runHelper(t, nil, "--help")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: with-env") || r.stderr != "" {
		t.Errorf("got %+v", r)
	}
}

// helperCmd is the helper with args, run in dir, starting the app in "pid"
// mode.
func helperCmd(t testing.TB, dir string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(helperBin, args...)
	cmd.Dir = dir
	cmd.Env = baseEnv("pid")
	return cmd
}

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o600) }

// TestEnvZeroAgainstBash: the same comparison with coreutils' `env -0` as
// the app on both sides, `set -a; . FILE; env -0` against
// `with-env --env-file FILE env -0`.
func TestEnvZeroAgainstBash(t *testing.T) {
	bash, err1 := exec.LookPath("bash")
	envBin, err2 := exec.LookPath("env")
	if err1 != nil || err2 != nil {
		t.Skip("bash or env not installed")
	}
	root := writeRoot(t, map[string][]byte{"app.env": renderDotenv(t, adversarial())})
	file := filepath.Join(root, "app.env")
	base := []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "PLAIN=inherited"}
	r := runHelper(t, base, "--env-file", file, "--", envBin, "-0")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	cmd := exec.Command(bash, "-c", `set -a; . "$1"; set +a; exec "$2" -0`, "_", file, envBin)
	cmd.Env = base
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	b := parseEnv(t, string(out))
	for _, own := range []string{"PWD", "SHLVL", "_", "OLDPWD"} {
		delete(b, own)
	}
	got := parseEnv(t, r.stdout)
	if !maps.Equal(got, b) {
		for k := range b {
			if got[k] != b[k] {
				t.Errorf("%s: helper gave %q, bash %q", k, got[k], b[k])
			}
		}
		t.Fatalf("environments differ: %d variables through the helper, %d through bash", len(got), len(b))
	}
	if want := adversarial(); got["ALL_RUNES_1_TO_255"] != want["ALL_RUNES_1_TO_255"] || got["LONG"] != want["LONG"] {
		t.Error("env -0 did not print the values written")
	}
}

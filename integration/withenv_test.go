package integration_test

// The exec helper (cmd/with-env) against a real injector run: a static app
// without a shell, started through the helper, sees exactly the values the
// injector fetched, from one generation, also while refresh mode switches
// generations under it.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// helperBins are the helper and the test app, built once.
var helperBins struct {
	once        sync.Once
	helper, app string
	err         error
}

// withEnvBins builds cmd/with-env and the static test app
// (testdata/printenv) once.
func withEnvBins(t testing.TB) (helper, app string) {
	t.Helper()
	b := &helperBins
	b.once.Do(func() {
		b.helper, b.app = filepath.Join(h.dir, "with-env"), filepath.Join(h.dir, "printenv")
		for bin, pkg := range map[string]string{b.helper: "../cmd/with-env", b.app: "./testdata/printenv"} {
			cmd := exec.Command("go", "build", "-o", bin, pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.err = fmt.Errorf("building %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.helper, b.app
}

// appEnv starts the app through the helper with the env files and returns
// the environment it saw, less the inherited base.
func appEnv(t testing.TB, base []string, files ...string) (map[string]string, error) {
	t.Helper()
	helper, app := withEnvBins(t)
	var args []string
	for _, f := range files {
		args = append(args, "--env-file", f)
	}
	cmd := exec.Command(helper, append(args, "--", app)...)
	cmd.Env = base
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("with-env: %v: %s", err, stderr.String())
	}
	env := map[string]string{}
	for _, e := range strings.Split(strings.TrimSuffix(stdout.String(), "\x00"), "\x00") {
		name, value, _ := strings.Cut(e, "=")
		if _, dup := env[name]; dup {
			return nil, fmt.Errorf("%s twice in the app's environment", name)
		}
		env[name] = value
	}
	for _, e := range base {
		name, value, _ := strings.Cut(e, "=")
		if env[name] == value {
			delete(env, name)
		}
	}
	return env, nil
}

// TestWithEnvRealRun: an SSM path of 20 parameters and a JSON secret (and
// one of its keys, a nested object) as dotenv files; the app started
// through the helper sees exactly their values, and after each of several
// rotations in refresh mode exactly the new ones, never a mix of two
// generations while generations switch under it.
func TestWithEnvRealRun(t *testing.T) {
	t.Parallel()
	p := uniq()
	path := "/" + p + "/app/"
	wantPath := map[string]string{}
	for i := range 20 {
		v := fmt.Sprintf("param %02d: it's \"quoted\"\nsecond line $HOME `id` \\ ✓", i)
		putParameter(t, fmt.Sprintf("%sgroup-%d/key.%02d", path, i%3, i), v, ssmtypes.ParameterTypeSecureString)
		wantPath[fmt.Sprintf("GROUP_%d_KEY_%02d", i%3, i)] = v
	}
	secretAt := func(n int) (string, map[string]string, map[string]string) {
		mark := fmt.Sprintf("gen-%03d", n)
		inner := map[string]string{"INNER_MARK": mark, "INNER_PEM": "-----BEGIN KEY-----\n" + mark + "'\n-----END KEY-----\n"}
		top := map[string]any{"MARK": mark, "PASSWORD": "p'a\"s$s\n" + mark, "EMPTY": "", "inner": inner}
		b, err := json.Marshal(top)
		if err != nil {
			t.Fatal(err)
		}
		innerJSON, _ := json.Marshal(inner)
		return string(b), map[string]string{"MARK": mark, "PASSWORD": "p'a\"s$s\n" + mark, "EMPTY": "", "inner": string(innerJSON)}, inner
	}
	value, wantTop, wantInner := secretAt(0)
	arn := putSecret(t, p+"/app", value)
	spec := specJSON(t,
		map[string]any{"from": "ssm:" + path, "path": "path.env", "format": "dotenv"},
		map[string]any{"from": arn, "path": "app.env", "format": "dotenv"},
		map[string]any{"from": arn + ":inner::", "path": "env/inner.env", "format": "dotenv"},
	)
	dir := t.TempDir()
	r := startRefresh(t, spec, dir)
	r.published(t, 1)
	base := []string{"PATH=/nonexistent", "MARK=inherited", "KEPT=inherited"}
	files := []string{filepath.Join(dir, "path.env"), filepath.Join(dir, "app.env"), filepath.Join(dir, "env", "inner.env")}
	want := func(top, inner map[string]string) map[string]string {
		w := maps.Clone(wantPath)
		maps.Copy(w, top)
		maps.Copy(w, inner)
		return w
	}
	got, err := appEnv(t, base, files...)
	if err != nil {
		t.Fatal(err)
	}
	if w := want(wantTop, wantInner); !maps.Equal(got, w) {
		t.Fatalf("the app saw %d variables, not the %d of the injector's run", len(got), len(w))
	}

	// Starts in a loop while rotations switch generations.
	done := make(chan struct{})
	var wg sync.WaitGroup
	var starts, mixed int
	var firstErr error
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			env, err := appEnv(t, base, files...)
			if err != nil {
				firstErr = err
				return
			}
			starts++
			if env["MARK"] != env["INNER_MARK"] || !strings.HasSuffix(env["PASSWORD"], env["MARK"]) || !maps.Equal(wantPath, filterKeys(env, wantPath)) {
				mixed++
			}
		}
	})
	const rotations = 5
	for n := 1; n <= rotations; n++ {
		value, wantTop, wantInner = secretAt(n)
		rotateSecret(t, arn, value)
		r.published(t, int64(n+1))
		got, err := appEnv(t, base, files...)
		if err != nil {
			t.Fatal(err)
		}
		if w := want(wantTop, wantInner); !maps.Equal(got, w) {
			t.Errorf("after rotation %d the app saw MARK=%q INNER_MARK=%q, want %q", n, got["MARK"], got["INNER_MARK"], wantTop["MARK"])
		}
	}
	close(done)
	wg.Wait()
	t.Logf("%d starts of the app across %d generations", starts, rotations+1)
	if firstErr != nil {
		t.Errorf("a start failed: %v", firstErr)
	}
	if mixed > 0 {
		t.Errorf("%d of %d starts saw values of two generations", mixed, starts)
	}
	if starts == 0 {
		t.Error("the app never started")
	}
	assertNoSecret(t, r.out.String(), wantTop["PASSWORD"], wantInner["INNER_PEM"])
}

// filterKeys returns the entries of m named in keys.
func filterKeys(m, keys map[string]string) map[string]string {
	out := map[string]string{}
	for k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// TestExecHelperPlaced: with INJECTOR_EXEC_HELPER=true the injector puts the
// helper beside it into the output root as ..bin/with-env, executable by
// whoever may read the files, and an app started through that copy sees the
// values; without the setting there is none; an injector without the helper
// beside it refuses the setting (exit 2) before any AWS call.
func TestExecHelperPlaced(t *testing.T) {
	t.Parallel()
	helper, app := withEnvBins(t)
	p := uniq()
	arn := putSecret(t, p+"/app", `{"TOKEN":"it's a \"token\"\n$x"}`)
	spec := specJSON(t, map[string]any{"from": arn, "path": "app.env", "format": "dotenv"})
	want, err := os.ReadFile(helper)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ mode, want string }{{"0400", "-r-x------"}, {"0440", "-r-xr-x---"}} {
		dir := t.TempDir()
		res := h.inject(t, spec, dir, "INJECTOR_EXEC_HELPER=true", "INJECTOR_FILE_MODE="+tt.mode)
		if res.code != 0 {
			t.Fatalf("exit %d:\n%s", res.code, res.output)
		}
		placed := filepath.Join(dir, "..bin", "with-env")
		fi, err := os.Stat(placed)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().String() != tt.want {
			t.Errorf("INJECTOR_FILE_MODE=%s: the helper has mode %s, want %s", tt.mode, fi.Mode(), tt.want)
		}
		if got, _ := os.ReadFile(placed); !bytes.Equal(got, want) {
			t.Errorf("the placed helper is not the one beside the injector")
		}
		if l, err := os.Readlink(filepath.Join(dir, "..bin")); err != nil || l != "..data/..bin" {
			t.Errorf("..bin -> %q, %v; want ..data/..bin", l, err)
		}
		cmd := exec.Command(placed, "--env-file", filepath.Join(dir, "app.env"), "--", app)
		cmd.Env = []string{"KEPT=1"}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("the placed helper: %v", err)
		}
		if !strings.Contains(string(out), "\x00TOKEN=it's a \"token\"\n$x\x00") {
			t.Errorf("the app did not see TOKEN through the placed helper")
		}
	}

	dir := t.TempDir()
	h.injectOK(t, spec, dir)
	if _, err := os.Lstat(filepath.Join(dir, "..bin")); err == nil {
		t.Error("..bin is there without INJECTOR_EXEC_HELPER")
	}

	alone := programAt(t, h.bin, "injector")
	own, ownURL := h.startProxy(t, h.motoDirect, false)
	env := slices.Concat(h.env(ownURL, h.minio), []string{"INJECTOR_DIR=" + dir, "INJECTOR_SPEC=" + spec, "INJECTOR_EXEC_HELPER=true"})
	res, err := runBinary(alone, env, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if res.code != 2 || !strings.Contains(res.output, "INJECTOR_EXEC_HELPER") || !strings.Contains(res.output, "with-env") {
		t.Errorf("without the helper beside it: exit %d, want 2 naming the setting and the helper:\n%s", res.code, res.output)
	}
	if n := len(own.counts()); n != 0 {
		t.Errorf("AWS calls %v before the configuration error", own.counts())
	}
}

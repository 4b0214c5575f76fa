package image

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ecs-secret-injector/injector/internal/localpeer"
	"github.com/ecs-secret-injector/injector/internal/testsupport"
)

// task emulates one ECS task in the engine: a pod, whose containers share
// one network namespace as they do with awsvpc (the host's, where moto and
// the credentials endpoint listen on loopback), and a named volume for
// /secrets that, empty, takes the owner and mode of the image's /secrets
// when first mounted, as a fresh Fargate task volume does.
type task struct {
	e      *engine
	pod    string
	volume string
}

func newTask(t testing.TB, e *engine) *task {
	t.Helper()
	tk := &task{e: e, pod: "task-" + randomHex(4)}
	tk.volume = tk.pod + "-secrets"
	e.run(t, "podman", "pod", "create", "--name", tk.pod, "--network", "host")
	e.run(t, "podman", "volume", "create", tk.volume)
	t.Cleanup(func() {
		e.cleanup("podman", "pod", "rm", "--force", "--time", "0", tk.pod)
		e.cleanup("podman", "volume", "rm", "--force", tk.volume)
	})
	return tk
}

// cleanup runs an engine command after a test, when its context is done.
func (e *engine) cleanup(tool string, args ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := e.command(ctx, tool, args...).CombinedOutput(); err != nil {
		// Nothing to fail any more: the store is reset at the end.
		os.Stderr.WriteString("image tests: " + tool + " " + strings.Join(args, " ") + ": " + err.Error() + "\n" + string(out))
	}
}

// injectorArgs are the `podman run` arguments of the injector container as
// a task definition gives them: read-only root file system, no
// capabilities, the image's user, the volume at /secrets, the environment.
func (tk *task) injectorArgs(name string, env []string, extra ...string) []string {
	args := []string{"run", "--pull=never", "--pod", tk.pod, "--name", name,
		"--read-only", "--read-only-tmpfs=false", "--cap-drop", "ALL",
		"--volume", tk.volume + ":/secrets"}
	for _, kv := range env {
		args = append(args, "--env", kv)
	}
	args = append(args, extra...)
	return append(args, injectorRef)
}

// runInjector runs the injector container attached, to its exit.
func (tk *task) runInjector(t testing.TB, env []string) result {
	t.Helper()
	name := tk.pod + "-injector-" + randomHex(2)
	r := tk.e.try(t, "podman", tk.injectorArgs(name, env, "--rm")...)
	if r.code == 125 || r.code == 126 || r.code == 127 {
		t.Fatalf("podman could not run the injector (exit %d):\n%s", r.code, r.stderr)
	}
	return r
}

// app runs the app container to its exit: its image's user, the volume
// read-only.
func (tk *task) app(t testing.TB, extra []string, args ...string) result {
	t.Helper()
	run := []string{"run", "--rm", "--pull=never", "--pod", tk.pod, "--volume", tk.volume + ":/secrets:ro"}
	run = append(run, extra...)
	return tk.e.try(t, "podman", append(append(run, appRef), args...)...)
}

func (tk *task) volumeDir(t testing.TB) string {
	t.Helper()
	return tk.e.run(t, "podman", "volume", "inspect", "--format", "{{.Mountpoint}}", tk.volume)
}

// taskEnv is the injector's environment in the task definition, with
// credentials from the container credentials endpoint.
func taskEnv(moto *localpeer.Moto, creds *credsEndpoint, spec string, more ...string) []string {
	return append([]string{
		"INJECTOR_DIR=/secrets",
		"INJECTOR_SPEC=" + spec,
		"INJECTOR_FILE_MODE=0440",
		"AWS_REGION=us-east-1",
		"AWS_ENDPOINT_URL=" + moto.URL,
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + creds.url,
		"AWS_CONTAINER_AUTHORIZATION_TOKEN=" + creds.token,
	}, more...)
}

func secretsClient(moto *localpeer.Moto) *secretsmanager.Client {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(moto.URL) })
}

func createSecret(t testing.TB, sm *secretsmanager.Client, name, value string) {
	t.Helper()
	if _, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}); err != nil {
		t.Fatal(err)
	}
}

func putSecret(t testing.TB, sm *secretsmanager.Client, name, value string) {
	t.Helper()
	if _, err := sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(value)}); err != nil {
		t.Fatal(err)
	}
}

// generations lists the generation directories in a volume.
func generations(t testing.TB, vol string) []string {
	t.Helper()
	ents, err := os.ReadDir(vol)
	if err != nil {
		t.Fatal(err)
	}
	var gens []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), "..") {
			gens = append(gens, e.Name())
		}
	}
	return gens
}

func statOwner(t testing.TB, p string) (os.FileMode, uint32, uint32) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fi.Mode(), st.Uid, st.Gid
}

// TestImageRunsAsECSTask runs the image as ECS runs a task with the
// injector as a non-essential container and the app depending on its
// SUCCESS: the app container starts only after the injector exited 0.
func TestImageRunsAsECSTask(t *testing.T) {
	e := injectorImage(t)
	appImage(t)
	moto := testsupport.RunMoto(t)
	sm := secretsClient(moto)
	creds := credentialsEndpoint(t)

	name := "image-test/" + randomHex(4)
	first := "s3cr3t \"quoted\"\n\ttab é " + randomHex(16)
	createSecret(t, sm, name, first)
	spec := `[{"from":"secretsmanager:` + name + `","path":"db-password"}]`
	tk := newTask(t, e)

	t.Run("first run", func(t *testing.T) {
		r := tk.runInjector(t, taskEnv(moto, creds, spec))
		t.Logf("injector log:\n%s%s", r.stdout, r.stderr)
		if r.code != 0 {
			t.Fatalf("injector exit %d, want 0", r.code)
		}
		if strings.Contains(r.stdout+r.stderr, first) {
			t.Fatal("the secret value is in the log")
		}
		if creds.calls.Load() == 0 {
			t.Error("the injector did not get its credentials from the container credentials endpoint")
		}
		vol := tk.volumeDir(t)
		if mode, uid, gid := statOwner(t, vol); mode != os.ModeDir|0o750 || uid != UID || gid != GID {
			t.Errorf("the volume is %v owned by %d:%d, want the image's /secrets: drwxr-x--- 65532:65532", mode, uid, gid)
		}
		target, err := filepath.EvalSymlinks(filepath.Join(vol, "db-password"))
		if err != nil {
			t.Fatal(err)
		}
		if mode, uid, gid := statOwner(t, target); mode != 0o440 || uid != UID || gid != GID {
			t.Errorf("db-password is %v owned by %d:%d, want -r--r----- 65532:65532", mode, uid, gid)
		}

		// dependsOn SUCCESS: the app starts now, as its own uid in the
		// injector's group, and reads the exact bytes.
		if a := tk.app(t, nil, "cat", "/secrets/db-password"); a.code != 0 || a.stdout != first {
			t.Errorf("the app read %q (exit %d, %s), want the secret's bytes", a.stdout, a.code, a.stderr)
		}
		if a := tk.app(t, nil, "write", "/secrets/app-was-here"); a.code == 0 || !strings.Contains(a.stderr, "read-only file system") {
			t.Errorf("the app wrote into its read-only volume (exit %d, %s)", a.code, a.stderr)
		}
		if a := tk.app(t, []string{"--user", "1000:1000"}, "cat", "/secrets/db-password"); a.code == 0 || !strings.Contains(a.stderr, "permission denied") {
			t.Errorf("an app outside the injector's group read the file (exit %d, %s)", a.code, a.stderr)
		}
	})

	t.Run("second run into the same volume", func(t *testing.T) {
		second := "rotated " + randomHex(16)
		putSecret(t, sm, name, second)
		r := tk.runInjector(t, taskEnv(moto, creds, spec))
		if r.code != 0 {
			t.Fatalf("injector exit %d, want 0:\n%s", r.code, r.stderr)
		}
		if a := tk.app(t, nil, "cat", "/secrets/db-password"); a.code != 0 || a.stdout != second {
			t.Errorf("the app read %q (exit %d, %s), want the new value", a.stdout, a.code, a.stderr)
		}
		if gens := generations(t, tk.volumeDir(t)); len(gens) != 1 {
			t.Errorf("the volume holds generations %v, want one", gens)
		}
	})

	t.Run("missing secret", func(t *testing.T) {
		tk := newTask(t, e)
		missing := `[{"from":"secretsmanager:image-test/missing-` + randomHex(4) + `","path":"db-password"}]`
		r := tk.runInjector(t, taskEnv(moto, creds, missing))
		t.Logf("injector log:\n%s", r.stderr)
		if r.code != 3 {
			t.Fatalf("injector exit %d, want 3; the app would start", r.code)
		}
		vol := tk.volumeDir(t)
		if _, err := os.Lstat(filepath.Join(vol, "db-password")); err == nil {
			t.Error("db-password is visible after a failed run")
		}
		if gens := generations(t, vol); len(gens) != 0 {
			t.Errorf("the volume holds generations %v after a failed first run", gens)
		}
	})

	t.Run("volume owned by root", func(t *testing.T) {
		// An EC2 bind mount of a host path: no copy from the image.
		host := filepath.Join(t.TempDir(), "volume")
		if err := os.Mkdir(host, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(host, 0o755); err != nil {
			t.Fatal(err)
		}
		r := e.try(t, "podman", "run", "--rm", "--pull=never", "--network", "host", "--read-only", "--read-only-tmpfs=false",
			"--cap-drop", "ALL", "--volume", host+":/secrets", "--env", "INJECTOR_DIR=/secrets", "--env", "INJECTOR_SPEC="+spec,
			"--env", "AWS_REGION=us-east-1", "--env", "AWS_ENDPOINT_URL="+moto.URL,
			"--env", "AWS_CONTAINER_CREDENTIALS_FULL_URI="+creds.url, "--env", "AWS_CONTAINER_AUTHORIZATION_TOKEN="+creds.token,
			injectorRef)
		t.Logf("injector log:\n%s", r.stderr)
		if r.code != 5 {
			t.Fatalf("exit %d, want 5 (write error)", r.code)
		}
		for _, why := range []string{"permission denied", "INJECTOR_DIR /secrets is owned by 0:0 with mode 0755", "runs as 65532:65532"} {
			if !strings.Contains(r.stderr, why) {
				t.Errorf("the log does not say %q", why)
			}
		}
		if ents, err := os.ReadDir(host); err != nil || len(ents) != 0 {
			t.Errorf("the volume holds %d entries (%v), want none", len(ents), err)
		}
	})
}

// TestImageExecHelperInEngine runs the app container as docs/exec.md's
// task definition does: the injector, with INJECTOR_EXEC_HELPER=true, puts
// the image's exec helper into the volume as ..bin/with-env, and the app's
// entry point is that helper, which reads the dotenv file and becomes the
// app with its variables over the container's environment.
func TestImageExecHelperInEngine(t *testing.T) {
	e := injectorImage(t)
	appImage(t)
	moto := testsupport.RunMoto(t)
	sm := secretsClient(moto)
	creds := credentialsEndpoint(t)
	name := "image-test/" + randomHex(4)
	values := map[string]string{
		"DB_PASSWORD": "s3cr3t 'single' \"double\" $HOME `x` \\ é\nsecond line " + randomHex(8),
		"API_TOKEN":   "token-" + randomHex(16),
	}
	secret, err := json.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	createSecret(t, sm, name, string(secret))
	tk := newTask(t, e)
	spec := `[{"from":"secretsmanager:` + name + `","path":"app.env","format":"dotenv"}]`
	r := tk.runInjector(t, taskEnv(moto, creds, spec, "INJECTOR_EXEC_HELPER=true"))
	t.Logf("injector log:\n%s", r.stderr)
	if r.code != 0 {
		t.Fatalf("injector exit %d, want 0", r.code)
	}
	helper := filepath.Join(tk.volumeDir(t), "..data", "..bin", "with-env")
	if mode, uid, gid := statOwner(t, helper); mode != 0o550 || uid != UID || gid != GID {
		t.Errorf("..bin/with-env is %v owned by %d:%d, want -r-xr-x--- 65532:65532 (INJECTOR_FILE_MODE=0440)", mode, uid, gid)
	}

	entry := `["/secrets/..bin/with-env","--env-file","/secrets/app.env","--"]`
	extra := []string{"--entrypoint", entry, "--env", "DB_PASSWORD=from the task definition", "--env", "KEPT=kept"}
	a := tk.app(t, extra, "/app", "env", "DB_PASSWORD", "API_TOKEN", "KEPT")
	if a.code != 0 {
		t.Fatalf("the app through with-env: exit %d\n%s", a.code, a.stderr)
	}
	got := strings.Split(strings.TrimSuffix(a.stdout, "\x00"), "\x00")
	want := []string{values["DB_PASSWORD"], values["API_TOKEN"], "kept"}
	if !slices.Equal(got, want) {
		t.Errorf("the app sees %q, want %q (the file's values over the task's, the task's others kept)", got, want)
	}
	if strings.Contains(a.stderr, values["API_TOKEN"]) {
		t.Error("a value is in the app container's log")
	}

	// Without the file the helper refuses to start the app (exit 66).
	missing := tk.app(t, []string{"--entrypoint", `["/secrets/..bin/with-env","--env-file","/secrets/other.env","--"]`}, "/app", "true")
	if missing.code != 66 {
		t.Errorf("with a missing env file: exit %d, want 66\n%s", missing.code, missing.stderr)
	}
}

// TestImageRefreshInEngine runs the injector in refresh mode beside the
// app: `injector health` as the container's health check, a rotation that
// reaches the running app container, and `podman stop` (SIGTERM to the
// injector as PID 1) ending it with exit 0.
func TestImageRefreshInEngine(t *testing.T) {
	e := injectorImage(t)
	appImage(t)
	moto := testsupport.RunMoto(t)
	sm := secretsClient(moto)
	creds := credentialsEndpoint(t)
	name := "image-test/" + randomHex(4)
	first := "first " + randomHex(16)
	createSecret(t, sm, name, first)
	tk := newTask(t, e)

	injector := tk.pod + "-injector"
	env := taskEnv(moto, creds, `[{"from":"secretsmanager:`+name+`","path":"db-password"}]`, "INJECTOR_REFRESH_INTERVAL=1s")
	// No health interval: there is no systemd to time the checks, so the
	// test runs each one.
	e.run(t, "podman", tk.injectorArgs(injector, env, "--detach", "--health-cmd", `["/injector","health"]`, "--health-interval", "disable")...)

	var last result
	healthy := func() bool {
		last = e.try(t, "podman", "healthcheck", "run", injector)
		return last.code == 0 // podman 4.3 prints only "unhealthy"
	}
	defer func() {
		if t.Failed() {
			t.Logf("last health check: exit %d\n%s%s", last.code, last.stdout, last.stderr)
		}
	}()
	waitFor(t, "the injector to report healthy", healthy)
	if status := e.run(t, "podman", "inspect", "--format", "{{.State.Health.Status}}", injector); status != "healthy" {
		t.Errorf("health status %q, want healthy", status)
	}

	app := tk.pod + "-app"
	e.run(t, "podman", "run", "--detach", "--pull=never", "--pod", tk.pod, "--name", app, "--volume", tk.volume+":/secrets:ro", appRef, "wait")
	read := func() string {
		return e.try(t, "podman", "exec", app, "/app", "cat", "/secrets/db-password").stdout
	}
	if got := read(); got != first {
		t.Fatalf("the app reads %q, want the first value", got)
	}

	second := "second " + randomHex(16)
	putSecret(t, sm, name, second)
	waitFor(t, "the rotation to reach the app", func() bool { return read() == second })
	if !healthy() {
		t.Error("unhealthy after the rotation")
	}

	const stopTimeout = 30
	start := time.Now()
	e.run(t, "podman", "stop", "--time", strconv.Itoa(stopTimeout), injector)
	took := time.Since(start)
	state := e.run(t, "podman", "inspect", "--format", "{{.State.ExitCode}} {{.State.Status}}", injector)
	if state != "0 exited" {
		t.Errorf("after podman stop the injector is %q (in %s), want exit 0 within %ds", state, took.Round(time.Millisecond), stopTimeout)
	}
	logs := e.try(t, "podman", "logs", injector)
	t.Logf("injector log:\n%s%s", logs.stdout, logs.stderr)
	if all := logs.stdout + logs.stderr; strings.Contains(all, first) || strings.Contains(all, second) {
		t.Error("a secret value is in the log")
	}
	e.run(t, "podman", "stop", "--time", strconv.Itoa(stopTimeout), app)
	if state := e.run(t, "podman", "inspect", "--format", "{{.State.ExitCode}}", app); state != "0" {
		t.Errorf("the app exited %s on SIGTERM", state)
	}
}

// waitFor polls cond until it holds. Only the test binary's deadline bounds
// the wait (it gives up shortly before), so a slow machine cannot fail it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline, bounded := t.Deadline()
	for !cond() {
		if bounded && time.Until(deadline) < 30*time.Second {
			t.Fatalf("gave up waiting for %s: the test binary's deadline is near", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// BenchmarkContainerStartToExit measures, in the engine, the injector
// container's start-to-exit time (one-shot, one secret, into a task volume)
// beside a trivial static container's (the app image's `true`): what the
// injector adds to a task's start is the difference. It also reports the
// compressed size (layers, config and manifest) of each platform's image,
// and the size of each attestation manifest with its statements.
//
//	go test -run '^$' -bench ContainerStartToExit -benchtime 10x ./internal/image/
func BenchmarkContainerStartToExit(b *testing.B) {
	e := injectorImage(b)
	appImage(b)
	moto := testsupport.RunMoto(b)
	sm := secretsClient(moto)
	creds := credentialsEndpoint(b)
	name := "image-bench/" + randomHex(4)
	createSecret(b, sm, name, "value "+randomHex(16))
	tk := newTask(b, e)
	env := taskEnv(moto, creds, `[{"from":"secretsmanager:`+name+`","path":"db-password"}]`)

	// The injector first, as in a task: the fresh volume takes its owner
	// from the first container that mounts it.
	b.Run("injector", func(b *testing.B) {
		medianOf(b, func() {
			if r := tk.runInjector(b, env); r.code != 0 {
				b.Fatalf("exit %d: %s", r.code, r.stderr)
			}
		})
	})
	b.Run("trivial", func(b *testing.B) {
		medianOf(b, func() {
			if r := tk.app(b, nil, "true"); r.code != 0 {
				b.Fatalf("exit %d: %s", r.code, r.stderr)
			}
		})
	})

	idx := readLayout(b, builtLayout(b, 0).layout)
	for _, p := range Platforms() {
		img := platformImage(b, idx, p.String())
		m, err := img.Manifest()
		if err != nil {
			b.Fatal(err)
		}
		raw, err := img.RawManifest()
		if err != nil {
			b.Fatal(err)
		}
		size := m.Config.Size + int64(len(raw))
		for _, l := range m.Layers {
			size += l.Size
		}
		b.Logf("%s: %d bytes compressed (%d layers)", p, size, len(m.Layers))
	}
	// The attestations (SBOM and provenance), which engines do not pull.
	im, err := idx.IndexManifest()
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range im.Manifests {
		if !IsAttestation(d) {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			b.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			b.Fatal(err)
		}
		size := m.Config.Size + d.Size
		for _, l := range m.Layers {
			size += l.Size
		}
		b.Logf("attestation of %s: %d bytes (%d statements)", d.Annotations[AnnotationReferenceDigest], size, len(m.Layers))
	}
}

// medianOf runs f in b's loop and reports the median time of one run
// (podman run: start to exit) beside the mean.
func medianOf(b *testing.B, f func()) {
	var times []time.Duration
	for b.Loop() {
		start := time.Now()
		f()
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Milliseconds()), "median-ms")
}

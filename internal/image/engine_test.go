package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The image tests load, run and build the image in a real container engine:
// Debian's podman with buildah, skopeo and the runc runtime, as root
// (scripts/test.sh installs them). The engine keeps everything in a
// temporary directory: its storage, its containers.conf and its events log.
// What podman, skopeo and runc still write outside it (the blob info cache
// under /var/lib/containers, runc's and the network's state under /run, the
// lock segment in /dev/shm) lands on empty tmpfs mounts in a mount namespace
// of the test binary's own: TestMain runs the tests again inside one.

const (
	// mountNSEnv tells the test binary that it already runs in its own
	// mount namespace.
	mountNSEnv = "INJECTOR_IMAGE_TEST_MOUNT_NS"
	// injectorRef and appRef are the names the tests give the image
	// scripts/image.sh builds and the stand-in app image.
	injectorRef = "localhost/injector:test"
	appRef      = "localhost/app:test"
	// appUser is the app container's user: another uid in the injector's
	// group, as the README's task definition has it.
	appUser = "1000:65532"
)

// engineUnavailable says why the engine cannot run here ("" when it can).
var engineUnavailable string

func TestMain(m *testing.M) {
	if os.Getenv(mountNSEnv) == "" {
		if code, ran := runInMountNamespace(); ran {
			os.Exit(code)
		}
	} else if err := privateMounts(); err != nil {
		engineUnavailable = err.Error()
	}
	code := m.Run()
	shared.teardown()
	if builds.work != "" {
		_ = os.RemoveAll(builds.work)
	}
	os.Exit(code)
}

// runInMountNamespace runs the test binary again, with the same arguments,
// in a new private mount namespace, and returns its exit code. It returns
// ran false (and records why) where that is not possible: not root, no
// podman, no unshare.
func runInMountNamespace() (code int, ran bool) {
	if os.Geteuid() != 0 {
		engineUnavailable = fmt.Sprintf("the engine tests run podman as root, and this is uid %d", os.Geteuid())
		return 0, false
	}
	for _, tool := range []string{"podman", "buildah", "skopeo", "runc", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			engineUnavailable = tool + " is not installed (scripts/test.sh installs podman, buildah, skopeo and runc with apt-get)"
			return 0, false
		}
	}
	if out, err := exec.Command("unshare", "-m", "--propagation", "private", "--", "true").CombinedOutput(); err != nil {
		engineUnavailable = fmt.Sprintf("`unshare -m` is not permitted here (%v: %s)", err, bytes.TrimSpace(out))
		return 0, false
	}
	exe, err := os.Executable()
	if err != nil {
		engineUnavailable = err.Error()
		return 0, false
	}
	cmd := exec.Command("unshare", append([]string{"-m", "--propagation", "private", "--", exe}, os.Args[1:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), mountNSEnv+"=1")
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, true
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return exit.ExitCode(), true
	default:
		fmt.Fprintf(os.Stderr, "image tests: running in a mount namespace: %v\n", err)
		return 1, true
	}
}

// privateMounts puts empty tmpfs mounts over the machine's paths the engine
// writes whatever its configuration says. /var/lib/containers is created
// (empty) when missing, as the podman package would.
func privateMounts() error {
	if err := os.MkdirAll("/var/lib/containers", 0o755); err != nil {
		return fmt.Errorf("creating /var/lib/containers: %w", err)
	}
	for _, dir := range []string{"/run", "/var/lib/containers", "/dev/shm"} {
		if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=0755"); err != nil {
			return fmt.Errorf("mounting a tmpfs on %s in the test's mount namespace: %w", dir, err)
		}
	}
	return os.Chmod("/dev/shm", 0o1777)
}

// engine runs podman, buildah and skopeo against a store of its own.
type engine struct {
	dir string // storage, configuration, temporary files
	env []string
}

// engineState is the engine the tests share and the images loaded into it.
type engineState struct {
	once sync.Once
	e    *engine
	err  error

	injector, app struct {
		once sync.Once
		err  error
	}
}

var shared engineState

// needEngine returns the shared engine. It skips the test where podman
// cannot run, unless requireRunEnv says it must.
func needEngine(t testing.TB) *engine {
	t.Helper()
	if engineUnavailable != "" {
		msg := "cannot run the image in a container engine: " + engineUnavailable
		if os.Getenv(requireRunEnv) == "1" {
			t.Fatalf("%s, and %s=1", msg, requireRunEnv)
		}
		t.Skip(msg)
	}
	shared.once.Do(func() { shared.e, shared.err = newEngine() })
	if shared.err != nil {
		msg := "podman cannot run here: " + shared.err.Error()
		if os.Getenv(requireRunEnv) == "1" {
			t.Fatalf("%s, and %s=1", msg, requireRunEnv)
		}
		t.Skip(msg)
	}
	return shared.e
}

// The engine's configuration. Each line is there because this machine
// needs it: crun refuses a hybrid cgroup layout (runc), there is no systemd
// to manage cgroups or keep a journal, and the default RLIMIT_NOFILE may be
// above the hard limit. static_dir stays at its default: set, podman 4.3
// waits after each attached container exits for an exit code conmon never
// records.
const containersConf = `[containers]
default_ulimits = ["nofile=20000:20000", "nproc=1024:1024"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "%[1]s/events.log"
tmp_dir = "%[1]s/libpod"
image_copy_tmp_dir = "%[1]s/tmp"
`

const storageConf = `[storage]
driver = "overlay"
graphroot = "%[1]s/storage"
runroot = "%[1]s/run"
`

// registriesConf resolves no short names, so that nothing is pulled from
// anywhere but what a test names.
const registriesConf = `unqualified-search-registries = []
short-name-mode = "disabled"
`

func newEngine() (*engine, error) {
	dir, err := os.MkdirTemp("", "image-engine-")
	if err != nil {
		return nil, err
	}
	e := &engine{dir: dir}
	files := map[string]string{
		"containers.conf": fmt.Sprintf(containersConf, dir),
		"storage.conf":    fmt.Sprintf(storageConf, dir),
		"registries.conf": registriesConf,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			return nil, err
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, err
	}
	e.env = append(os.Environ(),
		"CONTAINERS_CONF="+filepath.Join(dir, "containers.conf"),
		"CONTAINERS_STORAGE_CONF="+filepath.Join(dir, "storage.conf"),
		"CONTAINERS_REGISTRIES_CONF="+filepath.Join(dir, "registries.conf"),
		"TMPDIR="+filepath.Join(dir, "tmp"),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := e.command(ctx, "podman", "info", "--format", "{{.Host.OCIRuntime.Name}} {{.Store.GraphRoot}}").CombinedOutput()
	if err != nil {
		return e, fmt.Errorf("podman info: %w\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "runc "+filepath.Join(dir, "storage") {
		return e, fmt.Errorf("podman info says %q: the configuration was not read", got)
	}
	return e, nil
}

func (s *engineState) teardown() {
	if s.e == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := s.e.command(ctx, "podman", "system", "reset", "--force").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "image tests: podman system reset: %v\n%s", err, out)
	}
	_ = os.RemoveAll(s.e.dir)
}

func (e *engine) command(ctx context.Context, tool string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Env = e.env
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// result is what one engine command did.
type result struct {
	code           int
	stdout, stderr string
}

// try runs tool (podman, buildah, skopeo) and returns what it did; only a
// command that could not be started fails the test.
func (e *engine) try(t testing.TB, tool string, args ...string) result {
	t.Helper()
	return e.tryIn(t, "", tool, args...)
}

func (e *engine) tryIn(t testing.TB, dir, tool string, args ...string) result {
	t.Helper()
	cmd := e.command(t.Context(), tool, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s %s: %v", tool, strings.Join(args, " "), err)
	}
	return r
}

// run runs tool and fails the test unless it exits 0; it returns the
// trimmed stdout.
func (e *engine) run(t testing.TB, tool string, args ...string) string {
	t.Helper()
	r := e.try(t, tool, args...)
	if r.code != 0 {
		t.Fatalf("%s %s: exit %d\n%s%s", tool, strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

// injectorImage loads the linux/amd64 image of the layout scripts/image.sh
// built into the engine as injectorRef.
func injectorImage(t testing.TB) *engine {
	t.Helper()
	e := needEngine(t)
	a := builtLayout(t, 0)
	shared.injector.once.Do(func() {
		// podman pull oci:PATH takes a path without capital letters: pull
		// by the path relative to the layout's parent.
		cmd := e.command(t.Context(), "podman", "pull", "--quiet", "--platform", "linux/amd64", "oci:"+filepath.Base(a.layout))
		cmd.Dir = filepath.Dir(a.layout)
		out, err := cmd.CombinedOutput()
		if err != nil {
			shared.injector.err = fmt.Errorf("podman pull oci:%s: %w\n%s", a.layout, err, out)
			return
		}
		id := strings.TrimSpace(string(out))
		if out, err := e.command(t.Context(), "podman", "tag", id, injectorRef).CombinedOutput(); err != nil {
			shared.injector.err = fmt.Errorf("podman tag: %w\n%s", err, out)
		}
	})
	if shared.injector.err != nil {
		t.Fatal(shared.injector.err)
	}
	return e
}

// appImage builds the stand-in app image (testdata/app, static) with
// buildah, from scratch: /app as its entrypoint and appUser as its user.
func appImage(t testing.TB) *engine {
	t.Helper()
	e := needEngine(t)
	shared.app.once.Do(func() {
		shared.app.err = func() error {
			bin := filepath.Join(e.dir, "app")
			build := exec.CommandContext(t.Context(), "go", "build", "-trimpath", "-o", bin, "./testdata/app")
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				return fmt.Errorf("building testdata/app: %w\n%s", err, out)
			}
			buildah := func(args ...string) (string, error) {
				out, err := e.command(t.Context(), "buildah", args...).CombinedOutput()
				if err != nil {
					return "", fmt.Errorf("buildah %s: %w\n%s", strings.Join(args, " "), err, out)
				}
				return strings.TrimSpace(string(out)), nil
			}
			ctr, err := buildah("from", "--quiet", "scratch")
			if err != nil {
				return err
			}
			defer buildah("rm", ctr) //nolint:errcheck // the image is committed by then
			for _, args := range [][]string{
				{"copy", "--chown", "0:0", "--chmod", "0755", ctr, bin, "/app"},
				{"config", "--entrypoint", `["/app"]`, "--user", appUser, ctr},
				{"commit", "--quiet", ctr, appRef},
			} {
				if _, err := buildah(args...); err != nil {
					return err
				}
			}
			return nil
		}()
	})
	if shared.app.err != nil {
		t.Fatal(shared.app.err)
	}
	return e
}

// TestEngineRunsImage loads the layout into podman and runs the image as
// its configuration says, with a read-only root file system and no
// capabilities: `injector version` reports what the labels say.
func TestEngineRunsImage(t *testing.T) {
	e := injectorImage(t)
	cf, err := platformImage(t, readLayout(t, builtLayout(t, 0).layout), "linux/amd64").ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	user := e.run(t, "podman", "image", "inspect", "--format", "{{.Config.User}}", injectorRef)
	if user != User() {
		t.Errorf("podman sees the user %q, want %s", user, User())
	}
	out := e.run(t, "podman", "run", "--rm", "--pull=never", "--read-only", "--read-only-tmpfs=false", "--cap-drop", "ALL", injectorRef, "version")
	for _, want := range []string{"version: " + cf.Config.Labels[LabelVersion] + "\n", "commit:  " + cf.Config.Labels[LabelRevision] + "\n"} {
		if !strings.Contains(out+"\n", want) {
			t.Errorf("injector version printed %q, want %q", out, want)
		}
	}
}

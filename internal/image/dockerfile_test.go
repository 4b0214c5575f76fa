package image

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// The Dockerfile must build the image scripts/image.sh builds: the test
// builds it with buildah and compares the two images.

// dockerfileBase is the Dockerfile's build stage base image: golang at
// go.mod's go version.
func dockerfileBase(t *testing.T) string {
	t.Helper()
	v, err := GoVersion(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	ref := "golang:" + v
	if !bytes.Contains(src, []byte("FROM --platform=$BUILDPLATFORM "+ref+" AS build\n")) {
		t.Fatalf("the Dockerfile's build stage is not FROM %s (go.mod's go version), built on the build platform", ref)
	}
	return ref
}

// standInGolang makes a local stand-in for the golang base image, which
// cannot be pulled here, tagged with its name: the machine's Go toolchain
// at /usr/local/go and the environment the golang image sets, a shell for
// RUN (dash and the C library it links), and a module proxy in place of
// the network (GOPROXY is a directory the build mounts: the host's module
// download cache).
func standInGolang(t *testing.T, e *engine, ref, goVersion string) {
	t.Helper()
	goroot := strings.TrimSpace(goOutput(t, "env", "GOROOT"))
	if got := strings.TrimSpace(goOutput(t, "env", "GOVERSION")); got != "go"+goVersion {
		t.Fatalf("the machine's Go is %s; the stand-in %s needs go%s", got, ref, goVersion)
	}
	root := filepath.Join(t.TempDir(), "rootfs")
	for _, dir := range []string{"bin", "tmp", "root", "go", "usr/local"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	// The toolchain is hard-linked where it can be (buildah copy only
	// reads it), the shell and its libraries copied.
	if out, err := exec.Command("cp", "-al", goroot, filepath.Join(root, "usr/local/go")).CombinedOutput(); err != nil {
		if out, err := exec.Command("cp", "-a", goroot, filepath.Join(root, "usr/local/go")).CombinedOutput(); err != nil {
			t.Fatalf("copying GOROOT: %v\n%s", err, out)
		}
		t.Logf("GOROOT copied, not linked: %s", out)
	}
	copies := [][2]string{{"/bin/dash", "bin/sh"}}
	libs, err := exec.Command("ldd", "/bin/dash").Output()
	if err != nil {
		t.Fatalf("ldd /bin/dash: %v", err)
	}
	for _, f := range strings.Fields(string(libs)) {
		if strings.HasPrefix(f, "/") {
			copies = append(copies, [2]string{f, f[1:]})
		}
	}
	for _, c := range copies {
		to := filepath.Join(root, c[1])
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("cp", "-aL", c[0], to).CombinedOutput(); err != nil {
			t.Fatalf("cp %s: %v\n%s", c[0], err, out)
		}
	}
	ctr := e.run(t, "buildah", "from", "--quiet", "scratch")
	defer e.cleanup("buildah", "rm", ctr)
	e.run(t, "buildah", "copy", "--quiet", ctr, root, "/")
	e.run(t, "buildah", "config",
		"--env", "PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"--env", "GOLANG_VERSION="+goVersion, "--env", "GOTOOLCHAIN=local", "--env", "GOPATH=/go", "--env", "HOME=/root",
		"--env", "GOPROXY=file:///goproxy", "--env", "GOSUMDB=off",
		"--workingdir", "/go", "--os", "linux", "--arch", runtime.GOARCH, ctr)
	e.run(t, "buildah", "commit", "--quiet", ctr, "docker.io/library/"+ref)
}

func goOutput(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// TestDockerfileBuildsTheImage builds the Dockerfile with buildah for each
// platform, with the build arguments its header names, and holds the result
// to the image scripts/image.sh builds from the same commit: the same files,
// owners, modes and contents (the binary byte for byte), the same
// configuration, and the same `injector version`.
func TestDockerfileBuildsTheImage(t *testing.T) {
	e := injectorImage(t)
	a := builtLayout(t, 0)
	ref := dockerfileBase(t)
	goVersion := strings.TrimPrefix(ref, "golang:")
	start := time.Now()
	standInGolang(t, e, ref, goVersion)
	t.Logf("the stand-in %s took %s", ref, time.Since(start).Round(time.Second))

	// The modules the build downloads come from the host's cache; fill it
	// first (a no-op when it holds them).
	download := exec.Command("go", "mod", "download")
	download.Dir = a.checkout
	if out, err := download.CombinedOutput(); err != nil {
		t.Fatalf("go mod download: %v\n%s", err, out)
	}
	proxy := filepath.Join(strings.TrimSpace(goOutput(t, "env", "GOMODCACHE")), "cache", "download")
	// The host's build cache, as a BuildKit cache mount would keep one.
	gocache := strings.TrimSpace(goOutput(t, "env", "GOCACHE"))
	want := readLayout(t, a.layout)
	wantCf, err := platformImage(t, want, "linux/amd64").ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	version, commit := wantCf.Config.Labels[LabelVersion], wantCf.Config.Labels[LabelRevision]

	for _, p := range Platforms() {
		t.Run(p.String(), func(t *testing.T) {
			tag := "localhost/injector-dockerfile:" + p.Architecture
			start := time.Now()
			// buildah 1.28 does not take SOURCE_DATE_EPOCH as a build
			// argument (--timestamp sets the same times), nor set
			// BUILDPLATFORM as BuildKit does.
			r := e.try(t, "buildah", "build", "--pull=never", "--network", "none", "--platform", p.String(),
				"--build-arg", "BUILDPLATFORM=linux/"+runtime.GOARCH,
				"--build-arg", "VERSION="+version, "--build-arg", "COMMIT="+commit,
				"--timestamp", fmt.Sprint(wantCf.Created.Unix()),
				"--volume", proxy+":/goproxy:ro", "--volume", gocache+":/root/.cache/go-build",
				"--tag", tag, a.checkout)
			if r.code != 0 {
				t.Fatalf("buildah build: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			t.Logf("buildah build %s took %s", p, time.Since(start).Round(time.Second))

			dir := filepath.Join(t.TempDir(), "oci")
			e.run(t, "podman", "save", "--quiet", "--format", "oci-dir", "--output", dir, tag)
			got := savedImage(t, dir)
			wantImg := platformImage(t, want, p.String())
			compareEntries(t, imageFileEntries(t, got), imageFileEntries(t, wantImg))
			compareConfig(t, got, wantImg)

			if p.Architecture == "amd64" {
				v := e.run(t, "podman", "run", "--rm", "--pull=never", "--read-only", "--read-only-tmpfs=false", "--cap-drop", "ALL", tag, "version")
				w := e.run(t, "podman", "run", "--rm", "--pull=never", "--read-only", "--read-only-tmpfs=false", "--cap-drop", "ALL", injectorRef, "version")
				if v != w {
					t.Errorf("injector version: the Dockerfile's image says\n%s\nscripts/image.sh's says\n%s", v, w)
				}
			}
		})
	}
}

// savedImage is the one image of an OCI layout podman save wrote.
func savedImage(t *testing.T, dir string) v1.Image {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 {
		t.Fatalf("podman save wrote %d manifests", len(m.Manifests))
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// imageFileEntries flattens an image's layers into its files by path, the
// root directory left out.
func imageFileEntries(t *testing.T, img v1.Image) map[string]Entry {
	t.Helper()
	out := map[string]Entry{}
	for _, e := range layerEntries(t, img) {
		if p := strings.TrimPrefix(e.Path, "./"); p != "" && p != "." {
			e.Path = p
			out[p] = e
		}
	}
	return out
}

func compareEntries(t *testing.T, got, want map[string]Entry) {
	t.Helper()
	for _, p := range slices.Sorted(maps.Keys(want)) {
		w, g := want[p], got[p]
		switch {
		case g.Path == "":
			t.Errorf("%s: in scripts/image.sh's image, not in the Dockerfile's", p)
		case g.Mode != w.Mode || g.UID != w.UID || g.GID != w.GID:
			t.Errorf("%s: the Dockerfile gives %v %d:%d, scripts/image.sh %v %d:%d", p, g.Mode, g.UID, g.GID, w.Mode, w.UID, w.GID)
		case !bytes.Equal(g.Data, w.Data):
			t.Errorf("%s: the contents differ (%d and %d bytes)", p, len(g.Data), len(w.Data))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: in the Dockerfile's image only", p)
		}
	}
}

func compareConfig(t *testing.T, got, want v1.Image) {
	t.Helper()
	g, err := got.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	w, err := want.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	// buildah names itself in a label of its own; the rest must match.
	labels := maps.Clone(g.Config.Labels)
	delete(labels, "io.buildah.version")
	checks := []struct {
		what      string
		got, want any
	}{
		{"platform", g.OS + "/" + g.Architecture, w.OS + "/" + w.Architecture},
		{"user", g.Config.User, w.Config.User},
		{"entrypoint", g.Config.Entrypoint, w.Config.Entrypoint},
		{"cmd", g.Config.Cmd, w.Config.Cmd},
		{"env", g.Config.Env, w.Config.Env},
		{"volumes", g.Config.Volumes, w.Config.Volumes},
		{"labels", labels, w.Config.Labels},
		{"working dir", g.Config.WorkingDir, w.Config.WorkingDir},
		{"created", g.Created.UTC(), w.Created.UTC()},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s: the Dockerfile gives %v, scripts/image.sh %v", c.what, c.got, c.want)
		}
	}
}

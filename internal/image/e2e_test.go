package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/ecs-secret-injector/injector/internal/testsupport"
)

// These tests build the real image with scripts/image.sh, twice, and run it
// the way ECS does. They need git and the Go toolchain; the run needs root
// (unshare, mount, chroot) and moto_server.

const (
	// requireRunEnv makes a missing unshare permission a failure instead
	// of a skip: CI sets it (.ci/run), since it runs as root.
	requireRunEnv = "INJECTOR_REQUIRE_IMAGE_RUN"
)

// build is one run of scripts/image.sh.
type build struct {
	checkout string // the copy of the tree it ran in
	tmp      string // its TMPDIR
	layout   string // the OCI layout it wrote
	stdout   string // what it printed: the index digest
}

var builds struct {
	once sync.Once
	work string // removed by TestMain
	a, b build
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builds.work != "" {
		_ = os.RemoveAll(builds.work)
	}
	os.Exit(code)
}

// builtLayouts builds the image from two copies of the working tree at
// different paths, one after the other, with different temporary
// directories and umasks. The builds are shared by the tests of this file.
func builtLayouts(t *testing.T) (build, build) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the image for two platforms, twice")
	}
	builds.once.Do(func() {
		builds.err = func() error {
			work, err := os.MkdirTemp("", "image-e2e-")
			if err != nil {
				return err
			}
			builds.work = work // several tests use the builds
			repo, err := filepath.Abs(filepath.Join("..", ".."))
			if err != nil {
				return err
			}
			epoch, err := commitTime(repo)
			if err != nil {
				return err
			}
			for i, b := range []*build{&builds.a, &builds.b} {
				b.checkout = filepath.Join(work, fmt.Sprintf("checkout-%d-%s", i, randomHex(4)), "injector")
				b.tmp = filepath.Join(work, fmt.Sprintf("tmp-%d-%s", i, randomHex(4)))
				b.layout = filepath.Join(work, fmt.Sprintf("layout-%d", i))
				if err := copyTree(repo, b.checkout); err != nil {
					return err
				}
				if err := commitAll(b.checkout, epoch); err != nil {
					return err
				}
				if err := os.Mkdir(b.tmp, 0o700); err != nil {
					return err
				}
				umask := []string{"022", "077"}[i]
				cmd := exec.Command("bash", "-c", "umask "+umask+" && exec bash scripts/image.sh \"$1\"", "image.sh", b.layout)
				cmd.Dir = b.checkout
				cmd.Env = append(os.Environ(), "TMPDIR="+b.tmp, "TZ="+[]string{"UTC", "Asia/Kathmandu"}[i])
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				start := time.Now()
				out, err := cmd.Output()
				if err != nil {
					return fmt.Errorf("scripts/image.sh in %s: %w\n%s", b.checkout, err, stderr.String())
				}
				b.stdout = strings.TrimSpace(string(out))
				fmt.Fprintf(os.Stderr, "image e2e: build %d took %s\n", i, time.Since(start).Round(time.Second))
			}
			return nil
		}()
	})
	if builds.err != nil {
		t.Fatal(builds.err)
	}
	return builds.a, builds.b
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// commitTime is HEAD's commit time in repo, or a fixed time outside a
// checkout.
func commitTime(repo string) (string, error) {
	out, err := exec.Command("git", "-C", repo, "log", "-1", "--format=%ct").Output()
	if err != nil {
		return "1767225600", nil // 2026-01-01
	}
	return strings.TrimSpace(string(out)), nil
}

// copyTree copies the files git would commit from the working tree at src
// (tracked and untracked, not ignored) to dst, keeping their modes.
func copyTree(src, dst string) error {
	out, err := exec.Command("git", "-C", src, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		return fmt.Errorf("git ls-files: %w", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		from := filepath.Join(src, name)
		fi, err := os.Lstat(from)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the working tree
		}
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(to, data, fi.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

// commitAll makes dir a git repository with one commit of everything in
// it, made the same way each time so that every copy has the same commit.
func commitAll(dir, epoch string) error {
	env := append(os.Environ(),
		"GIT_AUTHOR_NAME=image test", "GIT_AUTHOR_EMAIL=test@example.com", "GIT_AUTHOR_DATE=@"+epoch+" +0000",
		"GIT_COMMITTER_NAME=image test", "GIT_COMMITTER_EMAIL=test@example.com", "GIT_COMMITTER_DATE=@"+epoch+" +0000",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"-c", "commit.gpgsign=false", "commit", "-q", "-m", "image test"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %w\n%s", args, err, out)
		}
	}
	return nil
}

// readLayout returns the image index a layout holds.
func readLayout(t *testing.T, dir string) v1.ImageIndex {
	t.Helper()
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 {
		t.Fatalf("index.json has %d entries, want the image index alone", len(m.Manifests))
	}
	idx, err := top.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestImageScriptRefusesExistingOut(t *testing.T) {
	out := t.TempDir()
	marker := filepath.Join(out, "keep")
	if err := os.WriteFile(marker, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{out}, {}} {
		cmd := exec.Command("bash", append([]string{filepath.Join("..", "..", "scripts", "image.sh")}, args...)...)
		msg, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Fatalf("image.sh %q: %v, want exit 2\n%s", args, err, msg)
		}
		if len(args) > 0 && !strings.Contains(string(msg), "already exists") {
			t.Errorf("message does not say why: %s", msg)
		}
	}
	if ents, _ := os.ReadDir(out); len(ents) != 1 {
		t.Fatalf("image.sh touched the existing directory: %d entries", len(ents))
	}
}

func TestImageBuildIsReproducible(t *testing.T) {
	a, b := builtLayouts(t)
	ia, ib := readLayout(t, a.layout), readLayout(t, b.layout)
	da, db := digestOf(t, ia), digestOf(t, ib)
	if da != db {
		t.Errorf("index digests differ: %s (%s) and %s (%s)", da, a.checkout, db, b.checkout)
	}
	if a.stdout != da {
		t.Errorf("image.sh printed %q, want the index digest %s", a.stdout, da)
	}
	ma, err := ia.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	mb, err := ib.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for i := range ma.Manifests {
		platforms = append(platforms, ma.Manifests[i].Platform.String())
		if i >= len(mb.Manifests) || ma.Manifests[i].Digest != mb.Manifests[i].Digest {
			t.Errorf("manifest %d (%s) differs between the builds", i, ma.Manifests[i].Platform)
		}
	}
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("index holds %v", platforms)
	}
	for _, f := range []string{"index.json", "oci-layout"} {
		fa, _ := os.ReadFile(filepath.Join(a.layout, f))
		fb, _ := os.ReadFile(filepath.Join(b.layout, f))
		if !bytes.Equal(fa, fb) {
			t.Errorf("%s differs between the builds", f)
		}
	}
	blobs := func(dir string) []string {
		ents, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	if !slices.Equal(blobs(a.layout), blobs(b.layout)) {
		t.Errorf("the layouts hold different blobs")
	}

	// The version and commit come from git; every timestamp is the commit's.
	head, err := exec.Command("git", "-C", a.checkout, "log", "-1", "--format=%H %ct").Output()
	if err != nil {
		t.Fatal(err)
	}
	commit, epoch, _ := strings.Cut(strings.TrimSpace(string(head)), " ")
	secs, _ := strconv.ParseInt(epoch, 10, 64)
	for _, p := range Platforms() {
		cf, err := platformImage(t, ia, p.String()).ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if got := cf.Config.Labels[LabelRevision]; got != commit {
			t.Errorf("%s: revision label %q, want HEAD %s", p, got, commit)
		}
		if got := cf.Config.Labels[LabelVersion]; got == "" || !strings.HasPrefix(commit, got) {
			t.Errorf("%s: version label %q, want git describe's (the short commit, with no tag)", p, got)
		}
		if !cf.Created.Time.Equal(time.Unix(secs, 0)) {
			t.Errorf("%s: created %s, want the commit time %s", p, cf.Created.Time, time.Unix(secs, 0).UTC())
		}
	}
}

func TestImageHasNoBuildPaths(t *testing.T) {
	a, b := builtLayouts(t)
	var forbidden []string
	for _, build := range []build{a, b} {
		forbidden = append(forbidden, build.checkout, build.tmp, filepath.Base(filepath.Dir(build.checkout)))
	}
	repo, _ := filepath.Abs(filepath.Join("..", ".."))
	forbidden = append(forbidden, repo)
	for _, v := range []string{"GOMODCACHE", "GOCACHE", "GOROOT", "GOPATH"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatal(err)
		}
		if p := strings.TrimSpace(string(out)); p != "" {
			forbidden = append(forbidden, p)
		}
	}
	// Every blob: manifests and configs as they are, layers both
	// compressed and as tar streams (names, link targets and contents).
	dir := filepath.Join(a.layout, "blobs", "sha256")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	scanned := 0
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		check := func(what string, data []byte) {
			scanned++
			for _, f := range forbidden {
				if bytes.Contains(data, []byte(f)) {
					t.Errorf("blob %s (%s) contains the build path %s", e.Name(), what, f)
				}
			}
		}
		check("as stored", data)
		if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			tr := tar.NewReader(zr)
			for {
				h, err := tr.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				content, err := io.ReadAll(tr)
				if err != nil {
					t.Fatal(err)
				}
				check(h.Name, append([]byte(h.Name+"\x00"+h.Linkname+"\x00"), content...))
			}
		}
	}
	if scanned < 8 {
		t.Fatalf("scanned only %d blobs and files", scanned)
	}
}

// TestImageRunsAsECSWould runs the amd64 image the way the ECS agent runs
// the injector container: the image's root filesystem read-only, a fresh
// volume at /secrets, user 65532:65532 and an environment of the image's
// env plus the task definition's, with credentials from a container
// credentials endpoint.
func TestImageRunsAsECSWould(t *testing.T) {
	requireUnshare(t)
	moto := testsupport.RunMoto(t)
	a, _ := builtLayouts(t)
	idx := readLayout(t, a.layout)
	img := platformImage(t, idx, "linux/amd64")
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	extract(t, imageEntries(t, idx, "linux/amd64"), rootfs)

	// `injector version` reports what the labels say.
	out, err := exec.Command("chroot", "--userspec="+cf.Config.User, rootfs, cf.Config.Entrypoint[0], "version").CombinedOutput()
	if err != nil {
		t.Fatalf("injector version in the image: %v\n%s", err, out)
	}
	for _, want := range []string{"version: " + cf.Config.Labels[LabelVersion] + "\n", "commit:  " + cf.Config.Labels[LabelRevision] + "\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("injector version printed %q, want %q", out, want)
		}
	}

	name := "image-test/" + randomHex(4)
	secret := "s3cr3t-" + randomHex(16)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(moto.URL) })
	if _, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(secret)}); err != nil {
		t.Fatal(err)
	}
	creds := credentialsEndpoint(t)

	env := slices.Clone(cf.Config.Env)
	env = append(env,
		"INJECTOR_DIR=/secrets",
		`INJECTOR_SPEC=[{"from":"secretsmanager:`+name+`","path":"db-password"}]`,
		"AWS_REGION=us-east-1",
		"AWS_ENDPOINT_URL="+moto.URL,
		"AWS_CONTAINER_CREDENTIALS_FULL_URI="+creds.url,
		"AWS_CONTAINER_AUTHORIZATION_TOKEN="+creds.token,
	)

	t.Run("volume owned by the injector", func(t *testing.T) {
		code, stderr, vol := runLikeECS(t, rootfs, cf, env, "65532:65532", "0750")
		t.Logf("injector log:\n%s", stderr)
		if code != 0 {
			t.Fatalf("exit %d, want 0:\n%s", code, stderr)
		}
		if strings.Contains(stderr, secret) {
			t.Fatal("the secret value is in the log")
		}
		if creds.calls.Load() == 0 {
			t.Error("the injector did not get its credentials from the container credentials endpoint")
		}
		// The visible name may be the file itself or a symbolic link into
		// the current generation: resolve it, inside the volume.
		visible := filepath.Join(vol, "db-password")
		target, err := filepath.EvalSymlinks(visible)
		if err != nil {
			t.Fatal(err)
		}
		if rel, err := filepath.Rel(vol, target); err != nil || !filepath.IsLocal(rel) {
			t.Fatalf("db-password resolves to %s, outside the volume", target)
		}
		fi, err := os.Lstat(target)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o400 || st.Uid != UID || st.Gid != GID {
			t.Errorf("db-password is %v owned by %d:%d, want a 0400 file owned by 65532:65532", fi.Mode(), st.Uid, st.Gid)
		}
		if data, err := os.ReadFile(target); err != nil || string(data) != secret {
			t.Errorf("db-password holds the wrong value (%v)", err)
		}
	})

	t.Run("volume owned by root", func(t *testing.T) {
		code, stderr, vol := runLikeECS(t, rootfs, cf, env, "0:0", "0755")
		t.Logf("injector log:\n%s", stderr)
		if code != 5 {
			t.Fatalf("exit %d, want 5 (write error):\n%s", code, stderr)
		}
		for _, why := range []string{"permission denied", "INJECTOR_DIR /secrets is owned by 0:0 with mode 0755", "runs as 65532:65532"} {
			if !strings.Contains(stderr, why) {
				t.Errorf("the log does not say %q:\n%s", why, stderr)
			}
		}
		if strings.Contains(stderr, secret) {
			t.Fatal("the secret value is in the log")
		}
		if ents, err := os.ReadDir(vol); err != nil || len(ents) != 0 {
			t.Errorf("the volume holds %d entries (%v), want none", len(ents), err)
		}
	})
}

// runLikeECS runs the image's entrypoint in a new mount namespace: the root
// filesystem bound read-only, a tmpfs with the given owner and mode on
// /secrets, chroot as the image's user, a clean environment. It returns the
// exit code, the log and a copy of the volume as the injector left it.
func runLikeECS(t *testing.T, rootfs string, cf *v1.ConfigFile, env []string, volOwner, volMode string) (int, string, string) {
	t.Helper()
	snapshot := filepath.Join(t.TempDir(), "volume")
	if err := os.Mkdir(snapshot, 0o700); err != nil {
		t.Fatal(err)
	}
	uid, gid, _ := strings.Cut(volOwner, ":")
	const script = `
root=$1 snapshot=$2 uid=$3 gid=$4 mode=$5 user=$6; shift 6
mount --bind "$root" "$root" && mount -o remount,bind,ro "$root" || exit 90
mount -t tmpfs -o "size=1m,uid=$uid,gid=$gid,mode=$mode" injector-volume "$root/secrets" || exit 91
rc=0
chroot --userspec="$user" "$root" "$@" || rc=$?
cp -a "$root/secrets/." "$snapshot/" || exit 92
exit $rc
`
	args := []string{"-m", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh",
		rootfs, snapshot, uid, gid, volMode, cf.Config.User}
	args = append(args, cf.Config.Entrypoint...)
	args = append(args, cf.Config.Cmd...)
	cmd := exec.Command("unshare", args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	if code >= 90 {
		t.Fatalf("setting up the container failed (exit %d):\n%s", code, stderr.String())
	}
	return code, stderr.String(), snapshot
}

// extract writes entries under dir as the container runtime unpacks an
// image: owners, modes and all, and the root itself searchable by everyone.
func extract(t *testing.T, entries []Entry, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !filepath.IsLocal(filepath.FromSlash(e.Path)) {
			t.Fatalf("entry %s leaves the root", e.Path)
		}
		p := filepath.Join(dir, filepath.FromSlash(e.Path))
		var err error
		if e.Dir() {
			err = os.Mkdir(p, 0o700)
		} else {
			err = os.WriteFile(p, e.Data, 0o600)
		}
		if err == nil {
			err = os.Lchown(p, e.UID, e.GID)
		}
		if err == nil {
			err = os.Chmod(p, e.Mode.Perm())
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// requireUnshare skips the test where a new mount namespace is not
// permitted, unless requireRunEnv says it must run.
func requireUnshare(t *testing.T) {
	t.Helper()
	out, err := exec.Command("unshare", "-m", "--propagation", "private", "--", "true").CombinedOutput()
	if err == nil {
		if _, err := exec.LookPath("chroot"); err == nil {
			return
		}
		err = errors.New("chroot not found")
	}
	msg := fmt.Sprintf("cannot run the image as ECS would: `unshare -m` is not permitted here (%v: %s); it needs root (CAP_SYS_ADMIN and CAP_SYS_CHROOT)", err, bytes.TrimSpace(out))
	if os.Getenv(requireRunEnv) == "1" {
		t.Fatalf("%s, and %s=1", msg, requireRunEnv)
	}
	t.Skip(msg)
}

// credsEndpoint stands in for the ECS container credentials endpoint.
type credsEndpoint struct {
	url, token string
	calls      atomic.Int64
}

func credentialsEndpoint(t *testing.T) *credsEndpoint {
	t.Helper()
	c := &credsEndpoint{token: randomHex(16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != c.token {
			http.Error(w, "bad authorization token", http.StatusUnauthorized)
			return
		}
		c.calls.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]string{
			"AccessKeyId":     "ASIATESTTESTTEST",
			"SecretAccessKey": "test-secret-access-key",
			"Token":           "test-session-token",
			"Expiration":      time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		})
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL + "/v2/credentials/" + randomHex(8)
	return c
}

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
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// These tests build the real image with scripts/image.sh, twice, and run it
// the way ECS does. They need git and the Go toolchain; the run needs root
// (unshare, mount, chroot) and moto_server.

const (
	// requireRunEnv makes a missing unshare permission a failure instead
	// of a skip: CI sets it (.ci/run), since it runs as root.
	requireRunEnv = "INJECTOR_REQUIRE_IMAGE_RUN"
	// requireIntegrationEnv makes a missing moto_server a failure
	// (scripts/test.sh sets it).
	requireIntegrationEnv = "INJECTOR_REQUIRE_INTEGRATION"
)

// build is one run of scripts/image.sh.
type build struct {
	checkout string // the copy of the tree it ran in
	tmp      string // its TMPDIR
	layout   string // the OCI layout it wrote
	stdout   string // what it printed: the index digest
}

var builds struct {
	work  string // removed by TestMain
	epoch string
	repo  string
	setup sync.Once
	err   error
	runs  [2]struct {
		once sync.Once
		b    build
		err  error
	}
}

// builtLayouts builds the image from two copies of the working tree at
// different paths, one after the other, with different temporary
// directories, umasks and time zones. The builds are shared by the tests.
func builtLayouts(t testing.TB) (build, build) {
	t.Helper()
	return builtLayout(t, 0), builtLayout(t, 1)
}

// builtLayout is the i-th build (0 or 1) of builtLayouts.
func builtLayout(t testing.TB, i int) build {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the image for two platforms")
	}
	builds.setup.Do(func() {
		builds.err = func() error {
			work, err := os.MkdirTemp("", "image-e2e-")
			if err != nil {
				return err
			}
			builds.work = work
			if builds.repo, err = filepath.Abs(filepath.Join("..", "..")); err != nil {
				return err
			}
			if builds.epoch, err = commitTime(builds.repo); err != nil {
				return err
			}
			// Both copies now, so that both builds see the same tree even
			// when the second one runs later.
			for i := range builds.runs {
				if builds.runs[i].b, err = copyCheckout(i); err != nil {
					return err
				}
			}
			return nil
		}()
	})
	if builds.err != nil {
		t.Fatal(builds.err)
	}
	run := &builds.runs[i]
	run.once.Do(func() { run.err = buildCopy(&run.b, i) })
	if run.err != nil {
		t.Fatal(run.err)
	}
	return run.b
}

// copyCheckout makes the i-th copy of the working tree, committed.
func copyCheckout(i int) (build, error) {
	var b build
	b.checkout = filepath.Join(builds.work, fmt.Sprintf("checkout-%d-%s", i, randomHex(4)), "injector")
	b.tmp = filepath.Join(builds.work, fmt.Sprintf("tmp-%d-%s", i, randomHex(4)))
	b.layout = filepath.Join(builds.work, fmt.Sprintf("layout-%d", i))
	if err := copyTree(builds.repo, b.checkout); err != nil {
		return b, err
	}
	if err := commitAll(b.checkout, builds.epoch); err != nil {
		return b, err
	}
	return b, os.Mkdir(b.tmp, 0o700)
}

// buildCopy runs scripts/image.sh in the i-th copy of the working tree.
func buildCopy(b *build, i int) error {
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
	return nil
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
func readLayout(t testing.TB, dir string) v1.ImageIndex {
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
	// Every manifest, the attestations (SBOM and provenance) included, is
	// the same; the platform images are the two the index names.
	var platforms []string
	attestations := 0
	for i := range ma.Manifests {
		if IsAttestation(ma.Manifests[i]) {
			attestations++
		} else {
			platforms = append(platforms, ma.Manifests[i].Platform.String())
		}
		if i >= len(mb.Manifests) || ma.Manifests[i].Digest != mb.Manifests[i].Digest {
			t.Errorf("manifest %d (%s) differs between the builds", i, ma.Manifests[i].Platform)
		}
	}
	if len(mb.Manifests) != len(ma.Manifests) {
		t.Errorf("the builds' indexes hold %d and %d manifests", len(ma.Manifests), len(mb.Manifests))
	}
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) || attestations != 2 {
		t.Errorf("index holds the images %v and %d attestation manifests, want linux/amd64 and linux/arm64 with one each", platforms, attestations)
	}
	attsA, attsB := attestationsOf(t, ia), attestationsOf(t, ib)
	for _, p := range Platforms() {
		if attsA[p.String()].manifest != attsB[p.String()].manifest {
			t.Errorf("%s: the attestation manifests differ between the builds", p)
		}
		if got := attsA[p.String()].sbom.CreationInfo.Created; got != time.Unix(secsOf(t, a.checkout), 0).UTC().Format(time.RFC3339) {
			t.Errorf("%s: the SBOM was created %s, want the commit time", p, got)
		}
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

// secsOf is the commit time of HEAD in a checkout.
func secsOf(t testing.TB, checkout string) int64 {
	t.Helper()
	out, err := exec.Command("git", "-C", checkout, "log", "-1", "--format=%ct").Output()
	if err != nil {
		t.Fatal(err)
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return secs
}

// TestImageSBOMListsTheBinaryModules reads the SBOM of each platform image
// back from the layout and holds it to `go version -m` of the binaries the
// image holds: the same modules at the same versions, the toolchain, and
// the platform manifest as its subject.
func TestImageSBOMListsTheBinaryModules(t *testing.T) {
	a := builtLayout(t, 0)
	idx := readLayout(t, a.layout)
	atts := attestationsOf(t, idx)
	for _, p := range Platforms() {
		t.Run(p.String(), func(t *testing.T) {
			img := platformImage(t, idx, p.String())
			d, err := img.Digest()
			if err != nil {
				t.Fatal(err)
			}
			att := atts[p.String()]
			if att.image != d {
				t.Errorf("the attestation manifest refers to %s, the image is %s", att.image, d)
			}
			for pt, subj := range att.subjects {
				if len(subj) != 1 || subj[0].Digest["sha256"] != d.Hex {
					t.Errorf("the %s statement is about %+v, want the platform manifest %s", pt, subj, d)
				}
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			version := cf.Config.Labels[LabelVersion]
			files := map[string][]byte{}
			for _, e := range layerEntries(t, img) {
				files["/"+e.Path] = e.Data
			}
			for _, path := range []string{Binary, Helper} {
				bin := filepath.Join(t.TempDir(), filepath.Base(path))
				if err := os.WriteFile(bin, files[path], 0o600); err != nil {
					t.Fatal(err)
				}
				out, err := exec.Command("go", "version", "-m", bin).Output()
				if err != nil {
					t.Fatalf("go version -m %s: %v", path, err)
				}
				want := goVersionModules(t, string(out), version)
				got := containedModules(t, att.sbom, path)
				if !slices.Equal(got, want) {
					t.Errorf("%s: the SBOM lists\n%v\n`go version -m` says\n%v", path, got, want)
				}
				if path == Binary && len(want) < 10 {
					// The AWS SDK's modules, at least.
					t.Errorf("%s: only %v", path, want)
				}
			}
		})
	}
}

// goVersionModules lists the main module, the toolchain (as stdlib) and
// the dependencies `go version -m` printed, as "path@version", sorted: a
// replaced module at its replacement's version, the main module (devel)
// at the image's version.
func goVersionModules(t testing.TB, out, version string) []string {
	t.Helper()
	var mods []string
	lines := strings.Split(strings.TrimSpace(out), "\n")
	_, goVersion, ok := strings.Cut(lines[0], ": ")
	if !ok {
		t.Fatalf("go version -m printed %q first", lines[0])
	}
	mods = append(mods, "stdlib@"+goVersion)
	for _, line := range lines[1:] {
		f := strings.Split(strings.TrimSpace(line), "\t")
		switch {
		case len(f) >= 3 && f[0] == "mod":
			v := f[2]
			if v == "(devel)" {
				v = version
			}
			mods = append(mods, f[1]+"@"+v)
		case len(f) >= 3 && f[0] == "dep":
			mods = append(mods, f[1]+"@"+f[2])
		case len(f) >= 3 && f[0] == "=>":
			last := mods[len(mods)-1]
			mods[len(mods)-1] = last[:strings.LastIndex(last, "@")+1] + f[2]
		}
	}
	slices.Sort(mods)
	return mods
}

// credsEndpoint stands in for the ECS container credentials endpoint.
type credsEndpoint struct {
	url, token string
	calls      atomic.Int64
}

func credentialsEndpoint(t testing.TB) *credsEndpoint {
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

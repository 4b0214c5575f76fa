package image

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var created = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func digestOf(t *testing.T, idx v1.ImageIndex) string {
	t.Helper()
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestIndexIsReproducible(t *testing.T) {
	build := func(s Spec) string {
		idx, err := Index(s)
		if err != nil {
			t.Fatal(err)
		}
		return digestOf(t, idx)
	}
	first := build(testSpec(created, fakeBinaries()))
	if again := build(testSpec(created, fakeBinaries())); again != first {
		t.Fatalf("same input, digests %s and %s", first, again)
	}
	changed := map[string]Spec{
		"created": testSpec(created.Add(time.Second), fakeBinaries()),
		"binary":  testSpec(created, map[string][]byte{"linux/amd64": fakeGoBinary("other", Package), "linux/arm64": fakeBinaries()["linux/arm64"]}),
		"version": {Version: "v1.2.4", Commit: "0123abc", Created: created, Binaries: fakeBinaries(), Helpers: fakeHelpers()},
		"helper":  {Version: "v1.2.3", Commit: "0123abc", Created: created, Binaries: fakeBinaries(), Helpers: map[string][]byte{"linux/amd64": fakeHelpers()["linux/amd64"], "linux/arm64": fakeGoBinary("other", HelperPackage)}},
	}
	for what, s := range changed {
		if build(s) == first {
			t.Errorf("changing the %s left the digest as it was", what)
		}
	}
}

func TestIndexRejects(t *testing.T) {
	tests := map[string]Spec{
		"version with a space": {Version: "v1 2", Commit: "abc", Binaries: fakeBinaries(), Helpers: fakeHelpers()},
		"empty commit":         {Version: "v1", Commit: "", Binaries: fakeBinaries(), Helpers: fakeHelpers()},
		"ldflags injection":    {Version: "v1", Commit: "abc -X main.x=y", Binaries: fakeBinaries(), Helpers: fakeHelpers()},
		"missing arm64 binary": {Version: "v1", Commit: "abc", Binaries: map[string][]byte{"linux/amd64": []byte("x")}, Helpers: fakeHelpers()},
		"missing arm64 helper": {Version: "v1", Commit: "abc", Binaries: fakeBinaries(), Helpers: map[string][]byte{"linux/amd64": []byte("x")}},
		"not a Go binary":      {Version: "v1", Commit: "abc", Binaries: map[string][]byte{"linux/amd64": []byte("x"), "linux/arm64": []byte("y")}, Helpers: fakeHelpers()},
	}
	for name, s := range tests {
		if _, err := Index(s); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestImageConfig(t *testing.T) {
	idx, err := Index(testSpec(created, fakeBinaries()))
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	// The two platform images, then an attestation manifest for each.
	var images, attestations int
	for _, d := range m.Manifests {
		if IsAttestation(d) {
			attestations++
		} else if d.Platform != nil && d.Platform.OS == "linux" {
			images++
		}
	}
	if m.MediaType != types.OCIImageIndex || len(m.Manifests) != 4 || images != 2 || attestations != 2 {
		t.Fatalf("index %s with %d manifests (%d images, %d attestations), want an OCI index of 2 images and their 2 attestations", m.MediaType, len(m.Manifests), images, attestations)
	}
	var baseDigests []string
	for _, p := range Platforms() {
		t.Run(p.String(), func(t *testing.T) {
			img := platformImage(t, idx, p.String())
			man, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if man.MediaType != types.OCIManifestSchema1 || man.Config.MediaType != types.OCIConfigJSON {
				t.Errorf("manifest %s, config %s: want OCI", man.MediaType, man.Config.MediaType)
			}
			for _, l := range man.Layers {
				if l.MediaType != types.OCILayer {
					t.Errorf("layer %s: %s", l.Digest, l.MediaType)
				}
			}
			baseDigests = append(baseDigests, man.Layers[0].Digest.String())
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			c := cf.Config
			if cf.OS != p.OS || cf.Architecture != p.Architecture || !cf.Created.Time.Equal(created) {
				t.Errorf("config %s/%s created %s", cf.OS, cf.Architecture, cf.Created)
			}
			for _, h := range cf.History {
				if !h.Created.Time.Equal(created) {
					t.Errorf("history %q created %s", h.Comment, h.Created)
				}
			}
			if c.User != "65532:65532" {
				t.Errorf("User %q", c.User)
			}
			if !slices.Equal(c.Entrypoint, []string{"/injector"}) || len(c.Cmd) != 0 {
				t.Errorf("Entrypoint %q Cmd %q", c.Entrypoint, c.Cmd)
			}
			if _, ok := c.Volumes["/secrets"]; !ok || len(c.Volumes) != 1 {
				t.Errorf("Volumes %v", c.Volumes)
			}
			if !slices.Equal(c.Env, Env()) {
				t.Errorf("Env %q", c.Env)
			}
			for k, v := range map[string]string{
				"org.opencontainers.image.version":  "v1.2.3",
				"org.opencontainers.image.revision": "0123abc",
				"org.opencontainers.image.source":   "https://github.com/ecs-secret-injector/injector",
			} {
				if c.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
				}
			}
		})
	}
	if len(baseDigests) == 2 && baseDigests[0] != baseDigests[1] {
		t.Errorf("the base layer differs between platforms: %v", baseDigests)
	}
}

func TestLayers(t *testing.T) {
	idx, err := Index(testSpec(created, fakeBinaries()))
	if err != nil {
		t.Fatal(err)
	}
	layers, err := platformImage(t, idx, "linux/arm64").Layers()
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		mode     string
		uid, gid int
	}
	wants := map[string]want{
		"etc/":                              {"drwxr-xr-x", 0, 0},
		"etc/group":                         {"-rw-r--r--", 0, 0},
		"etc/passwd":                        {"-rw-r--r--", 0, 0},
		"etc/ssl/":                          {"drwxr-xr-x", 0, 0},
		"etc/ssl/certs/":                    {"drwxr-xr-x", 0, 0},
		"etc/ssl/certs/ca-certificates.crt": {"-rw-r--r--", 0, 0},
		"secrets/":                          {"drwxr-x---", 65532, 65532},
		"injector":                          {"-rwxr-xr-x", 0, 0},
		"with-env":                          {"-rwxr-xr-x", 0, 0},
	}
	seen := map[string]bool{}
	for _, l := range layers {
		hs, data := layerHeaders(t, l)
		for i, h := range hs {
			if seen[h.Name] {
				t.Errorf("%s in two layers", h.Name)
			}
			seen[h.Name] = true
			if parent := path.Dir(trimSlash(h.Name)); parent != "." && !seen[parent+"/"] {
				t.Errorf("%s comes before its directory", h.Name)
			}
			w, ok := wants[h.Name]
			if !ok {
				t.Errorf("unexpected entry %s", h.Name)
				continue
			}
			if got := h.FileInfo().Mode().String(); got != w.mode || h.Uid != w.uid || h.Gid != w.gid {
				t.Errorf("%s: %s %d:%d, want %s %d:%d", h.Name, got, h.Uid, h.Gid, w.mode, w.uid, w.gid)
			}
			if !h.ModTime.Equal(created) || h.Uname != "" || h.Gname != "" || len(h.PAXRecords) != 0 {
				t.Errorf("%s: mtime %s, names %q/%q, PAX %v", h.Name, h.ModTime, h.Uname, h.Gname, h.PAXRecords)
			}
			switch h.Name {
			case "etc/passwd":
				if !bytes.Contains(data[i], []byte("\nnonroot:x:65532:65532:")) {
					t.Errorf("passwd has no nonroot user 65532:\n%s", data[i])
				}
			case "etc/group":
				if !bytes.Contains(data[i], []byte("\nnonroot:x:65532:")) {
					t.Errorf("group has no nonroot group 65532:\n%s", data[i])
				}
			case "injector":
				if !bytes.Equal(data[i], fakeBinaries()["linux/arm64"]) {
					t.Errorf("arm64 image holds %d bytes that are not the arm64 injector", len(data[i]))
				}
			case "with-env":
				if !bytes.Equal(data[i], fakeHelpers()["linux/arm64"]) {
					t.Errorf("arm64 image holds %d bytes that are not the arm64 helper", len(data[i]))
				}
			}
		}
	}
	for name := range wants {
		if !seen[name] {
			t.Errorf("%s missing", name)
		}
	}
}

func TestCACertificates(t *testing.T) {
	data, err := CACertificates()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			if len(bytes.TrimSpace(rest)) != 0 {
				t.Fatal("trailing data after the last certificate")
			}
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if !c.IsCA {
			t.Errorf("%s is not a CA", c.Subject)
		}
		names = append(names, c.Subject.CommonName)
	}
	if len(names) < 100 {
		t.Errorf("only %d roots", len(names))
	}
	// AWS endpoints chain to Amazon's roots (and to Starfield's).
	for _, want := range []string{"Amazon Root CA 1", "Starfield Services Root Certificate Authority - G2"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %q root", want)
		}
	}
}

func TestWriteRootFS(t *testing.T) {
	dir := t.TempDir()
	if err := WriteRootFS(dir); err == nil || !strings.Contains(err.Error(), "binary must be built first") {
		t.Fatalf("without a binary: %v", err)
	}
	// The layout itself, against the image, is TestDockerfileBuildsTheImage.
}

func TestWriteLayoutRefusesExistingDir(t *testing.T) {
	idx, err := Index(testSpec(created, fakeBinaries()))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteLayout(dir, idx, "v1"); err == nil {
		t.Fatal("wrote into an existing directory")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left %d entries behind", len(ents))
	}
	out := filepath.Join(dir, "layout")
	if err := WriteLayout(out, idx, "v1"); err != nil {
		t.Fatal(err)
	}
	top, err := layout.ImageIndexFromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 || m.Manifests[0].Digest.String() != digestOf(t, idx) || m.Manifests[0].Annotations[AnnotationRef] != "v1" {
		t.Fatalf("index.json %+v: want the image index, named v1", m.Manifests)
	}
}

package image

import (
	"archive/tar"
	"errors"
	"io"
	"io/fs"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func testSpec(created time.Time, bins map[string][]byte) Spec {
	return Spec{Version: "v1.2.3", Commit: "0123abc", Created: created, Binaries: bins, Helpers: fakeHelpers()}
}

func fakeHelpers() map[string][]byte {
	return map[string][]byte{"linux/amd64": []byte("amd64 helper"), "linux/arm64": []byte("arm64 helper")}
}

func fakeBinaries() map[string][]byte {
	return map[string][]byte{"linux/amd64": []byte("amd64 injector"), "linux/arm64": []byte("arm64 injector")}
}

// platformImage returns the image for platform ("linux/amd64") in idx.
func platformImage(t testing.TB, idx v1.ImageIndex, platform string) v1.Image {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.String() == platform {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("no %s image in the index", platform)
	return nil
}

// layerHeaders reads the tar headers and contents of one layer.
func layerHeaders(t testing.TB, l v1.Layer) ([]*tar.Header, [][]byte) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var hs []*tar.Header
	var data [][]byte
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return hs, data
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
		data = append(data, b)
	}
}

// layerEntries flattens img's layers into entries, in layer order. It
// accepts only directories and regular files.
func layerEntries(t testing.TB, img v1.Image) []Entry {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []Entry
	for _, l := range layers {
		hs, data := layerHeaders(t, l)
		for i, h := range hs {
			e := Entry{Path: trimSlash(h.Name), Mode: fs.FileMode(h.Mode).Perm(), UID: h.Uid, GID: h.Gid, Data: data[i]}
			switch h.Typeflag {
			case tar.TypeDir:
				e.Mode |= fs.ModeDir
				e.Data = nil
			case tar.TypeReg:
			default:
				t.Fatalf("%s: tar entry type %q; the image has only files and directories", h.Name, h.Typeflag)
			}
			out = append(out, e)
		}
	}
	return out
}

func trimSlash(p string) string {
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}

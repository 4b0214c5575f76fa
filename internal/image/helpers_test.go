package image

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func testSpec(created time.Time, bins map[string][]byte) Spec {
	return Spec{Version: "v1.2.3", Commit: "0123abc", Created: created, Binaries: bins, Helpers: fakeHelpers()}
}

func fakeHelpers() map[string][]byte {
	return map[string][]byte{"linux/amd64": fakeGoBinary("amd64 helper", HelperPackage), "linux/arm64": fakeGoBinary("arm64 helper", HelperPackage)}
}

func fakeBinaries() map[string][]byte {
	return map[string][]byte{"linux/amd64": fakeGoBinary("amd64 injector", Package), "linux/arm64": fakeGoBinary("arm64 injector", Package)}
}

// fakeBuildInfo is the build information of the fake binaries.
func fakeBuildInfo(pkg string) *debug.BuildInfo {
	return &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Path:      "github.com/ecs-secret-injector/injector/" + strings.TrimPrefix(pkg, "./"),
		Main:      debug.Module{Path: "github.com/ecs-secret-injector/injector", Version: "(devel)"},
		Deps: []*debug.Module{
			{Path: "example.com/dep", Version: "v1.2.0", Sum: "h1:" + base64.StdEncoding.EncodeToString(make([]byte, 32))},
			{Path: "example.com/old", Version: "v0.1.0", Sum: "h1:AAAA", Replace: &debug.Module{Path: "example.com/fork", Version: "v0.1.1", Sum: "h1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))}},
		},
		Settings: []debug.BuildSetting{{Key: "-trimpath", Value: "true"}, {Key: "CGO_ENABLED", Value: "0"}},
	}
}

// fakeGoBinary is a minimal ELF file that holds what the Go linker writes
// for debug/buildinfo (the build information blob in a writable loadable
// segment, its strings inline) and then label, which tells the fakes apart.
func fakeGoBinary(label, pkg string) []byte {
	const headerSize, phdrSize, blobAt = 64, 56, 128
	info := fakeBuildInfo(pkg)
	var blob []byte
	blob = append(blob, "\xff Go buildinf:"...)
	blob = append(blob, 8, 2) // pointer size; strings inline, little-endian
	blob = append(blob, make([]byte, 16)...)
	blob = binary.AppendUvarint(blob, uint64(len(info.GoVersion)))
	blob = append(blob, info.GoVersion...)
	// The module information sits between two 16-byte sentinels.
	mod := strings.Repeat("s", 16) + info.String() + strings.Repeat("e", 16)
	blob = binary.AppendUvarint(blob, uint64(len(mod)))
	blob = append(blob, mod...)
	size := uint64(blobAt + len(blob) + len(label))

	le := binary.LittleEndian
	f := make([]byte, blobAt)
	copy(f, "\x7fELF\x02\x01\x01")
	le.PutUint16(f[16:], uint16(elf.ET_EXEC))
	le.PutUint16(f[18:], uint16(elf.EM_X86_64))
	le.PutUint32(f[20:], uint32(elf.EV_CURRENT))
	le.PutUint64(f[32:], headerSize) // program headers
	le.PutUint16(f[52:], headerSize)
	le.PutUint16(f[54:], phdrSize)
	le.PutUint16(f[56:], 1)
	le.PutUint16(f[58:], 64) // section header size; there are none
	ph := f[headerSize:]
	le.PutUint32(ph[0:], uint32(elf.PT_LOAD))
	le.PutUint32(ph[4:], uint32(elf.PF_W|elf.PF_R))
	le.PutUint64(ph[32:], size) // file size
	le.PutUint64(ph[40:], size) // memory size
	f = append(f, blob...)
	return append(f, label...)
}

// platformImage returns the image for platform ("linux/amd64") in idx.
func platformImage(t testing.TB, idx v1.ImageIndex, platform string) v1.Image {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		if !IsAttestation(d) && d.Platform != nil && d.Platform.String() == platform {
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

package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Spec is what one image build needs.
type Spec struct {
	Version, Commit string
	// Created is the commit time (SOURCE_DATE_EPOCH): every timestamp in
	// the image.
	Created time.Time
	// Binaries holds the injector binary for each platform, by
	// Platform.String() ("linux/amd64").
	Binaries map[string][]byte
	// Helpers holds the exec helper binary for each platform, the same way.
	Helpers map[string][]byte
	// Platforms to build, in index order; Platforms() if empty.
	Platforms []v1.Platform
}

// Index builds the multi-platform image index: an image per platform and,
// for each, an attestation manifest with the SBOM of its binaries and its
// provenance. The base layer (everything but the binaries) is the same for
// every platform.
func Index(s Spec) (v1.ImageIndex, error) {
	if err := errors.Join(checkVersion("version", s.Version), checkVersion("commit", s.Commit)); err != nil {
		return nil, err
	}
	platforms := s.Platforms
	if len(platforms) == 0 {
		platforms = Platforms()
	}
	base, err := BaseEntries()
	if err != nil {
		return nil, err
	}
	baseLayer, err := Layer(base, s.Created)
	if err != nil {
		return nil, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var attestations []mutate.IndexAddendum
	for _, p := range platforms {
		bin, ok := s.Binaries[p.String()]
		if !ok {
			return nil, fmt.Errorf("no injector binary for %s", p)
		}
		helper, ok := s.Helpers[p.String()]
		if !ok {
			return nil, fmt.Errorf("no exec helper binary for %s", p)
		}
		binLayer, err := Layer([]Entry{BinaryEntry(bin), HelperEntry(helper)}, s.Created)
		if err != nil {
			return nil, err
		}
		img, err := imageFor(p, s, baseLayer, binLayer)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &p},
		})
		att, desc, err := attestationManifest(p, s, img, []imageBinary{{Binary, bin}, {Helper, helper}})
		if err != nil {
			return nil, err
		}
		attestations = append(attestations, mutate.IndexAddendum{Add: att, Descriptor: desc})
	}
	// The platform images first, then their attestations, as BuildKit
	// orders them.
	return mutate.AppendManifests(idx, attestations...), nil
}

func imageFor(p v1.Platform, s Spec, layers ...v1.Layer) (v1.Image, error) {
	img, err := mutate.ConfigFile(empty.Image, ConfigFile(p, s.Version, s.Commit, s.Created))
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	what := []string{"root filesystem: /etc (users, groups, CA certificates) and " + VolumeDir, "injector binary " + Binary + " and exec helper " + Helper}
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		adds[i] = mutate.Addendum{
			Layer:   l,
			History: v1.History{Created: v1.Time{Time: s.Created.UTC()}, CreatedBy: "internal/tools/imagebuild", Comment: what[i]},
		}
	}
	return mutate.Append(img, adds...)
}

// Layer is a gzipped tar layer of entries: sorted, every parent directory
// listed before its children, owners and modes as given and every
// timestamp set to created.
func Layer(entries []Entry, created time.Time) (v1.Layer, error) {
	data, err := layerTar(entries, created)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestCompression), tarball.WithCompressedCaching)
}

func layerTar(entries []Entry, created time.Time) ([]byte, error) {
	sorted, err := sortedEntries(entries)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range sorted {
		h := &tar.Header{
			Name:     e.Path,
			Mode:     int64(e.Mode.Perm()),
			Uid:      e.UID,
			Gid:      e.GID,
			ModTime:  created.UTC().Truncate(time.Second),
			Typeflag: tar.TypeReg,
			Size:     int64(len(e.Data)),
			Format:   tar.FormatPAX,
		}
		if e.Dir() {
			h.Name += "/"
			h.Typeflag = tar.TypeDir
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Path, err)
		}
		if _, err := tw.Write(e.Data); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteLayout writes idx as an OCI image layout in dir, which must not exist
// yet. index.json holds one entry, the image index, named by version, so
// `crane push DIR REF` and `skopeo copy --all oci:DIR REF` push the whole
// index.
func WriteLayout(dir string, idx v1.ImageIndex, version string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("creating the layout directory: %w", err)
	}
	top := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), mutate.IndexAddendum{
		Add:        idx,
		Descriptor: v1.Descriptor{Annotations: map[string]string{AnnotationRef: version}},
	})
	if _, err := layout.Write(dir, top); err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	return nil
}

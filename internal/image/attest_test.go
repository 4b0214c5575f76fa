package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// attested is what the attestation manifest of one platform image says.
type attested struct {
	image      v1.Hash // the platform manifest's digest
	manifest   v1.Hash // the attestation manifest's
	sbom       spdxDocument
	provenance slsaProvenance
	subjects   map[string][]inTotoSubject // by predicate type
}

// attestationsOf reads the attestation manifest of each platform image in
// idx, by platform, and checks its shape: BuildKit's, one per image.
func attestationsOf(t testing.TB, idx v1.ImageIndex) map[string]attested {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	platformOf := map[v1.Hash]string{}
	for _, d := range m.Manifests {
		if !IsAttestation(d) && d.Platform != nil {
			platformOf[d.Digest] = d.Platform.String()
		}
	}
	out := map[string]attested{}
	for _, d := range m.Manifests {
		if !IsAttestation(d) {
			continue
		}
		if d.Platform == nil || d.Platform.String() != AttestationPlatform().String() || d.MediaType != types.OCIManifestSchema1 {
			t.Fatalf("attestation manifest %s: platform %v, media type %s; want unknown/unknown, an OCI manifest", d.Digest, d.Platform, d.MediaType)
		}
		ref, err := v1.NewHash(d.Annotations[AnnotationReferenceDigest])
		if err != nil {
			t.Fatalf("attestation manifest %s: reference digest: %v", d.Digest, err)
		}
		platform, ok := platformOf[ref]
		if !ok {
			t.Fatalf("attestation manifest %s refers to %s, not a platform image of the index", d.Digest, ref)
		}
		if _, dup := out[platform]; dup {
			t.Fatalf("two attestation manifests for %s", platform)
		}
		a := attested{image: ref, manifest: d.Digest, subjects: map[string][]inTotoSubject{}}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		man, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for i, l := range man.Layers {
			pt := l.Annotations[AnnotationPredicateType]
			types = append(types, pt)
			if l.MediaType != MediaTypeInToto {
				t.Errorf("%s attestation layer %d: media type %s", platform, i, l.MediaType)
			}
			rc, err := layers[i].Compressed()
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			_ = rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			var st statement
			if err := json.Unmarshal(data, &st); err != nil {
				t.Fatalf("%s attestation %s: %v", platform, pt, err)
			}
			if st.Type != "https://in-toto.io/Statement/v0.1" || st.PredicateType != pt {
				t.Errorf("%s attestation: statement %s of %s, annotated %s", platform, st.Type, st.PredicateType, pt)
			}
			a.subjects[pt] = st.Subject
			var into any
			switch pt {
			case PredicateSPDX:
				into = &a.sbom
			case PredicateSLSA:
				into = &a.provenance
			default:
				t.Fatalf("%s attestation: predicate type %q", platform, pt)
			}
			if err := json.Unmarshal(st.Predicate, into); err != nil {
				t.Fatalf("%s attestation %s: predicate: %v", platform, pt, err)
			}
		}
		if !slices.Equal(types, []string{PredicateSPDX, PredicateSLSA}) {
			t.Errorf("%s attestation holds %v, want the SPDX SBOM and the SLSA provenance", platform, types)
		}
		out[platform] = a
	}
	if len(out) != len(platformOf) {
		t.Fatalf("attestations for %d platforms, the index has %d images", len(out), len(platformOf))
	}
	return out
}

// containedModules lists what the SBOM says the binary at path (in the
// image) is made of, as "path@version", sorted.
func containedModules(t testing.TB, doc spdxDocument, path string) []string {
	t.Helper()
	byID := map[string]spdxPackage{}
	binID := ""
	for _, p := range doc.Packages {
		if _, dup := byID[p.SPDXID]; dup {
			t.Errorf("SPDX ID %s twice", p.SPDXID)
		}
		byID[p.SPDXID] = p
		if p.PackageFileName == path {
			binID = p.SPDXID
		}
	}
	if binID == "" {
		t.Fatalf("the SBOM has no package for %s", path)
	}
	described := false
	var mods []string
	for _, r := range doc.Relationships {
		if r.SPDXElementID == spdxDocumentID && r.RelationshipType == "DESCRIBES" && r.RelatedSPDXElement == binID {
			described = true
		}
		if r.SPDXElementID == binID && r.RelationshipType == "CONTAINS" {
			p, ok := byID[r.RelatedSPDXElement]
			if !ok {
				t.Errorf("%s contains %s, which the SBOM does not list", path, r.RelatedSPDXElement)
			}
			mods = append(mods, p.Name+"@"+p.VersionInfo)
		}
	}
	if !described {
		t.Errorf("the SBOM does not describe %s", path)
	}
	slices.Sort(mods)
	return mods
}

func TestAttestations(t *testing.T) {
	s := testSpec(created, fakeBinaries())
	s.Commit = strings.Repeat("0123abcd", 5)
	idx, err := Index(s)
	if err != nil {
		t.Fatal(err)
	}
	atts := attestationsOf(t, idx)
	namespaces := map[string]bool{}
	for _, p := range Platforms() {
		t.Run(p.String(), func(t *testing.T) {
			a, ok := atts[p.String()]
			if !ok {
				t.Fatal("no attestation manifest")
			}
			img := platformImage(t, idx, p.String())
			d, err := img.Digest()
			if err != nil {
				t.Fatal(err)
			}
			if a.image != d {
				t.Errorf("the attestation refers to %s, the image is %s", a.image, d)
			}
			for pt, subj := range a.subjects {
				if len(subj) != 1 || subj[0].Digest["sha256"] != d.Hex || !strings.Contains(subj[0].Name, "platform="+strings.ReplaceAll(p.String(), "/", "%2F")) {
					t.Errorf("%s subject %+v, want the %s manifest %s", pt, subj, p, d)
				}
			}

			doc := a.sbom
			if doc.SPDXVersion != "SPDX-2.3" || doc.DataLicense != "CC0-1.0" || doc.SPDXID != "SPDXRef-DOCUMENT" {
				t.Errorf("document header %s %s %s", doc.SPDXVersion, doc.DataLicense, doc.SPDXID)
			}
			if doc.CreationInfo.Created != created.Format(time.RFC3339) {
				t.Errorf("created %s, want the commit time %s", doc.CreationInfo.Created, created.Format(time.RFC3339))
			}
			if !strings.HasPrefix(doc.DocumentNamespace, Source+"/spdx/v1.2.3/linux-"+p.Architecture+"/") || namespaces[doc.DocumentNamespace] {
				t.Errorf("namespace %s: want one of its own under the source, version and platform", doc.DocumentNamespace)
			}
			namespaces[doc.DocumentNamespace] = true

			want := []string{
				"example.com/dep@v1.2.0",
				"example.com/old@v0.1.1", // replaced by example.com/fork v0.1.1
				"github.com/ecs-secret-injector/injector@v1.2.3",
				"stdlib@go1.26.8",
			}
			bins := map[string][]byte{Binary: fakeBinaries()[p.String()], Helper: fakeHelpers()[p.String()]}
			for path, data := range bins {
				if got := containedModules(t, doc, path); !slices.Equal(got, want) {
					t.Errorf("%s contains %v, want %v", path, got, want)
				}
				sum := sha256.Sum256(data)
				for _, pkg := range doc.Packages {
					if pkg.PackageFileName == path && (len(pkg.Checksums) != 1 || pkg.Checksums[0].ChecksumValue != hex.EncodeToString(sum[:])) {
						t.Errorf("%s checksums %v, want the SHA-256 of the binary", path, pkg.Checksums)
					}
				}
			}
			for _, pkg := range doc.Packages {
				switch pkg.Name {
				case "example.com/dep":
					if len(pkg.Checksums) != 1 || pkg.Checksums[0].ChecksumValue != strings.Repeat("00", 32) || len(pkg.ExternalRefs) != 1 || pkg.ExternalRefs[0].ReferenceLocator != "pkg:golang/example.com/dep@v1.2.0" {
						t.Errorf("example.com/dep: checksums %v, refs %v", pkg.Checksums, pkg.ExternalRefs)
					}
				case "example.com/old":
					if !strings.Contains(pkg.Comment, "replaced by example.com/fork v0.1.1") || pkg.Checksums[0].ChecksumValue != strings.Repeat("01", 32) {
						t.Errorf("example.com/old: comment %q, checksums %v", pkg.Comment, pkg.Checksums)
					}
				case "injector":
					if !strings.Contains(pkg.Comment, "github.com/ecs-secret-injector/injector/cmd/injector") || !strings.Contains(pkg.Comment, "CGO_ENABLED=0") {
						t.Errorf("injector: comment %q, want the package and build settings", pkg.Comment)
					}
				}
			}

			pr := a.provenance
			ext := pr.BuildDefinition.ExternalParameters
			if ext["source"] != Source || ext["revision"] != s.Commit || ext["version"] != "v1.2.3" || ext["platform"] != p.String() {
				t.Errorf("provenance parameters %v", ext)
			}
			deps := pr.BuildDefinition.ResolvedDependencies
			if len(deps) != 1 || deps[0].Digest["gitCommit"] != s.Commit || !strings.HasPrefix(deps[0].URI, "git+"+Source+"@") {
				t.Errorf("provenance dependencies %+v, want the source at the commit", deps)
			}
			if pr.RunDetails.Builder.ID == "" {
				t.Error("provenance names no builder")
			}
		})
	}
}

func TestSPDXIDs(t *testing.T) {
	a, b := spdxID("Package-go-module", "example.com/a-b@v1"), spdxID("Package-go-module", "example.com/a/b@v1")
	if a == b {
		t.Errorf("two modules, one ID %s", a)
	}
	for _, id := range []string{a, b} {
		if !strings.HasPrefix(id, "SPDXRef-Package-go-module-example.com-a-b-v1-") || strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
			t.Errorf("ID %s", id)
		}
	}
}

package image

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Each platform image has an attestation manifest in the index, as BuildKit
// stores them (docs/image.md says which tools read them): an OCI image
// manifest for the platform unknown/unknown, annotated with the digest of
// the platform manifest it describes, whose layers are in-toto statements,
// the SBOM and the SLSA provenance, each with the platform manifest as its
// subject.

// Media types, annotations and predicate types of the attestations.
const (
	MediaTypeInToto           = "application/vnd.in-toto+json"
	AnnotationPredicateType   = "in-toto.io/predicate-type"
	AnnotationReferenceType   = "vnd.docker.reference.type"
	AnnotationReferenceDigest = "vnd.docker.reference.digest"
	ReferenceTypeAttestation  = "attestation-manifest"
	PredicateSPDX             = "https://spdx.dev/Document"
	PredicateSLSA             = "https://slsa.dev/provenance/v1"
	inTotoStatement           = "https://in-toto.io/Statement/v0.1"
)

// AttestationPlatform is the platform of an attestation manifest in the
// index, which no engine picks to run.
func AttestationPlatform() v1.Platform { return v1.Platform{OS: "unknown", Architecture: "unknown"} }

// IsAttestation reports whether d, an index entry, is an attestation
// manifest rather than a platform image.
func IsAttestation(d v1.Descriptor) bool {
	return d.Annotations[AnnotationReferenceType] == ReferenceTypeAttestation
}

type inTotoSubject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type statement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Subject       []inTotoSubject `json:"subject"`
	Predicate     json.RawMessage `json:"predicate"`
}

// SLSA provenance v1, the fields this build fills.
type slsaProvenance struct {
	BuildDefinition struct {
		BuildType            string             `json:"buildType"`
		ExternalParameters   map[string]any     `json:"externalParameters"`
		InternalParameters   map[string]any     `json:"internalParameters"`
		ResolvedDependencies []slsaResourceDesc `json:"resolvedDependencies"`
	} `json:"buildDefinition"`
	RunDetails struct {
		Builder struct {
			ID string `json:"id"`
		} `json:"builder"`
	} `json:"runDetails"`
}

type slsaResourceDesc struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest,omitempty"`
}

// fullCommit is what a git commit ID looks like in full.
var fullCommit = regexp.MustCompile(`^[0-9a-f]{40}$|^[0-9a-f]{64}$`)

// provenance is the SLSA provenance of one platform image: the source and
// its revision, the parameters and the toolchain. It is not signed; it
// says how the image was made, which a rebuild from the same commit can
// check (the build is reproducible).
func provenance(p v1.Platform, s Spec, bins []imageBinary) ([]byte, error) {
	var pr slsaProvenance
	d := &pr.BuildDefinition
	d.BuildType = Source + "/scripts/image.sh"
	d.ExternalParameters = map[string]any{
		"source":          Source,
		"revision":        s.Commit,
		"version":         s.Version,
		"platform":        p.String(),
		"sourceDateEpoch": strconv.FormatInt(s.Created.Unix(), 10),
	}
	binaries := map[string]any{}
	for _, b := range bins {
		info, err := readBuildInfo(b)
		if err != nil {
			return nil, fmt.Errorf("%s for %s: %w", b.path, p, err)
		}
		settings := map[string]string{}
		for _, kv := range info.Settings {
			settings[kv.Key] = kv.Value
		}
		binaries[b.path] = map[string]any{"package": info.Path, "goVersion": info.GoVersion, "buildSettings": settings}
	}
	d.InternalParameters = map[string]any{"binaries": binaries}
	src := slsaResourceDesc{URI: "git+" + Source + "@" + url.PathEscape(s.Commit)}
	if fullCommit.MatchString(s.Commit) {
		src.Digest = map[string]string{"gitCommit": s.Commit}
	}
	d.ResolvedDependencies = []slsaResourceDesc{src}
	pr.RunDetails.Builder.ID = Source + "/internal/tools/imagebuild"
	return json.Marshal(pr)
}

// attestationManifest is the attestation manifest of the platform image
// img: its SBOM and provenance as in-toto statements about it.
func attestationManifest(p v1.Platform, s Spec, img v1.Image, bins []imageBinary) (v1.Image, v1.Descriptor, error) {
	digest, err := img.Digest()
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	sbom, err := spdxSBOM(p, s.Version, s.Created, bins)
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	prov, err := provenance(p, s, bins)
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	subject := []inTotoSubject{{
		Name:   "pkg:docker/ecs-secret-injector@" + url.PathEscape(s.Version) + "?platform=" + url.QueryEscape(p.String()),
		Digest: map[string]string{digest.Algorithm: digest.Hex},
	}}
	cfg := &v1.ConfigFile{
		Architecture: AttestationPlatform().Architecture,
		OS:           AttestationPlatform().OS,
		Created:      v1.Time{Time: s.Created.UTC()},
		RootFS:       v1.RootFS{Type: "layers"},
	}
	att, err := mutate.ConfigFile(empty.Image, cfg)
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	att = mutate.MediaType(att, types.OCIManifestSchema1)
	att = mutate.ConfigMediaType(att, types.OCIConfigJSON)
	var adds []mutate.Addendum
	for _, st := range []struct {
		predicateType string
		predicate     []byte
	}{{PredicateSPDX, sbom}, {PredicateSLSA, prov}} {
		data, err := json.Marshal(statement{Type: inTotoStatement, PredicateType: st.predicateType, Subject: subject, Predicate: st.predicate})
		if err != nil {
			return nil, v1.Descriptor{}, err
		}
		adds = append(adds, mutate.Addendum{
			Layer:       static.NewLayer(data, MediaTypeInToto),
			Annotations: map[string]string{AnnotationPredicateType: st.predicateType},
			History:     v1.History{Created: v1.Time{Time: s.Created.UTC()}, CreatedBy: "internal/tools/imagebuild", Comment: "attestation " + st.predicateType},
		})
	}
	att, err = mutate.Append(att, adds...)
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	plat := AttestationPlatform()
	return att, v1.Descriptor{
		Platform: &plat,
		Annotations: map[string]string{
			AnnotationReferenceType:   ReferenceTypeAttestation,
			AnnotationReferenceDigest: digest.String(),
		},
	}, nil
}

package image

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The SBOM is an SPDX 2.3 JSON document per platform, made from the Go
// build information the linker put into each binary of the image: the
// binary's main package and module, the Go toolchain, every dependency
// module with its version and go.sum hash, and the build settings. It is
// derived from the bytes the image holds alone, so it is as reproducible as
// they are: its only time is the commit time, and its namespace and
// element IDs are made from its content.

// SPDX document constants.
const (
	spdxVersion     = "SPDX-2.3"
	spdxDataLicense = "CC0-1.0"
	spdxDocumentID  = "SPDXRef-DOCUMENT"
	spdxNoAssertion = "NOASSERTION"
	// spdxCreator names the generator in the document's creation info.
	spdxCreator = "Tool: ecs-secret-injector-imagebuild"
)

type spdxDocument struct {
	SPDXVersion       string             `json:"spdxVersion"`
	DataLicense       string             `json:"dataLicense"`
	SPDXID            string             `json:"SPDXID"`
	Name              string             `json:"name"`
	DocumentNamespace string             `json:"documentNamespace"`
	CreationInfo      spdxCreationInfo   `json:"creationInfo"`
	Packages          []spdxPackage      `json:"packages"`
	Relationships     []spdxRelationship `json:"relationships"`
}

type spdxCreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	Name                  string            `json:"name"`
	SPDXID                string            `json:"SPDXID"`
	VersionInfo           string            `json:"versionInfo,omitempty"`
	PackageFileName       string            `json:"packageFileName,omitempty"`
	PrimaryPackagePurpose string            `json:"primaryPackagePurpose,omitempty"`
	DownloadLocation      string            `json:"downloadLocation"`
	FilesAnalyzed         bool              `json:"filesAnalyzed"`
	Checksums             []spdxChecksum    `json:"checksums,omitempty"`
	ExternalRefs          []spdxExternalRef `json:"externalRefs,omitempty"`
	Comment               string            `json:"comment,omitempty"`
}

type spdxChecksum struct {
	Algorithm     string `json:"algorithm"`
	ChecksumValue string `json:"checksumValue"`
}

type spdxExternalRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

type spdxRelationship struct {
	SPDXElementID      string `json:"spdxElementId"`
	RelationshipType   string `json:"relationshipType"`
	RelatedSPDXElement string `json:"relatedSpdxElement"`
}

// imageBinary is one Go binary of the image and where it is.
type imageBinary struct {
	path string // in the image: "/injector"
	data []byte
}

// readBuildInfo reads the Go build information of a binary.
func readBuildInfo(b imageBinary) (*buildinfo.BuildInfo, error) {
	return buildinfo.Read(bytes.NewReader(b.data))
}

// spdxSBOM is the SPDX document of the Go binaries one platform's image
// holds. version names the image; created is the commit time.
func spdxSBOM(p v1.Platform, version string, created time.Time, bins []imageBinary) ([]byte, error) {
	doc := spdxDocument{
		SPDXVersion: spdxVersion,
		DataLicense: spdxDataLicense,
		SPDXID:      spdxDocumentID,
		Name:        "ecs-secret-injector " + version + " " + p.String(),
		CreationInfo: spdxCreationInfo{
			Created:  created.UTC().Format(time.RFC3339),
			Creators: []string{spdxCreator},
		},
	}
	seen := map[string]bool{}
	add := func(pkg spdxPackage) {
		if !seen[pkg.SPDXID] {
			seen[pkg.SPDXID] = true
			doc.Packages = append(doc.Packages, pkg)
		}
	}
	for _, b := range bins {
		info, err := readBuildInfo(b)
		if err != nil {
			return nil, fmt.Errorf("reading the build information of %s for %s: %w", b.path, p, err)
		}
		sum := sha256.Sum256(b.data)
		bin := spdxPackage{
			Name:                  strings.TrimPrefix(b.path, "/"),
			SPDXID:                spdxID("Package-binary", b.path),
			VersionInfo:           version,
			PackageFileName:       b.path,
			PrimaryPackagePurpose: "APPLICATION",
			DownloadLocation:      spdxNoAssertion,
			Checksums:             []spdxChecksum{{Algorithm: "SHA256", ChecksumValue: hex.EncodeToString(sum[:])}},
			Comment:               buildComment(info),
		}
		add(bin)
		doc.Relationships = append(doc.Relationships, spdxRelationship{spdxDocumentID, "DESCRIBES", bin.SPDXID})
		contains := func(pkg spdxPackage) {
			add(pkg)
			doc.Relationships = append(doc.Relationships, spdxRelationship{bin.SPDXID, "CONTAINS", pkg.SPDXID})
		}
		main := info.Main
		if main.Version == "" || main.Version == "(devel)" {
			// Built from a checkout (-buildvcs=false): the image's version
			// is the module's.
			main.Version = version
		}
		contains(modulePackage(&main))
		contains(stdlibPackage(info.GoVersion))
		for _, dep := range info.Deps {
			contains(modulePackage(dep))
		}
	}

	// The namespace is unique to the content: a hash of the document
	// without it.
	content, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(content)
	doc.DocumentNamespace = Source + "/spdx/" + url.PathEscape(version) + "/" + strings.ReplaceAll(p.String(), "/", "-") + "/" + hex.EncodeToString(h[:])
	return json.Marshal(doc)
}

// modulePackage is the SPDX package of a Go module, replaced or not.
func modulePackage(m *debug.Module) spdxPackage {
	version, sum := m.Version, m.Sum
	var comments []string
	if m.Replace != nil {
		version, sum = m.Replace.Version, m.Replace.Sum
		comments = append(comments, "replaced by "+strings.TrimSpace(m.Replace.Path+" "+m.Replace.Version))
	}
	purl := "pkg:golang/" + m.Path
	if version != "" {
		purl += "@" + version
	}
	pkg := spdxPackage{
		Name:             m.Path,
		SPDXID:           spdxID("Package-go-module", m.Path+"@"+version),
		VersionInfo:      version,
		DownloadLocation: spdxNoAssertion,
		ExternalRefs:     []spdxExternalRef{purlRef(purl)},
	}
	// go.sum's h1: hash is a SHA-256 (of the module's file tree summary),
	// base64-encoded; SPDX takes it in hexadecimal.
	if raw, ok := strings.CutPrefix(sum, "h1:"); ok {
		if b, err := base64.StdEncoding.DecodeString(raw); err == nil && len(b) == sha256.Size {
			pkg.Checksums = []spdxChecksum{{Algorithm: "SHA256", ChecksumValue: hex.EncodeToString(b)}}
			comments = append([]string{"go.sum " + sum}, comments...)
		}
	}
	pkg.Comment = strings.Join(comments, "; ")
	return pkg
}

// stdlibPackage is the Go standard library and runtime the binary was
// linked with, named as vulnerability databases name it.
func stdlibPackage(goVersion string) spdxPackage {
	return spdxPackage{
		Name:             "stdlib",
		SPDXID:           spdxID("Package-go-stdlib", goVersion),
		VersionInfo:      goVersion,
		DownloadLocation: "https://go.dev/dl/",
		ExternalRefs:     []spdxExternalRef{purlRef("pkg:golang/stdlib@" + strings.TrimPrefix(goVersion, "go"))},
	}
}

func purlRef(purl string) spdxExternalRef {
	return spdxExternalRef{ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl", ReferenceLocator: purl}
}

// buildComment records the main package, the toolchain and the build
// settings of a binary.
func buildComment(info *buildinfo.BuildInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Go binary of package %s, built by %s", info.Path, info.GoVersion)
	if len(info.Settings) > 0 {
		b.WriteString(" with")
		for _, s := range info.Settings {
			fmt.Fprintf(&b, " %s=%s", s.Key, s.Value)
		}
	}
	return b.String()
}

// spdxIDChars are the characters an SPDX ID may not hold.
var spdxIDChars = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// spdxID is a readable SPDX ID for what (a path, or module@version), made
// unique by a short hash of it: two names that read alike once sanitized
// still get two IDs.
func spdxID(kind, what string) string {
	h := sha256.Sum256([]byte(what))
	name := strings.Trim(spdxIDChars.ReplaceAllString(what, "-"), "-")
	return "SPDXRef-" + kind + "-" + name + "-" + hex.EncodeToString(h[:4])
}

// Package image describes and builds the injector's container image without
// a container engine: the root filesystem, the configuration and the way the
// binary is compiled. scripts/image.sh builds an OCI image layout from it
// (through internal/tools/imagebuild) and the Dockerfile builds the same
// image; tests hold the two together.
//
// Builds are reproducible: the same commit and Go toolchain give the same
// digests wherever and whenever they run. Every timestamp is the commit time
// (SOURCE_DATE_EPOCH), owners and modes are fixed, entries are sorted, the
// binary is built with -trimpath and an empty build ID, and the CA
// certificates come from a pinned Go module rather than the build host.
package image

import (
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The non-root user the injector runs as, and who owns the volume.
const (
	UID      = 65532
	GID      = 65532
	UserName = "nonroot"
)

// Paths in the image.
const (
	Binary = "/injector"
	// Helper is the exec helper (cmd/with-env), beside the injector, which
	// copies it into the volume when INJECTOR_EXEC_HELPER asks for it.
	Helper    = "/with-env"
	VolumeDir = "/secrets"
	CertFile  = "/etc/ssl/certs/ca-certificates.crt"
)

// Source is the repository the image is built from.
const Source = "https://github.com/ecs-secret-injector/injector"

// OCI annotation and label keys.
const (
	LabelVersion  = "org.opencontainers.image.version"
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	AnnotationRef = "org.opencontainers.image.ref.name"
)

// Platforms are the platforms the image index holds.
func Platforms() []v1.Platform {
	return []v1.Platform{
		{OS: "linux", Architecture: "amd64"},
		{OS: "linux", Architecture: "arm64"},
	}
}

// User is the image's USER.
func User() string { return strconv.Itoa(UID) + ":" + strconv.Itoa(GID) }

// Entrypoint is the image's ENTRYPOINT.
func Entrypoint() []string { return []string{Binary} }

// Env is the image's environment: BuildKit's default PATH for an image
// built FROM scratch, and where the certificates are.
func Env() []string {
	return []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"SSL_CERT_FILE=" + CertFile,
	}
}

// Volumes are the image's VOLUMEs.
func Volumes() []string { return []string{VolumeDir} }

// Labels are the image's labels.
func Labels(version, commit string) map[string]string {
	return map[string]string{
		LabelVersion:  version,
		LabelSource:   Source,
		LabelRevision: commit,
	}
}

// Entry is one file or directory of the root filesystem.
type Entry struct {
	Path     string      // slash-separated, relative to /, no trailing slash
	Mode     fs.FileMode // permission bits, plus fs.ModeDir for a directory
	UID, GID int
	Data     []byte // file content
}

// Dir reports whether e is a directory.
func (e Entry) Dir() bool { return e.Mode.IsDir() }

// BaseEntries are the files beside the binary: user and group databases
// with the non-root user, the CA certificates and the volume directory,
// which the non-root user owns so that a fresh Fargate volume mounted there
// gets its owner and mode.
func BaseEntries() ([]Entry, error) {
	certs, err := CACertificates()
	if err != nil {
		return nil, err
	}
	dir := func(p string, uid, gid int, perm fs.FileMode) Entry {
		return Entry{Path: p, Mode: fs.ModeDir | perm, UID: uid, GID: gid}
	}
	file := func(p string, data []byte) Entry {
		return Entry{Path: p, Mode: 0o644, Data: data}
	}
	return []Entry{
		dir("etc", 0, 0, 0o755),
		file("etc/group", fmt.Appendf(nil, "root:x:0:\n%s:x:%d:\n", UserName, GID)),
		file("etc/passwd", fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/nonexistent:/sbin/nologin\n", UserName, UID, GID, UserName)),
		dir("etc/ssl", 0, 0, 0o755),
		dir("etc/ssl/certs", 0, 0, 0o755),
		file(CertFile[1:], certs),
		dir(VolumeDir[1:], UID, GID, 0o750),
	}, nil
}

// BinaryEntry is the injector binary.
func BinaryEntry(bin []byte) Entry {
	return Entry{Path: Binary[1:], Mode: 0o755, Data: bin}
}

// HelperEntry is the exec helper binary.
func HelperEntry(bin []byte) Entry {
	return Entry{Path: Helper[1:], Mode: 0o755, Data: bin}
}

// ConfigFile is the image configuration for platform p.
func ConfigFile(p v1.Platform, version, commit string, created time.Time) *v1.ConfigFile {
	vols := map[string]struct{}{}
	for _, v := range Volumes() {
		vols[v] = struct{}{}
	}
	return &v1.ConfigFile{
		Architecture: p.Architecture,
		OS:           p.OS,
		Variant:      p.Variant,
		Created:      v1.Time{Time: created.UTC()},
		Config: v1.Config{
			User:       User(),
			Entrypoint: Entrypoint(),
			Env:        Env(),
			Volumes:    vols,
			Labels:     Labels(version, commit),
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
}

// versionPattern is what a version or commit may look like: it goes into
// -ldflags (no spaces) and the layout's ref.name annotation.
var versionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)

// checkVersion rejects a version or commit that cannot be passed through
// -ldflags or named in an annotation.
func checkVersion(what, v string) error {
	if !versionPattern.MatchString(v) {
		return fmt.Errorf("%s %q: want letters, digits and . _ + -", what, v)
	}
	return nil
}

// sortedEntries returns entries sorted by path, refusing duplicates.
func sortedEntries(entries []Entry) ([]Entry, error) {
	byPath := map[string]Entry{}
	for _, e := range entries {
		if _, dup := byPath[e.Path]; dup {
			return nil, fmt.Errorf("%s twice in the root filesystem", e.Path)
		}
		byPath[e.Path] = e
	}
	out := make([]Entry, 0, len(byPath))
	for _, p := range slices.Sorted(maps.Keys(byPath)) {
		out = append(out, byPath[p])
	}
	return out, nil
}

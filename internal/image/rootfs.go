package image

import (
	"fmt"
	"os"
	"path/filepath"
)

// RootFSPart is one tree WriteRootFS writes: the entries one owner owns.
// The Dockerfile copies each tree into the image with `COPY --chown=UID:GID`,
// so owners do not depend on the build stage.
type RootFSPart struct {
	Dir      string // below the WriteRootFS directory
	UID, GID int
}

// RootFSParts are the trees WriteRootFS writes.
func RootFSParts() []RootFSPart {
	return []RootFSPart{{Dir: "root", UID: 0, GID: 0}, {Dir: "nonroot", UID: UID, GID: GID}}
}

// WriteRootFS lays out the image's root filesystem under dir for the
// Dockerfile, split by owner into the RootFSParts, with the exact modes of
// the image whatever the umask. The Dockerfile builds the binary into
// dir/root first, and the exec helper; WriteRootFS gives them their modes.
func WriteRootFS(dir string) error {
	base, err := BaseEntries()
	if err != nil {
		return err
	}
	for _, bin := range []struct {
		e    Entry
		what string
	}{{BinaryEntry(nil), "the injector binary"}, {HelperEntry(nil), "the exec helper binary"}} {
		binPath := filepath.Join(dir, "root", filepath.FromSlash(bin.e.Path))
		if _, err := os.Stat(binPath); err != nil {
			return fmt.Errorf("%s must be built first: %w", bin.what, err)
		}
		if err := os.Chmod(binPath, bin.e.Mode.Perm()); err != nil {
			return err
		}
	}
	entries, err := sortedEntries(base)
	if err != nil {
		return err
	}
	for _, e := range entries {
		part, err := partOf(e)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, part.Dir, filepath.FromSlash(e.Path))
		if e.Dir() {
			err = os.MkdirAll(p, 0o700)
		} else {
			err = os.MkdirAll(filepath.Dir(p), 0o700)
			if err == nil {
				err = os.WriteFile(p, e.Data, 0o600)
			}
		}
		if err == nil {
			err = os.Chmod(p, e.Mode.Perm())
		}
		if err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
	}
	return nil
}

func partOf(e Entry) (RootFSPart, error) {
	for _, p := range RootFSParts() {
		if p.UID == e.UID && p.GID == e.GID {
			return p, nil
		}
	}
	return RootFSPart{}, fmt.Errorf("%s: no root filesystem part for owner %d:%d", e.Path, e.UID, e.GID)
}

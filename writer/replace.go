package writer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// replaceFile replaces the entry name of the directory d with a regular
// file holding data, with the mode and owner of opts, in one atomic step:
// it writes the temporary file temp beside it, syncs it, renames it over
// name and syncs d. Readers see the old file or the new one, whole, and
// after a crash one of them stays. On error the temporary is removed and
// name is as it was.
func replaceFile(d *os.File, name, temp string, data []byte, opts Options) error {
	fd := int(d.Fd())
	if err := writeFile(fd, temp, data, opts.Mode.Perm(), opts, true); err != nil {
		if !errors.Is(err, unix.EEXIST) {
			_ = unix.Unlinkat(fd, temp, 0)
		}
		return err
	}
	if err := unix.Renameat(fd, temp, fd, name); err != nil {
		_ = unix.Unlinkat(fd, temp, 0)
		var st unix.Stat_t
		if unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return fmt.Errorf("%s is a directory; refusing to replace it", name)
		}
		return &fs.PathError{Op: "rename", Path: name, Err: err}
	}
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing the directory of %s: %w", name, err)
	}
	return nil
}

// WriteRootFile replaces the injector's own file name (a name beginning
// with ".." that the layout does not use, such as refresh mode's status
// file) directly under the output root dir with data and mode, atomically
// and durably, as Update replaces its file. The temporary is a ..tmp. name:
// a write killed before its rename leaves it for the next Begin to remove.
// Unlike Begin it takes no lock: the caller is the only writer of name.
// The caller says what the error means for the run (it does not wrap
// ErrWrite).
func WriteRootFile(dir, name string, data []byte, mode fs.FileMode) error {
	if !strings.HasPrefix(name, "..") || strings.Contains(name, "/") || isLayoutName(name) {
		return fmt.Errorf("%q is not a name of the injector's own beside the layout", name)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening output root: %w", err)
	}
	defer d.Close()
	if fi, err := d.Stat(); err != nil || !fi.IsDir() {
		return fmt.Errorf("output root %s is not a directory", dir)
	}
	return replaceFile(d, name, tmpPrefix+randomHex(8), data, Options{Mode: mode, UID: -1, GID: -1})
}

// isLayoutName reports whether name is one the layout itself uses.
func isLayoutName(name string) bool {
	return name == dataLink || name == dataTmp || name == lockName || name == lockNext || strings.HasPrefix(name, tmpPrefix) || isGeneration(name)
}

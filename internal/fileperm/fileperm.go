// Package fileperm checks the modes and owners written files get, wherever
// they are given: the settings INJECTOR_FILE_MODE, INJECTOR_UID and
// INJECTOR_GID, and an item's mode, uid and gid, which override them for
// the item's files. One set of rules holds for both.
package fileperm

import (
	"fmt"
	"io/fs"
	"strconv"
)

// MaxID is the largest uid or gid: 4294967295 is (uid_t)-1, which chown
// reads as "leave unchanged".
const MaxID = 1<<32 - 2

// ParseMode parses an octal file mode such as 0400 or 640: readable by the
// owner, writable by no one else, without setuid, setgid or sticky bits.
func ParseMode(s string) (fs.FileMode, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	switch {
	case err != nil || v > 0o7777:
		return 0, fmt.Errorf("file mode %q: want octal permission bits such as 0400", s)
	case v&0o7000 != 0:
		return 0, fmt.Errorf("file mode %q: setuid, setgid and sticky bits are not allowed", s)
	case v&0o022 != 0:
		return 0, fmt.Errorf("file mode %q: group or other write permission is not allowed (files are read-only for everyone but the owner)", s)
	case v&0o400 == 0:
		return 0, fmt.Errorf("file mode %q: the owner must be able to read the files", s)
	}
	return fs.FileMode(v), nil
}

// ParseID parses a uid or gid in decimal: -1 (leave as the process's) or
// an id from 0 to MaxID.
func ParseID(s string) (int, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < -1 || v > MaxID {
		return 0, fmt.Errorf("%q: must be -1 (leave as is) or an id from 0 to %d", s, MaxID)
	}
	return int(v), nil
}

// Override is an item's own mode and owner for its files; a nil field
// keeps the settings' value.
type Override struct {
	Mode     *fs.FileMode
	UID, GID *int
}

// IsZero reports whether o overrides nothing.
func (o Override) IsZero() bool { return o.Mode == nil && o.UID == nil && o.GID == nil }

// Apply returns mode, uid and gid with o's fields in place of theirs.
func (o Override) Apply(mode fs.FileMode, uid, gid int) (fs.FileMode, int, int) {
	if o.Mode != nil {
		mode = *o.Mode
	}
	if o.UID != nil {
		uid = *o.UID
	}
	if o.GID != nil {
		gid = *o.GID
	}
	return mode, uid, gid
}

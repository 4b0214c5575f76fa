package main

import (
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/ecs-secret-injector/injector/config"
	"github.com/ecs-secret-injector/injector/plan"
)

// The warnings validate prints, each a fixed sentence (no setting's value,
// never a secret's): the settings are valid, but who can read the files
// may not be who the task needs.
const (
	// warnOwnerOnlyProcess: a mode without group or other read, and no
	// INJECTOR_UID: the files belong to the injector's own user.
	warnOwnerOnlyProcess = "INJECTOR_FILE_MODE gives no group or other read: only the injector's own user " +
		"(its effective uid, since INJECTOR_UID is -1) and root can read the files; " +
		"an app container must run as that same uid, or use a mode with group read (0440) and the injector's group"
	// warnOwnerOnlyUID: the same, with INJECTOR_UID set.
	warnOwnerOnlyUID = "INJECTOR_FILE_MODE gives no group or other read: only the user INJECTOR_UID names and root " +
		"can read the files; an app container must run as that uid"
	// warnGroupProcess: group read, and no INJECTOR_GID: the files' group
	// is the injector's own.
	warnGroupProcess = "the files' group is the injector's own group (its effective gid, since INJECTOR_GID is -1): " +
		"an app container of another uid can read them only with that gid as its group or one of its groups " +
		"(in ECS, \"user\": \"UID:GID\")"
	// warnOtherRead: other read, but the root's own mode still decides who
	// can enter it.
	warnOtherRead = "INJECTOR_FILE_MODE lets every user read the files, but INJECTOR_DIR keeps its own mode: " +
		"on the image's volume only its owner and group can enter it"
)

// The warnings of items with their own mode, uid or gid, by the same rules
// as the settings' (readers): each starts with the items' paths and the
// mode, and the owner-only one names the uid.
const (
	warnItemOwnerOnlyProcess = "mode %04o gives no group or other read, and the files keep the injector's own uid: " +
		"only that user and root can read them; an app container must run as that same uid, " +
		"or the items need a mode with group read (0440) and the injector's group"
	warnItemOwnerOnlyUID = "mode %04o gives no group or other read: only uid %d and root can read the files; " +
		"an app container must run as that uid"
	warnItemGroupProcess = "mode %04o gives group read, but the files' group is the injector's own (its effective gid, " +
		"since the gid is -1): an app container of another uid can read them only with that gid as its group " +
		"or one of its groups (in ECS, \"user\": \"UID:GID\")"
	warnItemOtherRead = "mode %04o lets every user read the files, but INJECTOR_DIR keeps its own mode: " +
		"on the image's volume only its owner and group can enter it"
)

// reader is what decides who can read a file: its mode and owner.
type reader struct {
	mode     fs.FileMode
	uid, gid int
}

// warning is the one warning, if any, of files with mode and owner r, in
// the settings' sentences (settings) or the items'.
func (r reader) warning(settings bool) (string, bool) {
	groupRead, otherRead := r.mode&0o040 != 0, r.mode&0o004 != 0
	switch {
	case !groupRead && !otherRead && r.uid < 0:
		if settings {
			return warnOwnerOnlyProcess, true
		}
		return fmt.Sprintf(warnItemOwnerOnlyProcess, uint32(r.mode)), true
	case !groupRead && !otherRead:
		if settings {
			return warnOwnerOnlyUID, true
		}
		return fmt.Sprintf(warnItemOwnerOnlyUID, uint32(r.mode), r.uid), true
	case groupRead && !otherRead && r.gid < 0:
		if settings {
			return warnGroupProcess, true
		}
		return fmt.Sprintf(warnItemGroupProcess, uint32(r.mode)), true
	case otherRead:
		if settings {
			return warnOtherRead, true
		}
		return fmt.Sprintf(warnItemOtherRead, uint32(r.mode)), true
	}
	return "", false
}

func settingsReader(s config.Settings) reader {
	return reader{mode: s.FileMode.Mode, uid: s.UID.N, gid: s.GID.N}
}

// outputReader is the mode and owner of an output's files: the settings',
// with the item's own mode, uid and gid in their place.
func outputReader(s config.Settings, o plan.Output) reader {
	m, uid, gid := o.Perm.Apply(s.FileMode.Mode, s.UID.N, s.GID.N)
	return reader{mode: m, uid: uid, gid: gid}
}

// warnings says what the settings mean for who can read the files, where
// an app of another uid cannot, or only under a condition the settings do
// not show. The settings are valid either way: validate exits 0.
func warnings(s config.Settings) []string {
	if w, ok := settingsReader(s).warning(true); ok {
		return []string{w}
	}
	return nil
}

// planWarnings is warnings for the files of p: the settings' warning if
// any file is written with the settings' mode and owner, and one for each
// other mode and owner items give their files, naming the items' paths.
func planWarnings(s config.Settings, p plan.Plan) []string {
	base := settingsReader(s)
	paths := map[reader][]string{}
	for _, o := range p.Outputs {
		r := outputReader(s, o)
		paths[r] = append(paths[r], o.Path)
	}
	var w []string
	if _, ok := paths[base]; ok || len(p.Outputs) == 0 {
		w = warnings(s)
	}
	delete(paths, base)
	for _, r := range slices.SortedFunc(maps.Keys(paths), func(a, b reader) int {
		return strings.Compare(paths[a][0], paths[b][0])
	}) {
		if text, ok := r.warning(false); ok {
			w = append(w, fmt.Sprintf("%s %s: %s", plural(len(paths[r]), "item"), quoteList(paths[r]), text))
		}
	}
	return w
}

// quoteList writes paths as "a", "b".
func quoteList(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = fmt.Sprintf("%q", p)
	}
	return "at " + strings.Join(q, ", ")
}

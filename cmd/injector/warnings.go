package main

import "github.com/ecs-secret-injector/injector/config"

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

// warnings says what the settings mean for who can read the files, where
// an app of another uid cannot, or only under a condition the settings do
// not show. The settings are valid either way: validate exits 0.
func warnings(s config.Settings) []string {
	mode := uint32(s.FileMode.Mode)
	groupRead, otherRead := mode&0o040 != 0, mode&0o004 != 0
	var w []string
	switch {
	case !groupRead && !otherRead && s.UID.N < 0:
		w = append(w, warnOwnerOnlyProcess)
	case !groupRead && !otherRead:
		w = append(w, warnOwnerOnlyUID)
	case groupRead && !otherRead && s.GID.N < 0:
		w = append(w, warnGroupProcess)
	case otherRead:
		w = append(w, warnOtherRead)
	}
	return w
}

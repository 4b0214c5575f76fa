//go:build unix

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/ecs-secret-injector/injector/writer"
)

// writeHint explains a write refused for lack of permission on the output
// root: who owns it, its mode and who the injector runs as. It is empty for
// any other error.
func writeHint(err error, dir string) string {
	if !errors.Is(err, writer.ErrWrite) || !errors.Is(err, fs.ErrPermission) {
		return ""
	}
	fi, statErr := os.Stat(dir)
	if statErr != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("INJECTOR_DIR %s is owned by %d:%d with mode %04o, and the injector runs as %d:%d, so it may not create files there; "+
		"give the volume to the injector's user (on Fargate, mount it at the image's /secrets, whose owner and mode ECS copies into the new volume)",
		dir, st.Uid, st.Gid, fi.Mode().Perm(), os.Geteuid(), os.Getegid())
}

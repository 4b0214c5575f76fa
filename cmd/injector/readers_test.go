package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ecs-secret-injector/injector/internal/testsupport"
)

// TestWhoCanRead runs the built injector as the image runs it (uid and gid
// 65532, not root) into a root as ECS gives it on Fargate (the image's
// /secrets: owner 65532:65532, mode 0750), with each file mode, and reads
// a written file as app containers of other users would: the table of who
// can read the files in docs/output.md and README.md.
func TestWhoCanRead(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if os.Geteuid() != 0 {
		t.Skip("running processes as other users needs root (here: uid", os.Geteuid(), ")")
	}
	cat, err := exec.LookPath("cat")
	if err != nil {
		t.Skip("no cat to read as another user:", err)
	}
	const injector = 65532
	// A directory every user can enter, with the binary and the roots.
	base, err := os.MkdirTemp("", "injector-readers-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := testsupport.BuildInjector(base)
	if err != nil {
		t.Fatal(err)
	}

	type reader struct {
		name     string
		uid, gid uint32
	}
	sameUser := reader{"the injector's uid (user 65532:65532)", injector, injector}
	inGroup := reader{"another uid in the injector's group (user 1000:65532)", 1000, injector}
	other := reader{"another uid and group (user 1000:1000)", 1000, 1000}
	tests := []struct {
		mode     string
		rootMode os.FileMode
		canRead  map[reader]bool
	}{
		{"0400", 0o750, map[reader]bool{sameUser: true, inGroup: false, other: false}},
		{"0440", 0o750, map[reader]bool{sameUser: true, inGroup: true, other: false}},
		// Every user may read the files, but the volume's root lets only
		// its owner and group in.
		{"0444", 0o750, map[reader]bool{sameUser: true, inGroup: true, other: false}},
		{"0444", 0o755, map[reader]bool{sameUser: true, inGroup: true, other: true}},
	}
	const value = "who-can-read-test-value"
	for _, tc := range tests {
		t.Run(fmt.Sprintf("mode %s, root %04o", tc.mode, tc.rootMode), func(t *testing.T) {
			dir, err := os.MkdirTemp(base, "secrets-")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dir, injector, injector); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.rootMode); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin)
			cmd.Env = []string{"INJECTOR_DIR=" + dir, "INJECTOR_FILE_MODE=" + tc.mode, "TOKEN=" + value,
				`INJECTOR_SPEC=[{"from":"env:TOKEN","path":"db/token"}]`}
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: injector, Gid: injector, Groups: []uint32{}}}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("injector as %d:%d: %v\n%s", injector, injector, err, out)
			}
			for r, want := range tc.canRead {
				var out, errOut bytes.Buffer
				c := exec.Command(cat, filepath.Join(dir, "db", "token"))
				c.Stdout, c.Stderr = &out, &errOut
				c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: r.uid, Gid: r.gid, Groups: []uint32{}}}
				err := c.Run()
				switch {
				case want && (err != nil || out.String() != value):
					t.Errorf("%s cannot read the file (%v): %s", r.name, err, strings.TrimSpace(errOut.String()))
				case !want && err == nil:
					t.Errorf("%s can read the file", r.name)
				case !want && !strings.Contains(errOut.String(), "Permission denied"):
					t.Errorf("%s: %v, want permission denied: %s", r.name, err, strings.TrimSpace(errOut.String()))
				}
			}
		})
	}
}

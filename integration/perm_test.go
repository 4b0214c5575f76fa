package integration_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPerItemOwners: as root, one generation holds files of three owners
// with three modes, each item's own (mode, uid, gid), and each is read by
// a process of its uid (or group) and by no other; a directory two items
// share lets both through. validate shows each file's mode and owner.
func TestPerItemOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving files to other users needs root")
	}
	p := uniq()
	values := map[string]string{"pg": "pg-key-" + randHex(6), "nginx": "nginx-key-" + randHex(6), "app": "app-token-" + randHex(6)}
	for name, v := range values {
		putSecret(t, p+"/"+name, v)
	}
	sm := func(name string) string { return "secretsmanager:" + p + "/" + name }
	spec := specJSON(t,
		map[string]any{"from": sm("pg"), "path": "pg/server.key", "mode": "0600", "uid": 999, "gid": 999},
		map[string]any{"from": sm("nginx"), "path": "nginx/tls.key", "mode": "0440", "uid": 0, "gid": 101},
		map[string]any{"from": sm("app"), "path": "app/token", "mode": "0400", "uid": 2000, "gid": 2000},
		map[string]any{"from": sm("pg"), "path": "shared/pg.key", "mode": "0600", "uid": 999, "gid": 999},
		map[string]any{"from": sm("app"), "path": "shared/app.key", "uid": 2000, "gid": 2000},
		item(sm("app"), "root-only"),
	)
	// An output root every user can enter, as a shared volume is.
	base, err := os.MkdirTemp("", "injector-owners-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	dir := filepath.Join(base, "out")
	mkdir(t, dir)
	for _, d := range []string{base, dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	res := h.injectOK(t, spec, dir)
	assertNoSecret(t, res.output, values["pg"], values["nginx"], values["app"])

	for path, want := range map[string]struct {
		mode     os.FileMode
		uid, gid uint32
	}{
		"pg/server.key": {0o600, 999, 999}, "pg": {0o700, 999, 999},
		"nginx/tls.key": {0o440, 0, 101}, "nginx": {0o750, 0, 101},
		"app/token": {0o400, 2000, 2000}, "app": {0o700, 2000, 2000},
		"shared/pg.key": {0o600, 999, 999}, "shared/app.key": {0o400, 2000, 2000}, "shared": {0o705, 0, 0},
		"root-only": {0o400, 0, 0}, ".": {0o705, 0, 0},
	} {
		fi, err := os.Stat(filepath.Join(dir, "..data", path))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != want.mode || st.Uid != want.uid || st.Gid != want.gid {
			t.Errorf("%s: %04o %d:%d, want %04o %d:%d", path, fi.Mode().Perm(), st.Uid, st.Gid, want.mode, want.uid, want.gid)
		}
	}

	// Each file is read by its users, through the links, and by no one else.
	read := func(uid, gid uint32, path string) (string, error) {
		cmd := exec.Command("cat", filepath.Join(dir, path))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}}
		out, err := cmd.Output()
		return string(out), err
	}
	for _, tt := range []struct {
		uid, gid uint32
		path     string
		value    string // "" if it must not be readable
	}{
		{999, 999, "pg/server.key", values["pg"]},
		{999, 999, "shared/pg.key", values["pg"]},
		{101, 101, "nginx/tls.key", values["nginx"]},
		{2000, 2000, "app/token", values["app"]},
		{2000, 2000, "shared/app.key", values["app"]},
		{999, 999, "app/token", ""},
		{999, 999, "shared/app.key", ""},
		{2000, 2000, "pg/server.key", ""},
		{2000, 2000, "shared/pg.key", ""},
		{2000, 2000, "nginx/tls.key", ""},
		{101, 101, "pg/server.key", ""},
		{999, 999, "root-only", ""},
		{65534, 65534, "shared/app.key", ""},
	} {
		got, err := read(tt.uid, tt.gid, tt.path)
		if tt.value != "" && (err != nil || got != tt.value) {
			t.Errorf("uid %d cannot read %s: %v", tt.uid, tt.path, err)
		}
		if tt.value == "" && err == nil {
			t.Errorf("uid %d reads %s", tt.uid, tt.path)
		}
	}

	t.Run("validate shows modes and owners", func(t *testing.T) {
		env := append(h.env(h.moto, h.minio), "INJECTOR_DIR="+dir, "INJECTOR_SPEC="+spec)
		r, err := runBinary(h.bin, env, time.Minute, "validate")
		if err != nil || r.code != 0 {
			t.Fatalf("validate: %v, exit %d:\n%s", err, r.code, r.output)
		}
		for _, w := range []string{"MODE  OWNER", "pg/server.key   0600  999:999", "nginx/tls.key   0440  0:101", "root-only       0400  -1:-1",
			`2 items at "app/token", "shared/app.key": mode 0400 gives no group or other read: only uid 2000`} {
			if !strings.Contains(r.output, w) {
				t.Errorf("validate does not say %q:\n%s", w, r.output)
			}
		}
	})
}

// TestPerItemOwnersRefused: a bad per-item mode or id is exit 2 naming the
// item and the field, before any AWS call, and nothing is written.
func TestPerItemOwnersRefused(t *testing.T) {
	good := `{"from":"secretsmanager:x","path":"ok"}`
	for _, tt := range []struct{ item, msg string }{
		{`{"from":"secretsmanager:x","path":"a","mode":"0664"}`, `item 1: field \"mode\" is invalid: file mode \"0664\": group or other write permission is not allowed`},
		{`{"from":"secretsmanager:x","path":"a","mode":"0040"}`, `item 1: field \"mode\" is invalid: file mode \"0040\": the owner must be able to read`},
		{`{"from":"secretsmanager:x","path":"a","mode":"2400"}`, `item 1: field \"mode\" is invalid: file mode \"2400\": setuid, setgid and sticky bits are not allowed`},
		{`{"from":"secretsmanager:x","path":"a","mode":400}`, `item 1: field \"mode\" must be a string of octal digits`},
		{`{"from":"secretsmanager:x","path":"a","uid":4294967295}`, `item 1: field \"uid\" is invalid: \"4294967295\": must be -1 (leave as is) or an id from 0 to 4294967294`},
		{`{"from":"secretsmanager:x","path":"a","gid":-2}`, `item 1: field \"gid\" is invalid: \"-2\": must be -1`},
		{`{"from":"secretsmanager:x","path":"a","gid":"101"}`, `item 1: field \"gid\" must be a number`},
	} {
		dir := t.TempDir()
		h.proxy.reset(nil)
		r := h.inject(t, "["+good+","+tt.item+"]", dir)
		if r.code != 2 || !strings.Contains(r.output, tt.msg) {
			t.Errorf("%s: exit %d, want 2 saying %s:\n%s", tt.item, r.code, tt.msg, r.output)
		}
		if n := len(h.proxy.counts()); n != 0 {
			t.Errorf("%s: AWS calls made: %v", tt.item, h.proxy.counts())
		}
		if names, _ := os.ReadDir(dir); len(names) != 0 {
			t.Errorf("%s: written: %v", tt.item, names)
		}
	}
}

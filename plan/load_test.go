package plan

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-secret-injector/injector/formats"
)

const okSpec = `[{"from":"ssm:/a","path":"a"}]`

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(file, []byte(okSpec), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, src := range []struct{ spec, file string }{{okSpec, ""}, {"", file}, {"", link}} {
		p, err := Load(ctx, src.spec, src.file, 99, Defaults{})
		if err != nil || len(p.Outputs) != 1 || p.MaxFileBytes != 99 {
			t.Errorf("Load(%+v) = %+v, %v", src, p, err)
		}
	}

	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, []byte(okSpec+strings.Repeat(" ", MaxSpecBytes)), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tests := []struct {
		spec, file string
		want       string
	}{
		{"", file + ".missing", "no such file"},
		{"", dir, "is a directory: want a regular file"},
		{"", fifo, "is a FIFO: want a regular file"},
		{"", "/dev/zero", "is a device: want a regular file"},
		{"", sock, "is a socket"},
		{"", big, "1048606 bytes, more than the limit of 1048576"},
		{`[{"from":"ssm:/a"}]`, "", "path is required"},
		{`nope`, "", "invalid spec"},
	}
	for _, tt := range tests {
		start := time.Now()
		_, err := Load(ctx, tt.spec, tt.file, 0, Defaults{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%q, %q) err = %v, want one saying %q", tt.spec, tt.file, err, tt.want)
		}
		if tt.file != "" && !strings.Contains(err.Error(), `reading INJECTOR_SPEC_FILE "`+tt.file+`": `) {
			t.Errorf("error %q does not name INJECTOR_SPEC_FILE", err)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("Load(%q, %q) took %s", tt.spec, tt.file, d)
		}
	}
}

// The spec file's errors are worded as before regfile read it: "is a
// FIFO: want a regular file", not regfile's "a FIFO, not a regular file".
func TestLoadSpecFileMessages(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(context.Background(), "", dir, 0, Defaults{})
	if want := `reading INJECTOR_SPEC_FILE "` + dir + `": is a directory: want a regular file`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestCheckRefreshRefusesECSConfig(t *testing.T) {
	spec := `[{"from":"ssm:/a","path":"ecs.config","format":"ecs-config","registry":"r.example.com"}]`
	p, err := Load(context.Background(), spec, "", 0, Defaults{})
	if err != nil {
		t.Fatalf("one-shot: %v", err)
	}
	if err := p.CheckRefresh(); err == nil || !strings.Contains(err.Error(), string(formats.ECSConfig)) {
		t.Fatalf("refresh: err = %v, want one about ecs-config", err)
	}
	p, err = Load(context.Background(), okSpec, "", 0, Defaults{})
	if err != nil || p.CheckRefresh() != nil {
		t.Fatalf("refresh of a plain file: %v, %v", err, p.CheckRefresh())
	}
}

package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxBinaryBytes bounds the helper's size as the image builds it; it is
// copied into every task's volume.
const maxBinaryBytes = 2 << 20

// TestStandardLibraryOnly: the helper imports nothing but the standard
// library and the module's own std-only packages.
func TestStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if !strings.HasPrefix(p, "github.com/ecs-secret-injector/injector/") {
			t.Errorf("the helper depends on %s, outside the standard library", p)
		}
	}
}

// TestStaticBuild: built as the image builds it, for each architecture of
// the image, the helper is a static binary below maxBinaryBytes.
func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the helper")
	}
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "with-env")
			cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", bin, ".")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			f, err := elf.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Fatal("the helper has an ELF interpreter: it is dynamically linked")
				}
			}
			fi, err := os.Stat(bin)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() > maxBinaryBytes {
				t.Errorf("the helper is %d bytes, more than %d", fi.Size(), maxBinaryBytes)
			}
			t.Logf("linux/%s: %d bytes", arch, fi.Size())
		})
	}
}

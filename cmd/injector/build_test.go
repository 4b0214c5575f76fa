package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ecs-secret-injector/injector/internal/image"
)

// maxBinaryBytes bounds the size of the binary as the image has it (its
// measured size is in docs/performance.md; text/template's executor made
// it much larger while it kept every exported method linked: see
// TestMethodsEliminated).
const maxBinaryBytes = 16 << 20

// TestStaticBuild builds the binary the way the image is built (the flags
// internal/image gives scripts/image.sh and the Dockerfile) and checks that
// it runs from a scratch image: statically linked (no ELF interpreter, no
// shared libraries), without local paths baked in, and with the version and
// commit -ldflags set, and no larger than maxBinaryBytes.
func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	const version, commit = "v0.0.0-test", "0123456789abcdef"
	bin := filepath.Join(t.TempDir(), "injector")
	args := append([]string{"build"}, image.GoBuildFlags(version, commit)...)
	cmd := exec.Command("go", append(args, "-o", bin, ".")...)
	cmd.Env = append(os.Environ(), image.GoBuildEnv()...)
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
			t.Fatal("binary has an ELF interpreter: it is dynamically linked")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("binary needs shared libraries %v", libs)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > maxBinaryBytes {
		t.Errorf("binary is %d bytes, more than %d", len(data), maxBinaryBytes)
	}
	t.Logf("binary is %d bytes", len(data))
	wd, _ := os.Getwd()
	if root := filepath.Dir(filepath.Dir(wd)); strings.Contains(string(data), root) {
		t.Fatalf("binary contains the build path %s: -trimpath not in effect", root)
	}

	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("injector version: %v", err)
	}
	want := "version: " + version + "\ncommit:  " + commit + "\ngo:      " + runtime.Version() + "\n"
	if string(out) != want {
		t.Fatalf("injector version printed\n%s\nwant\n%s", out, want)
	}
}

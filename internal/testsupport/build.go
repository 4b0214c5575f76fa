package testsupport

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
)

// InjectorPackage is the import path of the injector's command.
const InjectorPackage = "github.com/ecs-secret-injector/injector/cmd/injector"

// BuildInjector builds the injector with go build's defaults into dir and
// returns the binary's path. It works from any directory of the module.
func BuildInjector(dir string) (string, error) {
	bin := filepath.Join(dir, "injector")
	if out, err := exec.Command("go", "build", "-o", bin, InjectorPackage).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

// Injector is BuildInjector into a temporary directory of tb, failing tb
// on an error.
func Injector(tb testing.TB) string {
	tb.Helper()
	bin, err := BuildInjector(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

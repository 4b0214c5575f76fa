package image

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Package is the injector's main package, relative to the module root.
const Package = "./cmd/injector"

// HelperPackage is the exec helper's main package.
const HelperPackage = "./cmd/with-env"

// GoBuildEnv is the build environment the Dockerfile sets too.
func GoBuildEnv() []string { return []string{"CGO_ENABLED=0"} }

// GoBuildFlags are the `go build` flags for the injector, as the Dockerfile
// passes them: a static binary with no local path, no VCS stamp (so a
// checkout and a copy of it build the same bytes), no symbol table, an empty
// build ID, and the version and commit for `injector version`.
func GoBuildFlags(version, commit string) []string {
	return []string{
		"-trimpath",
		"-buildvcs=false",
		"-ldflags=-s -w -buildid= -X main.version=" + version + " -X main.commit=" + commit,
	}
}

// HelperBuildFlags are the `go build` flags for the exec helper: those of
// the injector but its version stamp.
func HelperBuildFlags() []string {
	return []string{"-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="}
}

// pinnedEnv are settings a developer's environment could change that alter
// the binary; they are set to the Go defaults, which the Dockerfile's
// golang image uses.
func pinnedEnv() []string {
	return []string{"GOFLAGS=", "GOAMD64=v1", "GOARM64=v8.0", "GOEXPERIMENT=", "GOWORK=off"}
}

// GoVersion reads the go directive of the module in dir: the toolchain the
// image is built with.
func GoVersion(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "go "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", errors.New("go.mod has no go directive")
}

// BuildBinary compiles the injector for p from the module in dir and returns
// it. It is built with exactly the toolchain go.mod names (GOTOOLCHAIN), so
// that builds on different hosts agree, and refuses a binary built by any
// other.
func BuildBinary(ctx context.Context, dir string, p v1.Platform, version, commit string) ([]byte, error) {
	return goBuild(ctx, dir, p, Package, GoBuildFlags(version, commit))
}

// BuildHelper compiles the exec helper for p, as BuildBinary the injector.
func BuildHelper(ctx context.Context, dir string, p v1.Platform) ([]byte, error) {
	return goBuild(ctx, dir, p, HelperPackage, HelperBuildFlags())
}

// goBuild compiles the main package pkg with flags for p.
func goBuild(ctx context.Context, dir string, p v1.Platform, pkg string, flags []string) ([]byte, error) {
	goVersion, err := GoVersion(dir)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "imagebuild-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, filepath.Base(pkg))
	args := append([]string{"build"}, flags...)
	args = append(args, "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), GoBuildEnv()...)
	cmd.Env = append(cmd.Env, pinnedEnv()...)
	cmd.Env = append(cmd.Env, "GOOS="+p.OS, "GOARCH="+p.Architecture, "GOTOOLCHAIN=go"+goVersion)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s for %s: %w\n%s", pkg, p, err, msg)
	}
	info, err := buildinfo.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("reading the build info of the %s binary: %w", p, err)
	}
	if info.GoVersion != "go"+goVersion {
		return nil, fmt.Errorf("the %s binary was built by %s, want go%s (go.mod)", p, info.GoVersion, goVersion)
	}
	return os.ReadFile(out)
}

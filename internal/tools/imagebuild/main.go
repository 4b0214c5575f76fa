// Command imagebuild builds the injector's container image as an OCI image
// layout, without a container engine. scripts/image.sh runs it from the
// repository root with values it reads from git:
//
//	go run ./internal/tools/imagebuild -out DIR -version V -commit C -epoch SOURCE_DATE_EPOCH
//
// With -rootfs DIR it instead writes the image's root filesystem (all but
// the binary, which must already be at DIR/root/injector) for the
// Dockerfile's build stage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/ecs-secret-injector/injector/internal/image"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("imagebuild", flag.ContinueOnError)
	out := fs.String("out", "", "OCI layout directory to create (must not exist)")
	rootfs := fs.String("rootfs", "", "write the root filesystem for the Dockerfile here instead")
	version := fs.String("version", "", "image version (label, ref.name, injector version)")
	commit := fs.String("commit", "", "source commit (label, injector version)")
	epoch := fs.Int64("epoch", -1, "SOURCE_DATE_EPOCH: every timestamp in the image, in Unix seconds")
	platforms := fs.String("platforms", "", "comma-separated platforms to build (default: all the index holds)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *rootfs != "" {
		return image.WriteRootFS(*rootfs)
	}
	var errs []error
	if *out == "" {
		errs = append(errs, errors.New("-out is required"))
	}
	if *epoch < 0 {
		errs = append(errs, errors.New("-epoch is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if _, err := os.Lstat(*out); err == nil {
		return fmt.Errorf("%s already exists; the layout goes into a new directory", *out)
	}
	plats, err := parsePlatforms(*platforms)
	if err != nil {
		return err
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	spec := image.Spec{
		Version:   *version,
		Commit:    *commit,
		Created:   time.Unix(*epoch, 0).UTC(),
		Binaries:  map[string][]byte{},
		Helpers:   map[string][]byte{},
		Platforms: plats,
	}
	for _, p := range plats {
		start := time.Now()
		bin, err := image.BuildBinary(ctx, wd, p, *version, *commit)
		if err != nil {
			return err
		}
		spec.Binaries[p.String()] = bin
		log.Info("built the injector", "platform", p.String(), "bytes", len(bin), "elapsed", time.Since(start).Round(time.Millisecond))
		start = time.Now()
		helper, err := image.BuildHelper(ctx, wd, p)
		if err != nil {
			return err
		}
		spec.Helpers[p.String()] = helper
		log.Info("built the exec helper", "platform", p.String(), "bytes", len(helper), "elapsed", time.Since(start).Round(time.Millisecond))
	}
	idx, err := image.Index(spec)
	if err != nil {
		return err
	}
	if err := image.WriteLayout(*out, idx, *version); err != nil {
		return err
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	log.Info("wrote the OCI image layout", "dir", *out, "index", digest.String())
	fmt.Println(digest)
	return nil
}

// parsePlatforms picks platforms from those the index holds.
func parsePlatforms(s string) ([]v1.Platform, error) {
	all := image.Platforms()
	if s == "" {
		return all, nil
	}
	var out []v1.Platform
	for _, name := range strings.Split(s, ",") {
		found := false
		for _, p := range all {
			if p.String() == name {
				out = append(out, p)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("platform %q: want one of %v", name, all)
		}
	}
	return out, nil
}

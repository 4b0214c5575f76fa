// Command baseline is the minimal peer the start-up benchmark measures the
// injector against: what the archived aws-secret-sidecar-injector does, with
// the same AWS SDK. It reads each secret in BASELINE_SECRET_IDS (comma
// separated) with one GetSecretValue, all at once, writes each value to
// BASELINE_DIR/<n> (n counts from 0) and exits. It is no injector: no
// validation, no fsync, no all-or-nothing. On success it prints its own peak
// RSS in KiB as "peak_rss_kib=N", measured as the injector measures its own.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ecs-secret-injector/injector/internal/peakrss"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
	fmt.Printf("peak_rss_kib=%d\n", peakrss.KiB())
}

func run(ctx context.Context) error {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	client := secretsmanager.NewFromConfig(cfg)
	dir := os.Getenv("BASELINE_DIR")
	ids := strings.Split(os.Getenv("BASELINE_SECRET_IDS"), ",")
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, strconv.Itoa(i)), []byte(aws.ToString(out.SecretString)), 0o400)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

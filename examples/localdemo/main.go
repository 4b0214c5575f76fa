// Command localdemo runs the injector end to end on this machine without an
// AWS account: it starts moto_server on a free loopback port, seeds a few
// secrets and parameters with the AWS SDK, builds and runs the injector into
// a temporary directory and lists what it wrote (names, modes and sizes).
//
//	go run ./examples/localdemo [-keep]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-secret-injector/injector/internal/localpeer"
)

func main() {
	keep := flag.Bool("keep", false, "keep the output directory")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(context.Background(), *keep, log); err != nil {
		log.Error("demo failed", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, keep bool, log *slog.Logger) error {
	work, err := os.MkdirTemp("", "injector-demo-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(work)
	}
	bin := filepath.Join(work, "injector")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/injector").CombinedOutput(); err != nil {
		return fmt.Errorf("building the injector (run from the repository root): %w\n%s", err, out)
	}
	moto, err := localpeer.StartMoto(ctx, io.Discard)
	if err != nil {
		return err
	}
	defer moto.Stop()
	endpoint := moto.URL
	log.Info("moto_server is up", "endpoint", endpoint, "pid", moto.PID())

	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("demo", "demo", "")}
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(endpoint) })
	ps := ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(endpoint) })
	db, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("demo/db"), SecretString: aws.String(`{"username":"app","password":"demo-password","host":"db.internal"}`),
	})
	if err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("demo/registry"), SecretString: aws.String(`{"username":"robot","password":"demo-token"}`),
	}); err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	if _, err := ps.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/demo/api-key"), Value: aws.String("demo-api-key"), Type: ssmtypes.ParameterTypeSecureString,
	}); err != nil {
		return fmt.Errorf("seeding: %w", err)
	}

	out := filepath.Join(work, "secrets")
	if err := os.Mkdir(out, 0o755); err != nil {
		return err
	}
	spec := `[
	  {"from": "` + aws.ToString(db.ARN) + `:password::", "path": "db/password"},
	  {"from": "secretsmanager:demo/db", "path": "db/env", "format": "dotenv"},
	  {"from": "secretsmanager:demo/db", "path": "db/fields", "format": "explode"},
	  {"inputs": {"db": "secretsmanager:demo/db", "key": "ssm:/demo/api-key"}, "path": "app.conf", "format": "template",
	   "template": "dsn=postgres://{{ (json .db).username }}@{{ (json .db).host }}/app\napi_key={{ .key }}\n"},
	  {"from": "ssm:/demo/api-key", "path": "api-key"},
	  {"from": "secretsmanager:demo/registry", "path": "docker/config.json", "format": "dockerconfigjson", "registry": "registry.example.com"}
	]`
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID=demo", "AWS_SECRET_ACCESS_KEY=demo", "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL=" + endpoint,
		"INJECTOR_DIR=" + out, "INJECTOR_SPEC=" + spec,
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("injector: %w", err)
	}
	gen, err := os.Readlink(filepath.Join(out, "..data"))
	if err != nil {
		return err
	}
	// List what the app sees: the visible names, through ..data (names
	// beginning with ".." are the injector's own).
	fmt.Printf("injector wrote under %s (..data -> %s):\n", out, gen)
	err = filepath.WalkDir(filepath.Join(out, gen), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(out, gen), p)
		fmt.Printf("  %v %5d  %s\n", fi.Mode().Perm(), fi.Size(), rel)
		return nil
	})
	if keep {
		fmt.Printf("kept %s\n", work)
	}
	return err
}

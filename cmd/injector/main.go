// Command injector fetches secrets from AWS Secrets Manager, SSM Parameter
// Store and encrypted S3 and writes them as files under INJECTOR_DIR. It is
// meant to run first in an ECS task; it exits 0 only when every file is in
// place, and when it fails what the app reads under INJECTOR_DIR is as it
// was (see package writer for the layout).
//
// With no arguments it injects; `injector version` and `injector --help`
// (see commands.go) help operators.
// With INJECTOR_REFRESH_INTERVAL set it keeps running and keeps the files
// up to date (refresh.go); `injector health` (health.go) is its container
// health check.
//
// Exit codes: 0 success, 1 unexpected error, 2 configuration error (no AWS
// call was made), 3 fetch error, 4 render error, 5 write error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"

	"github.com/ecs-secret-injector/injector/config"
	"github.com/ecs-secret-injector/injector/engine"
	"github.com/ecs-secret-injector/injector/internal/peakrss"
	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/sources"
	"github.com/ecs-secret-injector/injector/writer"
)

// Exit codes, as documented in README.md (Exit codes).
const (
	exitOK       = 0
	exitInternal = 1
	exitConfig   = 2
	exitFetch    = 3
	exitRender   = 4
	exitWrite    = 5
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command args name (inject when there is none) and returns
// the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	// A panic must not surface as Go's exit status 2, which means a
	// configuration error here. Only runtime errors are described: they
	// carry no data.
	defer func() {
		if r := recover(); r != nil {
			msg := "unexpected panic"
			if re, ok := r.(runtime.Error); ok {
				msg += ": " + re.Error()
			}
			newLogger("text", stderr).Error("injection failed", "exit", exitInternal, "error", msg)
			code = exitInternal
		}
	}()
	return dispatch(ctx, args, stdout, stderr)
}

// runInject is the injection itself: the bare binary and `injector inject`.
// It is what a container runs, so it handles the signals a container may
// be sent (signals.go); the other commands, short and local, keep Go's
// defaults.
func runInject(ctx context.Context, stderr io.Writer) int {
	start := time.Now()
	// From here a signal waits for the logger instead of ending the run.
	sigs := listen()
	defer sigs.close()
	settings, err := config.Load()
	if err != nil {
		// The log format is itself a setting: fall back to text.
		newLogger("text", stderr).Error("injection failed", "exit", exitConfig, "error", err)
		return exitConfig
	}
	log := newLogger(settings.LogFormat.Name, stderr)
	mode := injectOnce
	var now chan struct{} // refresh mode's "check now" asks
	if settings.Refresh() {
		now = make(chan struct{}, 1)
		mode = func(ctx context.Context, s config.Settings, log *slog.Logger) (int, error) {
			return runRefresh(ctx, s, log, now)
		}
	} else {
		oneShotGC(os.LookupEnv)
	}
	ctx = sigs.handle(ctx, log, now)
	code, err := mode(ctx, settings, log)
	if err != nil {
		attrs := []any{"exit", code, "error", err, "elapsed", time.Since(start).Round(time.Millisecond)}
		if hint := writeHint(err, settings.Dir.Path); hint != "" {
			attrs = append(attrs, "hint", hint)
		}
		log.Error("injection failed", attrs...)
		return code
	}
	return exitOK
}

func injectOnce(ctx context.Context, s config.Settings, log *slog.Logger) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout.D)
	defer cancel()
	p, f, err := prepare(ctx, s, log)
	if err != nil {
		return exitConfig, err
	}
	wopts, err := writeOptions(s)
	if err != nil {
		return exitConfig, err
	}
	log.Info("injecting", "values", len(p.Fetches), "outputs", len(p.Outputs), "dir", s.Dir.Path)
	rep, err := engine.Once(ctx, p, f, s.Dir.Path, wopts, log)
	if err != nil {
		return exitCode(err), err
	}
	// Peak RSS, measured here, is what the benchmarks report.
	log.Info("injected", "values", rep.Fetched, "files", len(rep.Files), "peak_rss_kib", peakrss.KiB())
	return exitOK, nil
}

// prepare does everything before the first AWS call: it plans the spec and
// makes the fetcher. Its errors are configuration errors.
func prepare(ctx context.Context, s config.Settings, log *slog.Logger) (plan.Plan, *sources.Fetcher, error) {
	return checkedPlan(ctx, s, func(p plan.Plan, opts sources.Options) (*sources.Fetcher, error) {
		// A spec that reads only the injector's own environment (env:)
		// needs no AWS configuration: none is loaded, so no credential,
		// region, endpoint or instance metadata is looked up.
		var cfg aws.Config
		if sources.NeedsAWS(p.Targets()) {
			var err error
			if cfg, err = awsConfig(ctx, log); err != nil {
				return nil, fmt.Errorf("%w: loading AWS configuration: %w", config.ErrConfig, err)
			}
		}
		opts.Log = log
		return sources.New(cfg, opts), nil
	})
}

// checkedPlan reads and plans the spec, makes the fetcher with mk and runs
// every target's own check (a region, a set environment variable): all a
// run does before its first AWS call, and all that validate and policy do
// (with a fetcher that cannot call AWS). Its errors are configuration
// errors.
func checkedPlan(ctx context.Context, s config.Settings, mk func(plan.Plan, sources.Options) (*sources.Fetcher, error)) (plan.Plan, *sources.Fetcher, error) {
	pctx, cancel := context.WithTimeout(ctx, s.Timeout.D)
	defer cancel()
	p, err := plan.Load(pctx, s.Spec, s.SpecFile, s.MaxValueBytes.N, plan.Defaults{RoleARN: s.RoleARN.ARN, FailoverRegion: s.FailoverRegion.Name})
	if err == nil && s.Refresh() {
		err = p.CheckRefresh()
	}
	if err != nil {
		return plan.Plan{}, nil, fmt.Errorf("%w: %w", config.ErrConfig, err)
	}
	if err := checkExecHelper(s, p); err != nil {
		return plan.Plan{}, nil, err
	}
	f, err := mk(p, sources.Options{
		S3PathStyle:       s.S3PathStyle.On,
		MaxValueBytes:     s.MaxValueBytes.N,
		Concurrency:       s.Concurrency.N,
		Batch:             sources.Batching(s.SecretsBatch.Mode),
		MaxPathParameters: s.SSMPathMax.N,
		LookupEnv:         os.LookupEnv,
	})
	if err != nil {
		return plan.Plan{}, nil, err
	}
	// Every target's own check (a region, a set environment variable)
	// before any call.
	if err := f.Preflight(p.Targets()); err != nil {
		return plan.Plan{}, nil, fmt.Errorf("%w: %w", config.ErrConfig, err)
	}
	return p, f, nil
}

// oneShotGCPercent is the GOGC of a one-shot run: twice the runtime's
// minimum heap goal.
const oneShotGCPercent = 200

// oneShotGC raises the garbage collector's target for a one-shot run,
// unless GOGC is set. Such a run allocates little, most of it while the SDK
// parses the CA bundle; at the runtime's minimum heap goal a collection
// starts in the middle of start-up. Refresh mode, which runs for days,
// keeps the default.
func oneShotGC(lookupEnv func(string) (string, bool)) {
	if _, set := lookupEnv("GOGC"); !set {
		debug.SetGCPercent(oneShotGCPercent)
	}
}

// writeOptions are the mode and owner of the files the settings ask for,
// and the exec helper if they ask for it. Its errors are configuration
// errors.
func writeOptions(s config.Settings) (writer.Options, error) {
	opts := writer.Options{Mode: s.FileMode.Mode, UID: s.UID.N, GID: s.GID.N}
	if s.ExecHelper.On {
		helper, err := execHelper()
		if err != nil {
			return writer.Options{}, err
		}
		opts.Extra = []writer.File{helper}
	}
	return opts, nil
}

func exitCode(err error) int {
	switch {
	case errors.Is(err, config.ErrConfig):
		return exitConfig
	case errors.Is(err, sources.ErrFetch):
		return exitFetch
	case errors.Is(err, engine.ErrRender):
		return exitRender
	case errors.Is(err, writer.ErrWrite):
		return exitWrite
	default:
		return exitInternal
	}
}

// awsConfig loads the SDK's shared configuration. Endpoints come from
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>. Unless AWS_MAX_ATTEMPTS or
// AWS_RETRY_MODE say otherwise, calls are retried patiently so that a fleet
// of injectors starting at once rides out API throttling.
//
// The SDK's own log lines (it logs no request or response bodies unless
// asked to) go to the debug level.
func awsConfig(ctx context.Context, log *slog.Logger) (aws.Config, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithLogger(logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
			log.Debug("aws sdk: "+fmt.Sprintf(format, v...), "class", string(c))
		})),
	}
	if os.Getenv("AWS_MAX_ATTEMPTS") == "" && os.Getenv("AWS_RETRY_MODE") == "" {
		opts = append(opts, awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 10
				o.MaxBackoff = 20 * time.Second
			})
		}))
	}
	return awsconfig.LoadDefaultConfig(ctx, opts...)
}

// newLogger returns the run's logger: text or JSON lines on w, with times
// in UTC (CloudWatch and the ECS console show UTC; it also spares loading
// the local time zone).
func newLogger(format string, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 && a.Value.Kind() == slog.KindTime {
			a.Value = slog.TimeValue(a.Value.Time().UTC())
		}
		return a
	}}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

package main

// `injector validate` and `injector policy`: they read the settings and the
// spec as a run does and plan its calls, with a fetcher that cannot call
// AWS (sources.NewPlanner): no credential, region or endpoint is looked up,
// no instance metadata is asked, nothing is written.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"

	"github.com/ecs-secret-injector/injector/config"
	"github.com/ecs-secret-injector/injector/engine"
	"github.com/ecs-secret-injector/injector/internal/iampolicy"
	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/sources"
)

// envRegion is the default region as the AWS SDK reads it from the
// environment, and the variable it came from.
func envRegion() (region, from string) {
	for _, name := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if v := os.Getenv(name); v != "" {
			return v, name
		}
	}
	return "", ""
}

// planRun plans what a run with settings s does, with region for
// references that name none, and makes no AWS call. Its errors are a run's
// configuration errors.
func planRun(ctx context.Context, s config.Settings, region string) (engine.Description, error) {
	p, f, err := checkedPlan(ctx, s, func(_ plan.Plan, opts sources.Options) (*sources.Fetcher, error) {
		return sources.NewPlanner(region, opts), nil
	})
	if err != nil {
		return engine.Description{}, err
	}
	run, err := engine.Describe(p, f, s.Refresh())
	if err != nil {
		return engine.Description{}, fmt.Errorf("%w: %w", config.ErrConfig, err)
	}
	return run, nil
}

// startPlanCommand parses a command's flags (it takes no other argument)
// and reads the settings as a run does, logging a failure as a run logs it,
// under msg. ok is false when the command is done (help asked for, or an
// error), with code.
func startPlanCommand(name, msg string, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (s config.Settings, log *slog.Logger, code int, ok bool) {
	if code, ok := parseFlags(name, fs, args, stdout, stderr); !ok {
		return s, nil, code, false
	}
	s, err := config.Load()
	if err != nil {
		newLogger("text", stderr).Error(msg, "exit", exitConfig, "error", err)
		return s, nil, exitConfig, false
	}
	return s, newLogger(s.LogFormat.Name, stderr), exitOK, true
}

// parseFlags parses a command's flags; it takes no other argument. ok is
// false when the command is done (help asked for, or an error) with code.
func parseFlags(name string, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c, _ := findCommand(commands(), name)
		writeHelp(stdout, commands(), &c)
		return exitOK, false
	case err != nil:
		fmt.Fprintf(stderr, "injector %s: %v (see injector %s --help)\n", name, err, name)
		return exitConfig, false
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "injector %s: unexpected argument %q (settings come from the environment; see injector %s --help)\n", name, fs.Arg(0), name)
		return exitConfig, false
	}
	return exitOK, true
}

type validateOptions struct {
	json bool
}

func validateFlags(o *validateOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.BoolVar(&o.json, "json", false, "print the plan as one JSON document")
	return fs
}

// runValidate is `injector validate`: exit 0 and the plan on stdout if a run
// would get past its checks, 2 and the run's messages if not.
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o validateOptions
	const failed = "invalid"
	s, log, code, ok := startPlanCommand("validate", failed, validateFlags(&o), args, stdout, stderr)
	if !ok {
		return code
	}
	region, from := envRegion()
	run, err := planRun(ctx, s, region)
	if err != nil {
		log.Error(failed, "exit", exitConfig, "error", err)
		return exitConfig
	}
	env := validateEnv{Settings: s, Region: region, RegionFrom: from}
	write := writePlan
	if o.json {
		write = writePlanJSON
	}
	if err := write(stdout, run, env); err != nil {
		log.Error("writing the plan", "exit", exitInternal, "error", err)
		return exitInternal
	}
	return exitOK
}

type policyOptions struct {
	account, region, partition, taskRole string
	kmsKeys                              []string
}

func policyFlags(o *policyOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("policy", flag.ContinueOnError)
	fs.StringVar(&o.account, "account", "", "the `ACCOUNT` id of secrets and parameters named without an ARN (default: the one account the spec's ARNs name)")
	fs.StringVar(&o.region, "region", "", "the `REGION` of references that name none (default: AWS_REGION, else AWS_DEFAULT_REGION)")
	fs.StringVar(&o.partition, "partition", "", "the `PARTITION` of references without an ARN (default: the partition of their region, aws for most)")
	fs.StringVar(&o.taskRole, "task-role", "", "the `ARN` of the task role: the trust policies of the roles the spec names, and the resource policies of secrets it reads from other accounts, allow it (needed when the spec names a role)")
	fs.Func("kms-key", "the `ARN` of a customer managed KMS key the values are encrypted with (repeatable): kms:Decrypt on it through the services the spec reads in its region", func(v string) error {
		o.kmsKeys = append(o.kmsKeys, v)
		return nil
	})
	return fs
}

// accountIDPattern is an account id, 12 digits; partitionPattern a
// partition: aws, then any number of - and lowercase words (aws-cn,
// aws-us-gov).
var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	partitionPattern = regexp.MustCompile(`^aws(-[a-z]+)*$`)
)

// isAccountID reports whether s is a 12-digit account id.
func isAccountID(s string) bool { return accountIDPattern.MatchString(s) }

// isPartition reports whether s looks like a partition.
func isPartition(s string) bool { return partitionPattern.MatchString(s) }

// runPolicy is `injector policy`: the least-privilege IAM policy for what
// a run with these settings calls, as one JSON document on stdout.
func runPolicy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o policyOptions
	const failed = "policy failed"
	s, log, code, ok := startPlanCommand("policy", failed, policyFlags(&o), args, stdout, stderr)
	if !ok {
		return code
	}
	fail := func(err error) int {
		log.Error(failed, "exit", exitConfig, "error", err)
		return exitConfig
	}
	if o.account != "" && !isAccountID(o.account) {
		return fail(fmt.Errorf("%w: --account %q: want a 12-digit account id", config.ErrConfig, o.account))
	}
	if o.partition != "" && !isPartition(o.partition) {
		return fail(fmt.Errorf("%w: --partition %q: want a partition such as aws, aws-cn or aws-us-gov", config.ErrConfig, o.partition))
	}
	region := o.region
	if region == "" {
		region, _ = envRegion()
	}
	run, err := planRun(ctx, s, region)
	if err != nil {
		if errors.Is(err, sources.ErrNoRegion) {
			err = fmt.Errorf("%w (or pass --region)", err)
		}
		return fail(err)
	}
	calls := run.Calls()
	opts := iampolicy.Options{Account: o.account, Partition: o.partition, KMSKeys: o.kmsKeys}
	var (
		doc iampolicy.Document
		set iampolicy.Set
		v   any
	)
	if iampolicy.NeedsSet(calls, o.taskRole) {
		set, err = iampolicy.BuildSet(calls, opts, o.taskRole)
		if errors.Is(err, iampolicy.ErrOptions) && o.taskRole == "" {
			err = fmt.Errorf("%w (pass --task-role)", err)
		}
		doc, v = set.TaskRole, set
	} else {
		doc, err = iampolicy.Build(calls, opts)
		v = doc
	}
	if errors.Is(err, iampolicy.ErrNoAccount) {
		err = fmt.Errorf("%w (pass --account)", err)
	}
	if err != nil {
		return fail(fmt.Errorf("%w: %w", config.ErrConfig, err))
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		log.Error(failed, "exit", exitInternal, "error", err)
		return exitInternal
	}
	if _, err := stdout.Write(append(out, '\n')); err != nil {
		log.Error(failed, "exit", exitInternal, "error", err)
		return exitInternal
	}
	for _, w := range iampolicy.Warnings(calls, o.taskRole) {
		fmt.Fprintln(stderr, "injector policy: warning: "+w)
	}
	switch {
	case len(doc.Statement) == 0:
		fmt.Fprintln(stderr, "injector policy: the spec makes no AWS call: the injector needs no task role (IAM refuses a policy without statements)")
	case len(o.kmsKeys) == 0 && iampolicy.NeedsKMS(calls):
		fmt.Fprintln(stderr, "injector policy: no --kms-key: values encrypted with a customer managed KMS key also need kms:Decrypt on it (AWS managed keys need none)")
	}
	return exitOK
}

// flagsHelp lists fs's flags for help, each as --name ARG (a one-letter
// one as -n).
func flagsHelp(fs *flag.FlagSet) string {
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		if arg != "" {
			arg = " " + arg
		}
		dashes := "--"
		if len(f.Name) == 1 {
			dashes = "-" // a short form, as -v
		}
		fmt.Fprintf(&b, "  %s%s%s\n      %s\n", dashes, f.Name, arg, usage)
	})
	return b.String()
}

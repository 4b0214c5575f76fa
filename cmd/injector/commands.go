package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ecs-secret-injector/injector/config"
)

// command is one subcommand. Adding one is one entry in commands.
type command struct {
	name    string
	summary string
	// flags, if set, returns the command's flags, for help (run parses its
	// arguments with the same flags).
	flags func() *flag.FlagSet
	// run gets the arguments after the command name; --help is handled
	// before it is called.
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands lists the subcommands in the order help shows them. The first one
// is what the bare binary runs.
func commands() []command {
	return []command{
		{
			name:    "inject",
			summary: "Fetch what INJECTOR_SPEC names and write it under INJECTOR_DIR (the default).",
			run: func(ctx context.Context, args []string, _, stderr io.Writer) int {
				if code, ok := noArgs("inject", args, stderr); !ok {
					return code
				}
				return runInject(ctx, stderr)
			},
		},
		{
			name:    "version",
			summary: "Print the version, the commit and the Go version.",
			run: func(_ context.Context, args []string, stdout, stderr io.Writer) int {
				if code, ok := noArgs("version", args, stderr); !ok {
					return code
				}
				currentVersion().write(stdout)
				return exitOK
			},
		},
		{
			name:    "validate",
			summary: "Check the settings and the spec as a run would (no AWS call, nothing written) and print the plan: files, references, API calls.",
			flags:   func() *flag.FlagSet { return validateFlags(new(validateOptions)) },
			run:     runValidate,
		},
		{
			name:    "policy",
			summary: "Print the least-privilege IAM policy (JSON) that a run with these settings needs (no AWS call).",
			flags:   func() *flag.FlagSet { return policyFlags(new(policyOptions)) },
			run:     runPolicy,
		},
		{
			name:    "health",
			summary: "Exit 0 if refresh mode has published the files and confirmed them within INJECTOR_MAX_STALENESS, 1 if not (a container healthCheck); --verbose also prints which version of each item is live.",
			flags:   func() *flag.FlagSet { return healthFlags(new(healthOptions)) },
			run:     runHealth,
		},
	}
}

// dispatch picks the command args name. With no arguments it injects, so
// task definitions that run the bare image keep working.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 {
		return cmds[0].run(ctx, nil, stdout, stderr)
	}
	name, rest := args[0], args[1:]
	if isHelp(name) || name == "help" {
		if name == "help" && len(rest) > 0 {
			if c, ok := findCommand(cmds, rest[0]); ok {
				writeHelp(stdout, cmds, &c)
				return exitOK
			}
			return unknown(stderr, cmds, rest[0])
		}
		writeHelp(stdout, cmds, nil)
		return exitOK
	}
	c, ok := findCommand(cmds, name)
	if !ok {
		return unknown(stderr, cmds, name)
	}
	if len(rest) > 0 && isHelp(rest[0]) {
		writeHelp(stdout, cmds, &c)
		return exitOK
	}
	return c.run(ctx, rest, stdout, stderr)
}

func findCommand(cmds []command, name string) (command, bool) {
	for _, c := range cmds {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

func unknown(stderr io.Writer, cmds []command, name string) int {
	fmt.Fprintf(stderr, "injector: unknown command %q\n\n", name)
	writeUsage(stderr, cmds)
	return exitConfig
}

// noArgs refuses arguments to a command that takes none.
func noArgs(name string, args []string, stderr io.Writer) (int, bool) {
	if len(args) == 0 {
		return exitOK, true
	}
	fmt.Fprintf(stderr, "injector %s: takes no arguments, got %q (settings come from the environment; see injector %s --help)\n", name, args, name)
	return exitConfig, false
}

func writeUsage(w io.Writer, cmds []command) {
	fmt.Fprintln(w, "Usage:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, c := range cmds {
		name := c.name
		if i == 0 {
			name = "[" + name + "]"
		}
		fmt.Fprintf(tw, "  injector %s\t%s\n", name, c.summary)
	}
	fmt.Fprintf(tw, "  injector COMMAND --help\tThis help, for one command.\n")
	tw.Flush()
}

// writeHelp writes the usage (of one command, or of all when c is nil), the
// settings and the exit codes.
func writeHelp(w io.Writer, cmds []command, c *command) {
	if c == nil {
		writeUsage(w, cmds)
	} else {
		name := c.name
		if c.name == cmds[0].name {
			name = "[" + name + "]"
		}
		if c.flags != nil {
			name += " [flags]"
		}
		fmt.Fprintf(w, "Usage: injector %s\n\n%s\n", name, c.summary)
		if c.flags != nil {
			fmt.Fprintf(w, "\nFlags:\n%s", flagsHelp(c.flags()))
		}
	}
	fmt.Fprintln(w)
	writeSettings(w)
	fmt.Fprintln(w)
	writeExitCodes(w)
}

func writeSettings(w io.Writer) {
	fmt.Fprintln(w, "Settings (environment variables):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range config.Variables() {
		def := v.Default
		switch {
		case v.Required:
			def = "required"
		case def == "":
			def = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, def, v.Doc)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, strings.TrimSpace(`
Region, endpoints and credentials come from the AWS SDK's own variables
(AWS_REGION, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>; on ECS, the task
role). Unless AWS_MAX_ATTEMPTS or AWS_RETRY_MODE is set, a call is tried up
to 10 times.`))
}

// exitCodes documents the exit codes, in order.
func exitCodes() []string {
	return []string{
		exitOK:       "every file is in place",
		exitInternal: "unexpected error",
		exitConfig:   "configuration error: settings, spec or arguments invalid; no AWS call was made",
		exitFetch:    "fetch error: a value could not be fetched",
		exitRender:   "render error: a value does not fit its format",
		exitWrite:    "write error: a file could not be put in place; nothing new is left behind",
	}
}

func writeExitCodes(w io.Writer) {
	fmt.Fprintln(w, "Exit codes:")
	for code, doc := range exitCodes() {
		fmt.Fprintf(w, "  %d  %s\n", code, doc)
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ecs-secret-injector/injector/engine/status"
)

// Exit codes of `injector health`: Docker and ECS read 0 as healthy and 1
// as unhealthy, and reserve 2, so every failure is 1.
const (
	healthOK  = 0
	healthBad = 1
)

// statusWait is how long health looks again for a status file that is
// missing, in case a write is replacing it.
const statusWait = 2 * time.Second

type healthOptions struct {
	verbose bool
}

func healthFlags(o *healthOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.BoolVar(&o.verbose, "verbose", false, "also print, per item, the version being served, the region that served it and when it was fetched and last confirmed (never a value)")
	fs.BoolVar(&o.verbose, "v", false, "short for --verbose")
	return fs
}

// runHealth is `injector health`, for a container healthCheck in refresh
// mode (the image has no shell): it reads the status file under
// INJECTOR_DIR and exits 0 when the first generation is published and the
// last successful check is within the max staleness, 1 otherwise. It makes
// no AWS call and needs no other setting. With --verbose it also prints
// the status file's live table, for an operator (docker exec, ECS Exec);
// the exit code is the same.
func runHealth(_ context.Context, args []string, stdout, _ io.Writer) int {
	var o healthOptions
	fs := healthFlags(&o)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		if errors.Is(err, flag.ErrHelp) {
			c, _ := findCommand(commands(), "health")
			writeHelp(stdout, commands(), &c)
			return healthOK
		}
		fmt.Fprintln(stdout, "unhealthy: usage: injector health [--verbose] (no other arguments; reads INJECTOR_DIR)")
		return healthBad
	}
	dir := os.Getenv("INJECTOR_DIR")
	if dir == "" {
		fmt.Fprintln(stdout, "unhealthy: INJECTOR_DIR is not set")
		return healthBad
	}
	s, err := status.Health(dir, statusWait)
	code := writeHealth(stdout, s, err, time.Now())
	if o.verbose && s.Generation > 0 {
		fmt.Fprintln(stdout)
		writeLive(stdout, s, time.Now())
	}
	return code
}

// writeHealth prints health's one line for status s read at now, err
// being why it is unhealthy, and returns the exit code.
func writeHealth(w io.Writer, s status.Status, err error, now time.Time) int {
	if err != nil {
		fmt.Fprintln(w, "unhealthy:", err)
		return healthBad
	}
	fmt.Fprintf(w, "healthy: generation %d, last check %s ago (max staleness %s)\n", s.Generation,
		now.Sub(s.LastCheck).Round(time.Millisecond), s.MaxStaleness)
	return healthOK
}

// writeLive prints the live table of status s at now: per item, the
// version being served (a Secrets Manager version id and its stages, an
// SSM parameter version, an S3 object's version id or else its ETag, a
// digest for an SSM path or secret prefix), the region that served it,
// and when it was fetched and last confirmed. It holds no value.
func writeLive(w io.Writer, s status.Status, now time.Time) {
	if len(s.Live) == 0 {
		fmt.Fprintln(w, "The status file lists no item's version (written by an injector without them).")
		return
	}
	fmt.Fprintf(w, "Live (%d items):\n", len(s.Live))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  ITEM\tREGION\tVERSION\tSTAGES\tFETCHED\tCONFIRMED")
	for _, it := range s.Live {
		version := it.Version
		if version == "" && it.ETag != "" {
			version = "ETag " + it.ETag
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", it.Ref, orDash(it.Region), orDash(version),
			orDash(strings.Join(it.Stages, ",")), ago(it.Fetched, now), ago(it.Confirmed, now))
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ago writes t as how long before now it was, to the second.
func ago(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
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

// runHealth is `injector health`, for a container healthCheck in refresh
// mode (the image has no shell): it reads the status file under
// INJECTOR_DIR and exits 0 when the first generation is published and the
// last successful check is within the max staleness, 1 otherwise. It makes
// no AWS call and needs no other setting.
func runHealth(_ context.Context, args []string, stdout, _ io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stdout, "unhealthy: usage: injector health (no arguments; reads INJECTOR_DIR)")
		return healthBad
	}
	dir := os.Getenv("INJECTOR_DIR")
	if dir == "" {
		fmt.Fprintln(stdout, "unhealthy: INJECTOR_DIR is not set")
		return healthBad
	}
	s, err := status.Health(dir, statusWait)
	if err != nil {
		fmt.Fprintln(stdout, "unhealthy:", err)
		return healthBad
	}
	fmt.Fprintf(stdout, "healthy: generation %d, last check %s ago (max staleness %s)\n", s.Generation,
		time.Since(s.LastCheck).Round(time.Millisecond), s.MaxStaleness)
	return healthOK
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/ecs-secret-injector/injector/config"
	"github.com/ecs-secret-injector/injector/engine"
	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/sources"
	"github.com/ecs-secret-injector/injector/writer"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{fmt.Errorf("x: %w", config.ErrConfig), exitConfig},
		{fmt.Errorf("x: %w", sources.ErrFetch), exitFetch},
		{fmt.Errorf("x: %w", engine.ErrRender), exitRender},
		{fmt.Errorf("x: %w", writer.ErrWrite), exitWrite},
		{context.DeadlineExceeded, exitInternal},
		{errors.New("other"), exitInternal},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestRunConfigError(t *testing.T) {
	t.Setenv("INJECTOR_DIR", "")
	t.Setenv("INJECTOR_SPEC", "")
	var out bytes.Buffer
	if code := run(context.Background(), nil, io.Discard, &out); code != exitConfig {
		t.Fatalf("run = %d, want %d:\n%s", code, exitConfig, out.String())
	}
	if !bytes.Contains(out.Bytes(), []byte("INJECTOR_DIR")) {
		t.Fatalf("message does not name the setting:\n%s", out.String())
	}
}

// config checks INJECTOR_SPEC against the spec's own limit, which it
// states without importing the planner.
func TestSpecLimitsAgree(t *testing.T) {
	if config.MaxSpecBytes != plan.MaxSpecBytes {
		t.Errorf("config.MaxSpecBytes %d, plan.MaxSpecBytes %d", config.MaxSpecBytes, plan.MaxSpecBytes)
	}
}

package main

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// TestExecHelperRefusedInPlace: INJECTOR_EXEC_HELPER with an ecs-config
// item, which is merged in place, is a configuration error before any AWS
// call.
func TestExecHelperRefusedInPlace(t *testing.T) {
	t.Setenv("INJECTOR_DIR", t.TempDir())
	t.Setenv("INJECTOR_SPEC", `[{"from":"env:LOGIN","path":"ecs.config","format":"ecs-config","registry":"r.example"}]`)
	t.Setenv("LOGIN", `{"username":"u","password":"p"}`)
	t.Setenv("INJECTOR_EXEC_HELPER", "true")
	var out bytes.Buffer
	if code := run(context.Background(), nil, io.Discard, &out); code != exitConfig {
		t.Fatalf("run = %d, want %d:\n%s", code, exitConfig, out.String())
	}
	if !bytes.Contains(out.Bytes(), []byte("INJECTOR_EXEC_HELPER")) || !bytes.Contains(out.Bytes(), []byte("ecs-config")) {
		t.Fatalf("message does not name the setting and ecs-config:\n%s", out.String())
	}
}

// TestValidateRefusesExecHelperInPlace: validate refuses the setting with an
// ecs-config item as a run does.
func TestValidateRefusesExecHelperInPlace(t *testing.T) {
	t.Setenv("INJECTOR_DIR", t.TempDir())
	t.Setenv("INJECTOR_SPEC", `[{"from":"env:LOGIN","path":"ecs.config","format":"ecs-config","registry":"r.example"}]`)
	t.Setenv("LOGIN", `{"username":"u","password":"p"}`)
	t.Setenv("INJECTOR_EXEC_HELPER", "true")
	var out bytes.Buffer
	if code := run(context.Background(), []string{"validate"}, io.Discard, &out); code != exitConfig {
		t.Fatalf("validate = %d, want %d:\n%s", code, exitConfig, out.String())
	}
	if !bytes.Contains(out.Bytes(), []byte("INJECTOR_EXEC_HELPER")) {
		t.Fatalf("message does not name the setting:\n%s", out.String())
	}
}

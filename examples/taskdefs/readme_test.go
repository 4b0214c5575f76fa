package taskdefs_test

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// readmeTaskDef is the task definition README.md shows: the JSON block
// after its heading.
func readmeTaskDef(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "\n## A minimal task definition\n")
	_, rest, ok2 := strings.Cut(rest, "\n```json\n")
	block, _, ok3 := strings.Cut(rest, "\n```\n")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no task definition under ## A minimal task definition")
	}
	return []byte(block)
}

// TestREADMETaskDefinition: the task definition in README.md is a valid
// RegisterTaskDefinition input, wired as the examples are, and part of
// fargate.json: every field it gives has fargate.json's value, and its
// spec's items are items of fargate.json's spec, so fargate.json's
// task-role policy covers it.
func TestREADMETaskDefinition(t *testing.T) {
	raw := readmeTaskDef(t)
	in := new(ecs.RegisterTaskDefinitionInput)
	if err := decodeStrict(raw, in); err != nil {
		t.Fatalf("README.md: %v", err)
	}
	if _, err := validateTaskDef(t.Context(), in); err != nil {
		t.Fatalf("README.md: RegisterTaskDefinition: %v", err)
	}
	w, err := checkWiring(in)
	if err != nil {
		t.Fatalf("README.md: injector wiring:\n%v", err)
	}
	full, err := os.ReadFile("fargate.json")
	if err != nil {
		t.Fatal(err)
	}
	var small, big any
	if err := json.Unmarshal(raw, &small); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(full, &big); err != nil {
		t.Fatal(err)
	}
	if err := partOf(small, big, "$"); err != nil {
		t.Errorf("README.md's task definition is not part of fargate.json: %v", err)
	}
	doc, err := loadPolicy("fargate" + taskRolePolicySuffix)
	if err != nil {
		t.Fatal(err)
	}
	g, err := taskRoleCheck(doc, w, exampleKMSKey("fargate"), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkGrants(t, g)[0]; err != nil {
		t.Errorf("fargate.json's task-role policy does not cover README.md's spec:\n%v", err)
	}
}

// partOf reports whether small is part of big: objects by key, each of
// small's array elements part of one of big's, INJECTOR_SPEC by its items,
// anything else equal.
func partOf(small, big any, at string) error {
	switch s := small.(type) {
	case map[string]any:
		b, ok := big.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: an object where fargate.json has %T", at, big)
		}
		if s["name"] == "INJECTOR_SPEC" && b["name"] == "INJECTOR_SPEC" {
			return specPartOf(s["value"], b["value"], at)
		}
		for k, v := range s {
			bv, ok := b[k]
			if !ok {
				return fmt.Errorf("%s.%s: not in fargate.json", at, k)
			}
			if err := partOf(v, bv, at+"."+k); err != nil {
				return err
			}
		}
		return nil
	case []any:
		b, ok := big.([]any)
		if !ok {
			return fmt.Errorf("%s: an array where fargate.json has %T", at, big)
		}
		for i, v := range s {
			found := false
			for _, bv := range b {
				if partOf(v, bv, at) == nil {
					found = true
					break
				}
			}
			if !found {
				return fmt.Errorf("%s[%d]: no element of fargate.json's array holds it", at, i)
			}
		}
		return nil
	default:
		if !reflect.DeepEqual(small, big) {
			return fmt.Errorf("%s: %v, fargate.json has %v", at, small, big)
		}
		return nil
	}
}

// specPartOf: each item of the spec small is an item of the spec big.
func specPartOf(small, big any, at string) error {
	var s, b []any
	for _, x := range []struct {
		v   any
		out *[]any
	}{{small, &s}, {big, &b}} {
		str, ok := x.v.(string)
		if !ok {
			return fmt.Errorf("%s: INJECTOR_SPEC is not a string", at)
		}
		if err := json.Unmarshal([]byte(str), x.out); err != nil {
			return fmt.Errorf("%s: INJECTOR_SPEC: %w", at, err)
		}
	}
	return partOf(s, b, at+".INJECTOR_SPEC")
}

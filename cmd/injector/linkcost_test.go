package main

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// maxItabs bounds the interface tables in the binary: a measure of how
// many methods the linker keeps. With dead method elimination it is about
// 840; without it (text/template's executor linked, as before
// internal/tmpl) it was 1,985 and the binary twice the size.
const maxItabs = 1200

// TestMethodsEliminated builds the binary and checks with `go tool nm` that
// nothing in it finds methods by name at run time (reflect.Value.Method,
// MethodByName, reflect.Type's Method, MethodByName): any of these makes
// the Go linker keep every exported method of every reachable type. It
// also checks that text/template's executor is not linked (templates run
// in internal/tmpl; text/template is still imported, by envconfig, whose
// usage printer the injector never calls), and bounds the interface tables.
func TestMethodsEliminated(t *testing.T) {
	bin := buildPlain(t)
	out, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	forbidden := []string{
		"reflect.Value.Method", "reflect.Value.MethodByName",
		"reflect.(*rtype).Method", "reflect.(*rtype).MethodByName",
		"reflect.(*interfaceType).MethodByName",
	}
	itabs := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// ADDRESS TYPE NAME (undefined symbols have no address)
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		name := f[len(f)-1]
		if strings.HasPrefix(name, "go:itab.") {
			itabs++
		}
		for _, bad := range forbidden {
			if name == bad {
				t.Errorf("the binary has %s: the linker keeps every exported method", name)
			}
		}
		if strings.HasPrefix(name, "text/template.(*state).") || strings.HasPrefix(name, "text/template.(*Template).Execute") {
			t.Errorf("the binary has text/template's executor (%s)", name)
		}
	}
	if itabs == 0 {
		t.Fatal("no itab symbols: cannot read go tool nm's output")
	}
	if itabs > maxItabs {
		t.Errorf("the binary has %d itabs, more than %d", itabs, maxItabs)
	}
	t.Logf("%d itabs", itabs)
}

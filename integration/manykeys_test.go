package integration_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// manyKeys is how many json-key items TestInjectManyKeysOfOneSecret
// selects from one secret.
const manyKeys = 8000

// Many items selecting keys of one JSON secret are rendered well within
// the run's timeout: the secret is decoded once per render, not once per
// item (which rendered on for many times this timeout). The timeout is
// generous, so that a slow machine does not fail the test; that a render
// stops at the deadline is inject's TestRenderStopsAtDeadline, and the
// speed is its BenchmarkRenderManyKeys.
func TestInjectManyKeysOfOneSecret(t *testing.T) {
	p := uniq()
	doc := make(map[string]string, manyKeys)
	items := make([]map[string]any, manyKeys)
	for i := range manyKeys {
		k := fmt.Sprintf("k%d", i)
		doc[k] = fmt.Sprintf("v%d-%s", i, p)
		items[i] = item(fmt.Sprintf("secretsmanager:%s/big:%s::", p, k), fmt.Sprintf("k/%d", i))
	}
	body, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	putSecret(t, p+"/big", string(body))
	specFile := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(specFile, []byte(specJSON(t, items...)), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	h.proxy.reset(nil)
	res := h.inject(t, "", dir, "INJECTOR_SPEC_FILE="+specFile, "INJECTOR_TIMEOUT=20s")
	if res.code != 0 {
		t.Fatalf("exit %d, want 0 (wall %s):\n%.2000s", res.code, res.wall, res.output)
	}
	for _, i := range []int{0, manyKeys / 2, manyKeys - 1} {
		got, err := os.ReadFile(filepath.Join(dir, "k", fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		if want := doc[fmt.Sprintf("k%d", i)]; string(got) != want {
			t.Errorf("k/%d = %q, want %q", i, got, want)
		}
	}
}

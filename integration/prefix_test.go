package integration_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// TestSecretPrefix reads every secret under a prefix (25, more than one
// page of BatchGetSecretValue) and none of a neighbour whose name only
// shares the prefix's text, with explode, dotenv, raw and template; in
// refresh mode a secret added, removed or changed under the prefix makes a
// new generation.
func TestSecretPrefix(t *testing.T) {
	p := uniq()
	want := map[string]string{}
	for i := range 25 {
		rel := fmt.Sprintf("s%02d", i)
		if i%5 == 0 {
			rel = fmt.Sprintf("db/s%02d", i)
		}
		want[rel] = "prefix-value-" + randHex(4)
		putSecret(t, p+"/prod/"+rel, want[rel])
	}
	putSecret(t, p+"/production/s00", "neighbour-value-1")
	putSecret(t, p+"/prodx", "neighbour-value-2")
	putSecret(t, p+"/prod", "neighbour-value-3")
	ref := "secretsmanager:" + p + "/prod/*"
	spec := specJSON(t,
		map[string]any{"from": ref, "path": "prod", "format": "explode"},
		map[string]any{"from": ref, "path": "prod.env", "format": "dotenv"},
		item(ref, "prod.json"),
		map[string]any{"inputs": map[string]string{"all": ref}, "path": "t", "format": "template", "template": `{{ index (json .all) "db/s05" }}`},
	)
	dir := t.TempDir()
	res := h.injectOK(t, spec, dir)
	assertNoSecret(t, res.output, want["s01"], "neighbour-value-1")
	if n := h.proxy.count("BatchGetSecretValue"); n < 2 {
		t.Errorf("BatchGetSecretValue calls = %d, want every page (25 secrets, 20 a page)", n)
	}
	for rel, v := range want {
		if b, err := os.ReadFile(filepath.Join(dir, "prod", rel)); err != nil || string(b) != v {
			t.Errorf("prod/%s = %q, %v", rel, b, err)
		}
		assertDotenv(t, filepath.Join(dir, "prod.env"), strings.ToUpper(strings.ReplaceAll(rel, "/", "_")), v)
	}
	var got map[string]string
	b, _ := os.ReadFile(filepath.Join(dir, "prod.json"))
	if err := json.Unmarshal(b, &got); err != nil || len(got) != 25 {
		t.Errorf("prod.json: %d members, %v", len(got), err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "t")); string(b) != want["db/s05"] {
		t.Errorf("template = %q", b)
	}
	if strings.Contains(string(mustRead(t, filepath.Join(dir, "prod.json"))), "neighbour") {
		t.Error("a neighbour's secret is under the prefix")
	}

	t.Run("empty and the maximum", func(t *testing.T) {
		none := "secretsmanager:" + p + "/none/*"
		r := h.inject(t, specJSON(t, item(none, "x")), t.TempDir())
		if r.code != 3 || !strings.Contains(r.output, "no secret under the prefix") {
			t.Errorf("empty prefix: exit %d:\n%s", r.code, r.output)
		}
		h.injectOK(t, specJSON(t, map[string]any{"from": none, "path": "x", "allowEmpty": true}), t.TempDir())
		r = h.inject(t, specJSON(t, item(ref, "x")), t.TempDir(), "INJECTOR_SSM_PATH_MAX=24")
		if r.code != 3 || !strings.Contains(r.output, "more than 24 secrets under the prefix") {
			t.Errorf("over the maximum: exit %d:\n%s", r.code, r.output)
		}
	})

	t.Run("refresh", func(t *testing.T) {
		dir := t.TempDir()
		r := startRefresh(t, specJSON(t, map[string]any{"from": ref, "path": "prod", "format": "explode"}), dir)
		r.published(t, 1)
		putSecret(t, p+"/prod/added", "added-value")
		r.published(t, 2)
		if b, err := os.ReadFile(filepath.Join(dir, "prod", "added")); err != nil || string(b) != "added-value" {
			t.Errorf("added: %q, %v", b, err)
		}
		if _, err := h.sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{
			SecretId: aws.String(p + "/prod/s01"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		r.published(t, 3)
		if _, err := os.Stat(filepath.Join(dir, "prod", "s01")); !os.IsNotExist(err) {
			t.Errorf("removed secret's file: %v", err)
		}
		if _, err := h.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
			SecretId: aws.String(p + "/prod/s02"), SecretString: aws.String("changed-value")}); err != nil {
			t.Fatal(err)
		}
		r.published(t, 4)
		if b, _ := os.ReadFile(filepath.Join(dir, "prod", "s02")); string(b) != "changed-value" {
			t.Errorf("changed: %q", b)
		}
		if code, _ := r.signal(t, syscall.SIGTERM); code != 0 {
			t.Errorf("SIGTERM: exit %d", code)
		}
	})
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

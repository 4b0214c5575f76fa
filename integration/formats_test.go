package integration_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFormats drives every output format through the binary and reads the
// results back the way their consumers do.
func TestFormats(t *testing.T) {
	p := uniq()
	const (
		dbPass  = "db pass with 'quotes' and $dollar"
		apiKey  = "api-key-value-k2"
		regPass = "registry-token-r5"
		hubPass = "hub-token-h6"
	)
	db, _ := json.Marshal(map[string]any{"DB_USER": "app", "DB_PASSWORD": dbPass, "DB_PORT": 5432})
	putSecret(t, p+"/db", string(db))
	putSecret(t, p+"/api", apiKey)
	putSecret(t, p+"/reg", `{"username":"robot","password":"`+regPass+`"}`)
	putSecret(t, p+"/hub", `{"username":"hubuser","password":"`+hubPass+`"}`)

	dir := t.TempDir()
	sm := func(name string) string { return "secretsmanager:" + p + "/" + name }
	spec := specJSON(t,
		map[string]any{"from": sm("db"), "path": "db.env", "format": "dotenv"},
		map[string]any{"from": sm("db"), "path": "db", "format": "explode"},
		map[string]any{"inputs": map[string]string{"db": sm("db"), "key": sm("api")}, "path": "app.conf", "format": "template",
			"template": "user={{ (json .db).DB_USER }}\nkey={{ .key }}\n"},
		map[string]any{"from": sm("reg"), "path": "docker/config.json", "format": "dockerconfigjson", "registry": "registry.example.com"},
		map[string]any{"from": sm("hub"), "path": "docker/config.json", "format": "dockerconfigjson", "registry": "docker.io"},
		map[string]any{"from": sm("reg"), "path": "dockercfg.json", "format": "dockercfg", "registry": "registry.example.com", "email": "ops@example.com"},
	)
	res := h.injectOK(t, spec, dir)
	assertNoSecret(t, res.output, dbPass, apiKey, regPass, hubPass)
	if got := h.proxy.count("GetSecretValue"); got != 4 {
		t.Errorf("GetSecretValue calls = %d, want 4 (one per secret)", got)
	}
	// ecs-config is merged into a file another program owns, in place, by
	// a run of its own (as on an EC2 host, INJECTOR_DIR=/etc/ecs).
	etcECS := t.TempDir()
	const otherLines = "ECS_CLUSTER=prod\nECS_ENGINE_AUTH_TYPE=docker\nECS_ENGINE_AUTH_DATA={\"old\":1}\nECS_LOGLEVEL=info\n"
	plantFile(t, filepath.Join(etcECS, "ecs.config"), otherLines, 0o600)
	res = h.injectOK(t, specJSON(t, map[string]any{"from": sm("reg"), "path": "ecs.config", "format": "ecs-config", "registry": "registry.example.com"}), etcECS)
	assertNoSecret(t, res.output, regPass)

	t.Run("dotenv read back by bash", func(t *testing.T) {
		assertDotenv(t, filepath.Join(dir, "db.env"), "DB_PASSWORD", dbPass)
	})
	t.Run("explode", func(t *testing.T) {
		for name, want := range map[string]string{"DB_USER": "app", "DB_PASSWORD": dbPass, "DB_PORT": "5432"} {
			if b, err := os.ReadFile(filepath.Join(dir, "db", name)); err != nil || string(b) != want {
				t.Errorf("db/%s = %q, %v", name, b, err)
			}
		}
	})
	t.Run("template", func(t *testing.T) {
		if b, err := os.ReadFile(filepath.Join(dir, "app.conf")); err != nil || string(b) != "user=app\nkey="+apiKey+"\n" {
			t.Fatalf("app.conf = %q, %v", b, err)
		}
	})
	t.Run("docker config.json", func(t *testing.T) {
		file := filepath.Join(dir, "docker", "config.json")
		assertDockerAuth(t, file, "registry.example.com", "robot", regPass)
		assertDockerAuth(t, file, "https://index.docker.io/v1/", "hubuser", hubPass)
	})
	t.Run("dockercfg without auths", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(dir, "dockercfg.json"))
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]struct{ Auth, Email string }
		if err := json.Unmarshal(b, &cfg); err != nil {
			t.Fatal(err)
		}
		e, ok := cfg["registry.example.com"]
		if _, hasAuths := cfg["auths"]; hasAuths || !ok || e.Email != "ops@example.com" || e.Auth != base64.StdEncoding.EncodeToString([]byte("robot:"+regPass)) {
			t.Fatalf("dockercfg = %s", b)
		}
	})
	t.Run("ecs.config merged", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(etcECS, "ecs.config"))
		if err != nil {
			t.Fatal(err)
		}
		got := string(b)
		for _, keep := range []string{"ECS_CLUSTER=prod\n", "ECS_LOGLEVEL=info\n", "ECS_ENGINE_AUTH_TYPE=dockercfg\n", "ECS_ENGINE_AUTH_DATA={"} {
			if !strings.Contains(got, keep) {
				t.Errorf("ecs.config lacks %q:\n%s", keep, got)
			}
		}
		if strings.Contains(got, `"old"`) || strings.Count(got, "ECS_ENGINE_AUTH_") != 2 {
			t.Errorf("old auth lines not replaced:\n%s", got)
		}
		// Replaced in place: no generation, lock file or temporary beside it.
		if entries, err := os.ReadDir(etcECS); err != nil || len(entries) != 1 {
			t.Errorf("%s holds %v (%v), want only ecs.config", etcECS, entries, err)
		}
	})
}

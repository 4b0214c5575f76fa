package formats

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/pkg/kvfile"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// --- A reading of the ECS agent's rules, written for these tests. ---
//
// Read in github.com/aws/amazon-ecs-agent:
//
//  1. agent/dockerclient/dockerauth/dockerauth.go (older copies at
//     agent/engine/dockerauth/dockerauth.go), parseAuthData with auth type
//     "dockercfg": encoding/json unmarshals ECS_ENGINE_AUTH_DATA into
//     map[registry]struct{Auth string `json:"auth"`}; if that fails, no auth
//     at all. Per registry, Auth is decoded with base64.StdEncoding (an error
//     skips the registry) and split at the first ':' into username and
//     password (no ':' skips it). Keys lose a leading "http://" or "https://".
//  2. Same file, GetAuthconfig(image): the tag is dropped; the registry part
//     of the image is its first '/'-separated component if that contains '.'
//     or ':' or is "localhost", else the image is on "docker.io". docker.io,
//     index.docker.io and registry-1.docker.io use only the key
//     "index.docker.io/v1/". Otherwise the key equal to the registry host is
//     the first choice; without one, the first key with that host in Go's
//     (random) map order is; then, in map order, a longer key with that host
//     replaces the choice when the image name starts with it.
//  3. ecs-init/docker/docker.go, getEnvVars: ecs.config is TrimSpace'd, split
//     at "\n", each line TrimSpace'd and cut at the first '='; lines without
//     '=' are ignored; the value is taken verbatim; the last line for a key
//     wins. ECS_ENGINE_AUTH_TYPE/DATA reach the agent as environment
//     variables (agent/config: EngineAuthType = os.Getenv(...), EngineAuthData
//     = NewSensitiveRawMessage(os.Getenv(...))).

type agentAuth struct{ username, password string }

// parseAgentDockercfg follows rule 1; it also reports entries the agent
// would skip, so tests can require that there are none.
func parseAgentDockercfg(data []byte) (map[string]agentAuth, []string, error) {
	var doc map[string]struct {
		Auth string `json:"auth"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, err
	}
	out := make(map[string]agentAuth)
	var skipped []string
	for registry, entry := range doc {
		raw, err := base64.StdEncoding.DecodeString(entry.Auth)
		if err != nil {
			skipped = append(skipped, registry)
			continue
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			skipped = append(skipped, registry)
			continue
		}
		// The agent's stripRegistrySchema, written again here: the model
		// shares no code with what it checks.
		key := registry
		if rest, ok := strings.CutPrefix(key, "http://"); ok {
			key = rest
		} else if rest, ok := strings.CutPrefix(key, "https://"); ok {
			key = rest
		}
		out[key] = agentAuth{user, pass}
	}
	return out, skipped, nil
}

// agentLookup follows rule 2.
func agentLookup(auths map[string]agentAuth, image string) (agentAuth, bool) {
	repo := image
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	} else if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	host := "docker.io"
	if first, _, ok := strings.Cut(repo, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		host = first
	}
	switch host {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		a, ok := auths["index.docker.io/v1/"]
		return a, ok
	}
	best := ""
	if _, ok := auths[host]; ok {
		best = host
	}
	for key := range auths {
		keyHost, _, _ := strings.Cut(key, "/")
		if keyHost != host {
			continue
		}
		if best == "" || len(key) > len(best) && strings.HasPrefix(image, key) {
			best = key
		}
	}
	a, ok := auths[best]
	return a, ok && best != ""
}

// parseECSInit follows rule 3.
func parseECSInit(file []byte) map[string]string {
	env := make(map[string]string)
	for _, line := range strings.Split(strings.TrimSpace(string(file)), "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok {
			env[key] = value
		}
	}
	return env
}

// --- Test data ---

type registryCase struct {
	cred   Credential
	lookup string // registry host a client asks for
	image  string // an image on that registry, for the ECS agent's lookup
}

func testRegistries() []registryCase {
	return []registryCase{
		{Credential{Registry: "docker.io", Username: "hubuser", Password: "hub:pass:with:colons"}, "docker.io", "library/nginx:1.27"},
		{Credential{Registry: "ghcr.io", Username: "gh-user", Password: "ghp_Tok3n+/=", Email: "dev@example.com"}, "ghcr.io", "ghcr.io/org/app:v1"},
		{Credential{Registry: "https://quay.io", Username: "robot+ci", Password: `p"a\ss w'rd`}, "quay.io", "quay.io/team/tool@sha256:0123"},
		{Credential{Registry: "registry.example.com:5000", Username: "ünïcode", Password: "密码🔑\n"}, "registry.example.com:5000", "registry.example.com:5000/x/y:latest"},
		{Credential{Registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", Username: "AWS", Password: strings.Repeat("eyJwYXlsb2FkIjoi", 100)}, "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/svc:3"},
		{Credential{Registry: "localhost:5000", Username: "u", Password: "p"}, "localhost:5000", "localhost:5000/img"},
	}
}

func testCreds() []Credential {
	var creds []Credential
	for _, c := range testRegistries() {
		creds = append(creds, c.cred)
	}
	return creds
}

// --- Tests ---

func TestParseCredential(t *testing.T) {
	tests := []struct {
		name    string
		secret  string
		want    Credential
		wantErr string // substring; empty means success
	}{
		{"basic", `{"username":"u","password":"p"}`, Credential{Registry: "r.example.com", Username: "u", Password: "p"}, ""},
		{"unknown fields ignored", `{"username":"u","password":"p","note":{"x":1},"port":1}`, Credential{Registry: "r.example.com", Username: "u", Password: "p"}, ""},
		{"email kept", `{"username":"u","password":"p","email":"a@b.c"}`, Credential{Registry: "r.example.com", Username: "u", Password: "p", Email: "a@b.c"}, ""},
		{"case-insensitive like the agent", `{"Username":"u","PASSWORD":"p"}`, Credential{Registry: "r.example.com", Username: "u", Password: "p"}, ""},
		{"escapes decoded", `{"username":"u","password":"a\"b\\c\u00e9"}`, Credential{Registry: "r.example.com", Username: "u", Password: "a\"b\\cé"}, ""},
		{"missing password", `{"username":"u"}`, Credential{}, "password is missing"},
		{"empty username", `{"username":"","password":"p"}`, Credential{}, "username is missing"},
		{"null username", `{"username":null,"password":"p"}`, Credential{}, "username is missing"},
		{"number password", `{"username":"u","password":12345}`, Credential{}, `"password" must be a string`},
		{"colon in username", `{"username":"a:b","password":"p"}`, Credential{}, "contains ':'"},
		{"NUL in password", `{"username":"u","password":"p\u0000"}`, Credential{}, "NUL"},
		{"field twice", `{"username":"u","Username":"v","password":"p"}`, Credential{}, `"username" more than once`},
		{"not JSON", `u:p`, Credential{}, "invalid JSON"},
		{"array", `["u","p"]`, Credential{}, "not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCredential("r.example.com", []byte(tt.secret))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), `"r.example.com"`) {
					t.Errorf("error %q does not name the registry", err)
				}
				if got != (Credential{}) {
					t.Errorf("credential returned with error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	for _, reg := range []string{"", "bad host", "tab\there", `q"uote`} {
		if _, err := ParseCredential(reg, []byte(`{"username":"u","password":"p"}`)); !errors.Is(err, ErrInvalidCredential) {
			t.Errorf("registry %q accepted: %v", reg, err)
		}
	}
}

// TestDockerConfigJSONDockerCLI loads the output with the docker CLI's own
// config file code.
func TestDockerConfigJSONDockerCLI(t *testing.T) {
	out, err := RenderDockerConfigJSON(testCreds())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(out, []byte("}\n")) {
		t.Errorf("output does not end with a newline")
	}
	cf := configfile.New("config.json")
	if err := cf.LoadFromReader(bytes.NewReader(out)); err != nil {
		t.Fatalf("docker CLI cannot load the output: %v", err)
	}
	if len(cf.AuthConfigs) != len(testRegistries()) {
		t.Errorf("docker CLI sees %d registries, want %d", len(cf.AuthConfigs), len(testRegistries()))
	}
	for _, rc := range testRegistries() {
		ac, err := cf.GetAuthConfig(rc.lookup)
		if err != nil {
			t.Fatalf("GetAuthConfig(%q): %v", rc.lookup, err)
		}
		if ac.Username != rc.cred.Username || ac.Password != rc.cred.Password {
			t.Errorf("GetAuthConfig(%q) = %q/%q, want %q/%q", rc.lookup, ac.Username, ac.Password, rc.cred.Username, rc.cred.Password)
		}
	}
	// email only where set.
	var raw struct {
		Auths map[string]map[string]any `json:"auths"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatal(err)
	}
	for key, entry := range raw.Auths {
		_, hasEmail := entry["email"]
		if hasEmail != (key == "ghcr.io") {
			t.Errorf("registry %q: email present = %v", key, hasEmail)
		}
	}
	if _, ok := raw.Auths[dockerHubKey]; !ok {
		t.Errorf("Docker Hub not written as %q: %v", dockerHubKey, raw.Auths)
	}
}

// TestDockerConfigJSONGoContainerRegistry resolves the credentials with
// go-containerregistry's default keychain reading DOCKER_CONFIG.
func TestDockerConfigJSONGoContainerRegistry(t *testing.T) {
	out, err := RenderDockerConfigJSON(testCreds())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), out, 0o600); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir() // so that no real ~/.docker/config.json is found first
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", home)
	t.Setenv("XDG_RUNTIME_DIR", home)
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("DOCKER_CONFIG", dir)
	for _, rc := range testRegistries() {
		reg, err := name.NewRegistry(rc.lookup)
		if err != nil {
			t.Fatalf("NewRegistry(%q): %v", rc.lookup, err)
		}
		auth, err := authn.DefaultKeychain.Resolve(reg)
		if err != nil {
			t.Fatalf("Resolve(%q): %v", rc.lookup, err)
		}
		cfg, err := auth.Authorization()
		if err != nil {
			t.Fatalf("Authorization(%q): %v", rc.lookup, err)
		}
		if cfg.Username != rc.cred.Username || cfg.Password != rc.cred.Password {
			t.Errorf("keychain(%q) = %q/%q, want %q/%q", rc.lookup, cfg.Username, cfg.Password, rc.cred.Username, rc.cred.Password)
		}
	}
}

func TestDockerCfgAgentRoundTrip(t *testing.T) {
	out, err := RenderDockerCfg(testCreds())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(out, []byte("\n")) != 1 || !bytes.HasSuffix(out, []byte("\n")) {
		t.Errorf("DockerCfg is not one line plus newline: %q", out)
	}
	auths, skipped, err := parseAgentDockercfg(out)
	if err != nil {
		t.Fatalf("agent rules cannot parse DockerCfg: %v", err)
	}
	if len(skipped) > 0 {
		t.Errorf("agent would skip %v", skipped)
	}
	for _, rc := range testRegistries() {
		got, ok := agentLookup(auths, rc.image)
		if !ok {
			t.Errorf("agent finds no auth for image %q in %v", rc.image, keys(auths))
			continue
		}
		if got.username != rc.cred.Username || got.password != rc.cred.Password {
			t.Errorf("agent auth for %q = %q/%q, want %q/%q", rc.image, got.username, got.password, rc.cred.Username, rc.cred.Password)
		}
	}
	// Legacy format: every entry has "email", no "auths" wrapper.
	var doc map[string]map[string]string
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	for key, entry := range doc {
		if _, ok := entry["email"]; !ok {
			t.Errorf("%q has no email field", key)
		}
		if _, ok := entry["auth"]; !ok || len(entry) != 2 {
			t.Errorf("%q: fields %v, want auth and email", key, entry)
		}
	}
	if _, ok := doc["auths"]; ok {
		t.Error(`DockerCfg has an "auths" wrapper`)
	}
	// Deterministic regardless of input order.
	rev := testCreds()
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	out2, err := RenderDockerCfg(rev)
	if err != nil || !bytes.Equal(out, out2) {
		t.Errorf("output depends on input order: %v", err)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDockerHubAliases(t *testing.T) {
	for _, reg := range []string{
		"docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/", "index.docker.io/v1/",
		"https://docker.io", "https://index.docker.io/v2/", "docker.io/", "http://registry-1.docker.io/v2", "Docker.IO",
	} {
		t.Run(reg, func(t *testing.T) {
			creds := []Credential{{Registry: reg, Username: "u", Password: "p"}}
			out, err := RenderDockerCfg(creds)
			if err != nil {
				t.Fatal(err)
			}
			auths, _, err := parseAgentDockercfg(out)
			if err != nil {
				t.Fatal(err)
			}
			if a, ok := agentLookup(auths, "nginx"); !ok || a.username != "u" {
				t.Errorf("agent does not find Docker Hub auth in %s", out)
			}
			out, err = RenderDockerConfigJSON(creds)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct{ Auths map[string]any }
			if err := json.Unmarshal(out, &doc); err != nil || len(doc.Auths) != 1 || doc.Auths[dockerHubKey] == nil {
				t.Errorf("config.json keys %v, want only %s (%v)", keys(doc.Auths), dockerHubKey, err)
			}
			cf := configfile.New("config.json")
			if err := cf.LoadFromReader(bytes.NewReader(out)); err != nil {
				t.Fatal(err)
			}
			// What the docker CLI asks for when pulling from Docker Hub.
			if ac, err := cf.GetAuthConfig(dockerHubKey); err != nil || ac.Username != "u" {
				t.Errorf("docker CLI finds %q, %v", ac.Username, err)
			}
		})
	}
	// A path on Docker Hub is a key no client reads: refused.
	for _, reg := range []string{"docker.io/myorg", "index.docker.io/library/nginx", "https://index.docker.io/v1/myorg", "registry-1.docker.io/v3"} {
		for fname, fn := range map[string]func([]Credential) ([]byte, error){"DockerCfg": RenderDockerCfg, "DockerConfigJSON": RenderDockerConfigJSON} {
			_, err := fn([]Credential{{Registry: reg, Username: "u", Password: "p"}})
			if !errors.Is(err, ErrInvalidCredential) || !strings.Contains(err.Error(), `"`+reg+`"`) || !strings.Contains(err.Error(), "Docker Hub") {
				t.Errorf("%s(%s) err = %v, want it refused", fname, reg, err)
			}
		}
	}
}

func TestRegistryErrors(t *testing.T) {
	ok := Credential{Registry: "ghcr.io", Username: "u", Password: "p"}
	tests := []struct {
		name    string
		creds   []Credential
		wantErr error
		mention string
	}{
		{"none", nil, ErrNoCredentials, ""},
		{"same registry twice", []Credential{ok, ok}, ErrDuplicateRegistry, `"ghcr.io"`},
		{"same after scheme", []Credential{ok, {Registry: "https://ghcr.io/", Username: "v", Password: "q"}}, ErrDuplicateRegistry, `"https://ghcr.io/"`},
		{"Docker Hub aliases", []Credential{{Registry: "docker.io", Username: "u", Password: "p"}, {Registry: "index.docker.io", Username: "u", Password: "p"}}, ErrDuplicateRegistry, `"index.docker.io"`},
		{"empty password", []Credential{{Registry: "ghcr.io", Username: "u"}}, ErrInvalidCredential, "password"},
		{"colon username", []Credential{{Registry: "ghcr.io", Username: "a:b", Password: "p"}}, ErrInvalidCredential, "':'"},
		{"bad registry", []Credential{{Registry: "a b", Username: "u", Password: "p"}}, ErrInvalidCredential, `"a b"`},
		{"bad email", []Credential{{Registry: "ghcr.io", Username: "u", Password: "p", Email: "a\"b"}}, ErrInvalidCredential, "email"},
	}
	for _, tt := range tests {
		for fname, fn := range map[string]func([]Credential) ([]byte, error){
			"DockerCfg":        RenderDockerCfg,
			"DockerConfigJSON": RenderDockerConfigJSON,
			"ECSConfig":        func(c []Credential) ([]byte, error) { return RenderECSConfig([]byte("ECS_CLUSTER=x\n"), c) },
		} {
			t.Run(tt.name+"/"+fname, func(t *testing.T) {
				out, err := fn(tt.creds)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if out != nil {
					t.Error("output returned with error")
				}
				if !strings.Contains(err.Error(), tt.mention) {
					t.Errorf("error %q does not mention %s", err, tt.mention)
				}
			})
		}
	}
	// Same host, different paths: one credential per host for the ECS
	// agent; config.json keeps both.
	orgA := Credential{Registry: "ghcr.io/org-a", Username: "a", Password: "pa"}
	orgB := Credential{Registry: "ghcr.io/org-b", Username: "b", Password: "pb"}
	for _, creds := range [][]Credential{{orgA, orgB}, {ok, orgA}, {orgA, {Registry: "https://ghcr.io", Username: "c", Password: "pc"}}} {
		for fname, fn := range map[string]func([]Credential) ([]byte, error){
			"DockerCfg": RenderDockerCfg,
			"ECSConfig": func(c []Credential) ([]byte, error) { return RenderECSConfig(nil, c) },
		} {
			_, err := fn(creds)
			if !errors.Is(err, ErrDuplicateRegistry) || !strings.Contains(err.Error(), `"`+creds[0].Registry+`"`) ||
				!strings.Contains(err.Error(), `"`+creds[1].Registry+`"`) || !strings.Contains(err.Error(), "same host") {
				t.Errorf("%s(%s, %s) err = %v, want both named", fname, creds[0].Registry, creds[1].Registry, err)
			}
		}
		out, err := RenderDockerConfigJSON(creds)
		if err != nil {
			t.Errorf("RenderDockerConfigJSON(%s, %s): %v", creds[0].Registry, creds[1].Registry, err)
		}
		for _, c := range creds {
			if !bytes.Contains(out, []byte(`"`+c.Registry+`": {`)) {
				t.Errorf("DockerConfigJSON does not keep key %q:\n%s", c.Registry, out)
			}
		}
	}
}

// TestAgentSameHostIsAmbiguous shows, with the model of the ECS agent's
// rules, why a dockercfg document holds one registry per host: with
// ghcr.io/org-a and ghcr.io/org-b the agent's choice follows Go's map order,
// so pulls of one image get either credential.
func TestAgentSameHostIsAmbiguous(t *testing.T) {
	auths := map[string]agentAuth{"ghcr.io/org-a": {"a", "pa"}, "ghcr.io/org-b": {"b", "pb"}}
	seen := map[string]int{}
	for range 200 {
		got, ok := agentLookup(auths, "ghcr.io/org-a/app:1")
		if !ok {
			t.Fatal("no credential found")
		}
		seen[got.username]++
	}
	if seen["a"] == 0 || seen["b"] == 0 {
		t.Errorf("the agent's choice did not vary over 200 lookups: %v", seen)
	}
}

func TestECSConfig(t *testing.T) {
	creds := testCreds()
	cfgDoc, err := RenderDockerCfg(creds)
	if err != nil {
		t.Fatal(err)
	}
	authLines := "ECS_ENGINE_AUTH_TYPE=dockercfg\nECS_ENGINE_AUTH_DATA=" + string(cfgDoc)
	tests := []struct {
		name     string
		existing string
		want     string
	}{
		{"nil", "", authLines},
		{"append", "ECS_CLUSTER=prod\n# comment\n\nECS_LOGLEVEL=debug\n", "ECS_CLUSTER=prod\n# comment\n\nECS_LOGLEVEL=debug\n" + authLines},
		{"no final newline", "ECS_CLUSTER=prod", "ECS_CLUSTER=prod\n" + authLines},
		{
			"replace in place",
			"ECS_CLUSTER=prod\nECS_ENGINE_AUTH_TYPE=docker\nECS_ENGINE_AUTH_DATA={\"old\":{}}\nECS_LOGLEVEL=info\n",
			"ECS_CLUSTER=prod\n" + authLines + "ECS_LOGLEVEL=info\n",
		},
		{
			"scattered, padded and repeated",
			"  ECS_ENGINE_AUTH_DATA = {}\r\nA=1\nECS_ENGINE_AUTH_TYPE=docker\nB=2\nECS_ENGINE_AUTH_DATA={\"x\":1}\n",
			authLines + "A=1\nB=2\n",
		},
		{
			"look-alikes kept",
			"#ECS_ENGINE_AUTH_DATA=old\nECS_ENGINE_AUTH_DATAX=1\nMY_ECS_ENGINE_AUTH_TYPE=x\nECS_ENGINE_AUTH_TYPE\n",
			"#ECS_ENGINE_AUTH_DATA=old\nECS_ENGINE_AUTH_DATAX=1\nMY_ECS_ENGINE_AUTH_TYPE=x\nECS_ENGINE_AUTH_TYPE\n" + authLines,
		},
		{"CRLF kept on other lines", "A=1\r\nB=2\r\n", "A=1\r\nB=2\r\n" + authLines},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var existing []byte
			if tt.existing != "" {
				existing = []byte(tt.existing)
			}
			out, err := RenderECSConfig(existing, creds)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Fatalf("got\n%q\nwant\n%q", out, tt.want)
			}
			// ecs-init's reading (rule 3) hands the agent our values.
			env := parseECSInit(out)
			if env["ECS_ENGINE_AUTH_TYPE"] != "dockercfg" {
				t.Errorf("ecs-init sees ECS_ENGINE_AUTH_TYPE=%q", env["ECS_ENGINE_AUTH_TYPE"])
			}
			checkAgentAuth(t, env["ECS_ENGINE_AUTH_DATA"])
			// docker run --env-file reads the same values.
			lines, err := kvfile.ParseFromReader(bytes.NewReader(out), nil)
			if err != nil {
				t.Fatalf("docker --env-file cannot parse the output: %v", err)
			}
			dockerEnv := make(map[string]string)
			for _, l := range lines {
				k, v, _ := strings.Cut(l, "=")
				dockerEnv[k] = v
			}
			if dockerEnv["ECS_ENGINE_AUTH_TYPE"] != "dockercfg" || dockerEnv["ECS_ENGINE_AUTH_DATA"] != env["ECS_ENGINE_AUTH_DATA"] {
				t.Errorf("docker --env-file reads different auth values: %q", dockerEnv["ECS_ENGINE_AUTH_DATA"])
			}
			// Idempotent: merging again changes nothing.
			again, err := RenderECSConfig(out, creds)
			if err != nil || !bytes.Equal(again, out) {
				t.Errorf("second merge differs: %v\n%q", err, again)
			}
		})
	}
}

func checkAgentAuth(t *testing.T, data string) {
	t.Helper()
	// The value must survive any env-file reader unchanged: no escapes,
	// quotes at the ends or surrounding white space.
	if strings.ContainsAny(data, "\\\n\r") || strings.TrimSpace(data) != data || strings.HasPrefix(data, `"`) || strings.HasPrefix(data, "'") {
		t.Errorf("AUTH_DATA is not env-file safe: %q", data)
	}
	auths, skipped, err := parseAgentDockercfg([]byte(data))
	if err != nil {
		t.Fatalf("agent cannot parse ECS_ENGINE_AUTH_DATA: %v", err)
	}
	if len(skipped) > 0 {
		t.Errorf("agent would skip %v", skipped)
	}
	for _, rc := range testRegistries() {
		got, ok := agentLookup(auths, rc.image)
		if !ok || got.username != rc.cred.Username || got.password != rc.cred.Password {
			t.Errorf("agent auth for %q = %+v (found %v)", rc.image, got, ok)
		}
	}
}

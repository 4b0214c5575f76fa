package image

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/ecs-secret-injector/injector/internal/localpeer"
	"github.com/ecs-secret-injector/injector/internal/testsupport"
)

// The registry the tests pull from: the distribution project's registry
// (the reference implementation of the OCI distribution spec), which
// scripts/test.sh installs with go install at a pinned version.
const registryTool = "registry"

// registry is a distribution registry on loopback with htpasswd basic
// auth, and the one user it provisioned.
type registry struct {
	host               string // 127.0.0.1:PORT
	username, password string
}

// startRegistry starts the registry with an htpasswd file it provisions
// itself: given a path where no file is, it writes one with the user
// "docker" and a random password, which it logs once.
func startRegistry(t testing.TB) *registry {
	t.Helper()
	bin, err := exec.LookPath(registryTool)
	if err != nil {
		msg := "the distribution registry is not installed (scripts/test.sh installs github.com/distribution/distribution/v3/cmd/registry)"
		if os.Getenv(requireIntegrationEnv) == "1" || os.Getenv(requireRunEnv) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	port, err := localpeer.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	r := &registry{host: "127.0.0.1:" + port}
	config := fmt.Sprintf(`version: 0.1
log:
  level: info
  formatter: json
storage:
  filesystem:
    rootdirectory: %[1]s/data
http:
  addr: %[2]s
auth:
  htpasswd:
    realm: image-test
    path: %[1]s/htpasswd
`, dir, r.host)
	configFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", configFile)
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=none")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	provisioned := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			var line struct {
				Msg      string `json:"msg"`
				User     string `json:"user"`
				Password string `json:"password"`
			}
			if !sent && json.Unmarshal(sc.Bytes(), &line) == nil && line.Password != "" && strings.Contains(line.Msg, "htpasswd") {
				provisioned <- [2]string{line.User, line.Password}
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		close(provisioned)
	}()
	select {
	case up, ok := <-provisioned:
		if !ok {
			t.Fatal("the registry exited without provisioning its htpasswd user")
		}
		r.username, r.password = up[0], up[1]
	case <-t.Context().Done():
		t.Fatal("the registry did not provision its htpasswd user")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := localpeer.WaitReady(ctx, http.DefaultClient, "http://"+r.host+"/v2/", 2*time.Minute); err != nil {
		t.Fatalf("registry not ready: %v", err)
	}
	return r
}

// TestRegistryCredentialsPull holds the registry formats to a real pull:
// the injector, run in the engine as in a task, writes config.json
// (dockerconfigjson) and a dockercfg file from credentials in Secrets
// Manager, and podman pulls a private image from a registry with basic
// auth with each file, or fails as unauthorized with a wrong password.
func TestRegistryCredentialsPull(t *testing.T) {
	e := injectorImage(t)
	appImage(t)
	reg := startRegistry(t)
	moto := testsupport.RunMoto(t)
	sm := secretsClient(moto)
	creds := credentialsEndpoint(t)

	private := reg.host + "/team/app:test"
	e.run(t, "podman", "push", "--quiet", "--tls-verify=false", "--creds", reg.username+":"+reg.password, appRef, "docker://"+private)
	if r := e.try(t, "podman", "pull", "--quiet", "--tls-verify=false", private); r.code == 0 {
		t.Fatal("pulled the private image with no credentials: the registry does not check")
	}

	tests := []struct {
		name, password string
		wantPull       bool
	}{
		{"right password", reg.password, true},
		{"wrong password", reg.password + "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := "image-test/registry-" + randomHex(4)
			value, _ := json.Marshal(map[string]string{"username": reg.username, "password": tt.password})
			createSecret(t, sm, secret, string(value))
			spec, _ := json.Marshal([]map[string]string{
				{"from": "secretsmanager:" + secret, "path": "docker/config.json", "format": "dockerconfigjson", "registry": reg.host},
				{"from": "secretsmanager:" + secret, "path": "dockercfg", "format": "dockercfg", "registry": reg.host},
			})
			tk := newTask(t, e)
			r := tk.runInjector(t, taskEnv(moto, creds, string(spec), "INJECTOR_FILE_MODE=0400"))
			if r.code != 0 {
				t.Fatalf("injector exit %d, want 0:\n%s", r.code, r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, tt.password) {
				t.Fatal("the password is in the log")
			}
			vol := tk.volumeDir(t)

			// dockerconfigjson, as podman's --authfile.
			e.cleanup("podman", "rmi", "--ignore", private)
			pull := e.try(t, "podman", "pull", "--quiet", "--tls-verify=false", "--authfile", filepath.Join(vol, "docker", "config.json"), private)
			checkPull(t, "config.json (dockerconfigjson) as --authfile", pull, tt.wantPull)

			// dockercfg, as the legacy $HOME/.dockercfg that containers/image
			// reads when no other auth file names the registry.
			home := t.TempDir()
			data, err := os.ReadFile(filepath.Join(vol, "dockercfg"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(home, ".dockercfg"), data, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := e.command(t.Context(), "skopeo", "inspect", "--tls-verify=false", "--raw", "docker://"+private)
			cmd.Env = append(withoutEnv(cmd.Env, "HOME", "REGISTRY_AUTH_FILE"), "HOME="+home)
			out, err := cmd.CombinedOutput()
			res := result{stdout: string(out)}
			if err != nil {
				res.code = 1
			}
			checkPull(t, "dockercfg as $HOME/.dockercfg (skopeo inspect)", res, tt.wantPull)
		})
	}
}

func checkPull(t testing.TB, what string, r result, want bool) {
	t.Helper()
	switch {
	case want && r.code != 0:
		t.Errorf("%s: the pull failed (exit %d):\n%s%s", what, r.code, r.stdout, r.stderr)
	case !want && r.code == 0:
		t.Errorf("%s: the pull succeeded with a wrong password", what)
	case !want && !strings.Contains(strings.ToLower(r.stdout+r.stderr), "unauthorized"):
		t.Errorf("%s: the pull failed, but not as unauthorized:\n%s%s", what, r.stdout, r.stderr)
	}
}

// withoutEnv drops the named variables from env.
func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || name == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// TestLayoutPushesToRegistry pushes the whole layout to a registry the
// two ways docs/image.md gives, and pulls and runs the image from it.
// go-containerregistry's remote.WriteIndex (what `crane push` runs) keeps
// every digest, the index's included. skopeo copy --all keeps the digests
// of the platform images and their attestation manifests, and the
// attestations' annotations, but skopeo 1.9 writes the index anew (so
// --preserve-digests refuses, and its digest changes).
func TestLayoutPushesToRegistry(t *testing.T) {
	e := needEngine(t)
	a := builtLayout(t, 0)
	reg := startRegistry(t)
	idx := readLayout(t, a.layout)
	indexDigest := digestOf(t, idx)
	creds := reg.username + ":" + reg.password
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	raw := func(t *testing.T, ref string) []byte {
		t.Helper()
		return []byte(e.run(t, "skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", creds, "docker://"+ref))
	}
	// checkPushed holds what the registry serves under repo to the layout.
	checkPushed := func(t *testing.T, repo string) {
		t.Helper()
		var pushed v1.IndexManifest
		if err := json.Unmarshal(raw(t, repo+":test"), &pushed); err != nil {
			t.Fatal(err)
		}
		if len(pushed.Manifests) != len(m.Manifests) {
			t.Fatalf("the registry's index has %d manifests, the layout's %d", len(pushed.Manifests), len(m.Manifests))
		}
		for i, d := range m.Manifests {
			got := pushed.Manifests[i]
			if got.Digest != d.Digest || got.Platform.String() != d.Platform.String() || !maps.Equal(got.Annotations, d.Annotations) {
				t.Errorf("index entry %d: %s %s %v in the registry, %s %s %v in the layout", i, got.Digest, got.Platform, got.Annotations, d.Digest, d.Platform, d.Annotations)
			}
			if sum := sha256Hex(raw(t, repo+"@"+d.Digest.String())); sum != d.Digest.Hex {
				t.Errorf("%s (%s) is sha256:%s in the registry", d.Digest, d.Platform, sum)
			}
		}
		ref := repo + ":test"
		e.run(t, "podman", "pull", "--quiet", "--tls-verify=false", "--creds", creds, "--platform", "linux/amd64", ref)
		out := e.run(t, "podman", "run", "--rm", "--pull=never", "--read-only", "--read-only-tmpfs=false", "--cap-drop", "ALL", ref, "version")
		if !strings.Contains(out, "version: ") {
			t.Errorf("injector version printed %q", out)
		}
	}

	t.Run("remote.WriteIndex", func(t *testing.T) {
		repo := reg.host + "/crane/ecs-secret-injector"
		tag, err := name.NewTag(repo+":test", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		auth := remote.WithAuth(&authn.Basic{Username: reg.username, Password: reg.password})
		if err := remote.WriteIndex(tag, idx, auth, remote.WithContext(t.Context())); err != nil {
			t.Fatal(err)
		}
		if got := sha256Hex(raw(t, repo+":test")); "sha256:"+got != indexDigest {
			t.Errorf("the registry's index is sha256:%s, the layout's %s", got, indexDigest)
		}
		checkPushed(t, repo)
	})

	t.Run("skopeo copy --all", func(t *testing.T) {
		repo := reg.host + "/skopeo/ecs-secret-injector"
		// oci:PATH takes a path without capital letters: copy from the
		// layout's parent.
		r := e.tryIn(t, filepath.Dir(a.layout), "skopeo", "copy", "--quiet", "--all",
			"--dest-tls-verify=false", "--dest-creds", creds, "oci:"+filepath.Base(a.layout), "docker://"+repo+":test")
		if r.code != 0 {
			t.Fatalf("skopeo copy --all: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		checkPushed(t, repo)
	})
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

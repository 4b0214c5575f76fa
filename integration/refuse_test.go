package integration_test

// Refusal tests: settings, specs, values and registry documents that the
// injector must refuse with a clear error, by group. Every case runs the
// built binary and checks the exit code, that the message names the
// setting, item or field, that no byte of any value is in the output, and
// that the output root is left as it was. Settings, spec and registry
// errors are exit 2 and found before any AWS call: their AWS endpoints are
// a loopback listener that counts connections, and there must be none.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/cli/cli/config/configfile"
)

// exit2 marks cases as configuration errors: exit 2, no connection to any
// AWS endpoint, and the message says so.
func exit2(cases []faultCase) []faultCase {
	for i := range cases {
		cases[i].wantCode = 2
		cases[i].noConnect = true
		cases[i].wantMsg = append(cases[i].wantMsg, "configuration error")
		// Generous: the point is that nothing waits (a FIFO, say).
		cases[i].within = 30 * time.Second
	}
	return cases
}

func TestConnCounter(t *testing.T) {
	c := countConnections(t)
	if n := c.count(); n != 0 {
		t.Fatalf("count = %d before any connection", n)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if n := c.count(); n != 1 {
		t.Fatalf("count = %d after one connection", n)
	}
}

// TestRefuseSettings: settings out of range are exit 2 naming the setting;
// the file modes that are allowed give files of exactly that mode.
func TestRefuseSettings(t *testing.T) {
	s := seedValues(t, false)
	spec := specJSON(t, s.items...)
	files := t.TempDir()
	big := filepath.Join(files, "big.json")
	plantFile(t, big, spec+strings.Repeat(" ", 1<<20), 0o600)
	fifo := filepath.Join(files, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	setting := func(name, kv string, msg ...string) faultCase {
		return faultCase{name: name, spec: spec, extra: []string{kv}, wantMsg: msg}
	}
	specFile := func(name, path string, msg ...string) faultCase {
		return faultCase{name: name, spec: "", extra: []string{"INJECTOR_SPEC_FILE=" + path},
			wantMsg: append([]string{"INJECTOR_SPEC_FILE"}, msg...)}
	}
	const idRange = "-1 (leave as is) or an id from 0 to 4294967294"
	cases := exit2([]faultCase{
		setting("uid 2^32 would wrap to root", "INJECTOR_UID=4294967296", "INJECTOR_UID", idRange),
		setting("uid 2^32-1 is chown's -1", "INJECTOR_UID=4294967295", "INJECTOR_UID", idRange),
		setting("uid -2", "INJECTOR_UID=-2", "INJECTOR_UID", idRange),
		setting("uid past int64", "INJECTOR_UID=99999999999999999999", "INJECTOR_UID", idRange),
		setting("gid 2^32", "INJECTOR_GID=4294967296", "INJECTOR_GID", idRange),
		setting("gid 2^32-1", "INJECTOR_GID=4294967295", "INJECTOR_GID", idRange),
		setting("gid not a number", "INJECTOR_GID=staff", "INJECTOR_GID", idRange),
		setting("mode other write", "INJECTOR_FILE_MODE=0602", "INJECTOR_FILE_MODE", "write"),
		setting("mode 0666", "INJECTOR_FILE_MODE=0666", "INJECTOR_FILE_MODE", "write"),
		setting("mode 0777", "INJECTOR_FILE_MODE=0777", "INJECTOR_FILE_MODE", "write"),
		setting("mode group write", "INJECTOR_FILE_MODE=0660", "INJECTOR_FILE_MODE", "write"),
		setting("mode 0000", "INJECTOR_FILE_MODE=0000", "INJECTOR_FILE_MODE", "owner must be able to read"),
		setting("mode 0200", "INJECTOR_FILE_MODE=0200", "INJECTOR_FILE_MODE", "owner must be able to read"),
		setting("mode setuid", "INJECTOR_FILE_MODE=4400", "INJECTOR_FILE_MODE", "setuid"),
		setting("mode setgid", "INJECTOR_FILE_MODE=2440", "INJECTOR_FILE_MODE", "setgid"),
		setting("mode sticky", "INJECTOR_FILE_MODE=1600", "INJECTOR_FILE_MODE", "sticky"),
		setting("mode not octal", "INJECTOR_FILE_MODE=0800", "INJECTOR_FILE_MODE", "octal"),
		setting("dir is /", "INJECTOR_DIR=/", "INJECTOR_DIR", "file system root"),
		setting("dir is //", "INJECTOR_DIR=//", "INJECTOR_DIR", "file system root"),
		setting("dir is /.", "INJECTOR_DIR=/.", "INJECTOR_DIR", "file system root"),
		setting("dir is /tmp/..", "INJECTOR_DIR=/tmp/..", "INJECTOR_DIR", "file system root"),
		setting("dir is relative", "INJECTOR_DIR=secrets", "INJECTOR_DIR", "absolute"),
		setting("dir is .", "INJECTOR_DIR=.", "INJECTOR_DIR", "absolute"),
		setting("timeout not a duration", "INJECTOR_TIMEOUT=60", "INJECTOR_TIMEOUT"),
		setting("max value bytes zero", "INJECTOR_MAX_VALUE_BYTES=0", "INJECTOR_MAX_VALUE_BYTES"),
		setting("path style not a bool", "INJECTOR_S3_PATH_STYLE=maybe", "INJECTOR_S3_PATH_STYLE"),
		specFile("spec file is a FIFO", fifo, "is a FIFO: want a regular file"),
		specFile("spec file is a directory", files, "is a directory: want a regular file"),
		specFile("spec file is a device", "/dev/zero", "is a device: want a regular file"),
		specFile("spec file over 1 MiB", big, "more than the limit of 1048576"),
	})
	// The modes allowed give exactly that mode.
	for _, mode := range []fs.FileMode{0o400, 0o440, 0o444, 0o600, 0o640} {
		cases = append(cases, faultCase{name: "mode " + mode.String(), spec: spec,
			extra: []string{fmt.Sprintf("INJECTOR_FILE_MODE=%04o", uint32(mode))}, wantFiles: s.files,
			check: func(t *testing.T, dir string, _, _ *proxy) {
				for p := range s.files {
					fi, err := os.Stat(filepath.Join(dir, p))
					if err != nil {
						t.Fatal(err)
					}
					if fi.Mode().Perm() != mode {
						t.Errorf("%s has mode %v, want %v", p, fi.Mode().Perm(), mode)
					}
				}
			}})
	}
	runFaultCases(t, s.secrets, cases)
}

// TestRefuseSpec: field names are exact, a field given twice is an error,
// and errors name the item and the field.
func TestRefuseSpec(t *testing.T) {
	s := seedValues(t, false)
	from := s.items[0]["from"].(string)
	other := s.items[2]["from"].(string)
	good := `{"from":"` + from + `","path":"good"}`
	list := func(items ...string) string { return "[" + good + "," + strings.Join(items, ",") + "]" }
	big := filepath.Join(t.TempDir(), "big.json")
	plantFile(t, big, list(`{"from":"`+other+`","path":"`+strings.Repeat("a", 1<<20)+`"}`), 0o600)
	const exact = "field names are exact"
	runFaultCases(t, s.secrets, exit2([]faultCase{
		{name: "FROM", spec: list(`{"FROM":"` + other + `","path":"x"}`), wantMsg: []string{`item 1: unknown field "FROM"`, exact}},
		{name: "Path", spec: list(`{"from":"` + other + `","Path":"x"}`), wantMsg: []string{`item 1: unknown field "Path"`, exact}},
		{name: "Format", spec: list(`{"from":"` + other + `","path":"x","Format":"raw"}`), wantMsg: []string{`item 1: unknown field "Format"`}},
		{name: "Registry", spec: list(`{"from":"` + other + `","path":"x","format":"dockercfg","Registry":"ghcr.io"}`),
			wantMsg: []string{`item 1: unknown field "Registry"`}},
		{name: "sseCustomerkey", spec: list(`{"from":"s3://b/k","path":"x","sseCustomerkey":"` + other + `"}`),
			wantMsg: []string{`item 1: unknown field "sseCustomerkey"`}},
		{name: "allowunencrypted", spec: list(`{"from":"s3://b/k","path":"x","allowunencrypted":true}`),
			wantMsg: []string{`item 1: unknown field "allowunencrypted"`}},
		{name: "unknown field", spec: list(`{"from":"` + other + `","path":"x","owner":"app"}`), wantMsg: []string{`item 1: unknown field "owner"`}},
		{name: "path twice", spec: list(`{"from":"` + other + `","path":"x","path":"y"}`), wantMsg: []string{`item 1: field "path" is given more than once`}},
		{name: "from twice", spec: list(`{"from":"` + other + `","from":"` + from + `","path":"x"}`), wantMsg: []string{`item 1: field "from" is given more than once`}},
		{name: "same field, other case", spec: list(`{"from":"` + other + `","From":"` + from + `","path":"x"}`), wantMsg: []string{`item 1: unknown field "From"`}},
		{name: "input twice", spec: list(`{"inputs":{"a":"` + other + `","a":"` + from + `"},"path":"x","format":"template","template":"{{.a}}"}`),
			wantMsg: []string{"item 1:", `key "a" occurs more than once in inputs`}},
		{name: "wrong type", spec: list(`{"from":"` + other + `","path":7}`), wantMsg: []string{`item 1: field "path" must be a string, not a number`}},
		{name: "null field", spec: list(`{"from":null,"path":"x"}`), wantMsg: []string{`item 1: field "from" must be a string, not null`}},
		{name: "item not an object", spec: list(`"` + other + `"`), wantMsg: []string{"item 1: must be a JSON object"}},
		{name: "spec over 1 MiB", spec: "", extra: []string{"INJECTOR_SPEC_FILE=" + big}, wantMsg: []string{"INJECTOR_SPEC_FILE", "more than the limit of 1048576"}},
	}))
}

// TestRefuseValues: every place that reads a value as JSON reads it with
// the same strict decoder, so a duplicate key, invalid UTF-8 or a lone
// surrogate escape is exit 4 for each of them; numbers keep their text; a
// template that runs on stops at INJECTOR_TIMEOUT, and output past
// INJECTOR_MAX_VALUE_BYTES ends it.
func TestRefuseValues(t *testing.T) {
	p := uniq()
	tok := func() string { return "tok" + randHex(8) }
	dupA, dupB, badTok, surTok, quoteTok := tok(), tok(), tok(), tok(), tok()
	values := map[string]any{
		"dup":       `{"username":"u-` + dupA + `","password":"` + dupA + `","password":"` + dupB + `"}`,
		"utf8":      []byte(`{"username":"u-` + badTok + `","password":"` + badTok + "\xff\xfe" + `"}`),
		"surrogate": `{"username":"u-` + surTok + `","password":"` + surTok + `\ud800"}`,
		"numbers":   `{"big":12345678901234567890,"dec":1.50,"exp":1E+400,"neg":-0}`,
		"quotes":    `{"Q":"` + quoteTok + strings.Repeat("'", 3000) + `"}`,
	}
	for name, v := range values {
		putSecret(t, p+"/"+name, v)
	}
	secrets := []string{dupA, dupB, badTok, surTok, quoteTok, "u-" + dupA, "u-" + badTok, "u-" + surTok}
	sm := func(name string) string { return "secretsmanager:" + p + "/" + name }
	consumers := []struct {
		name string
		item func(from string) map[string]any
	}{
		{"json key", func(from string) map[string]any { return item(from+":password::", "out") }},
		{"explode", func(from string) map[string]any {
			return map[string]any{"from": from, "path": "out", "format": "explode"}
		}},
		{"dotenv", func(from string) map[string]any {
			return map[string]any{"from": from, "path": "out", "format": "dotenv"}
		}},
		{"template json", func(from string) map[string]any {
			return map[string]any{"from": from, "path": "out", "format": "template", "template": "{{ (json .value).password }}"}
		}},
		{"registry credentials", func(from string) map[string]any {
			return map[string]any{"from": from, "path": "out", "format": "dockerconfigjson", "registry": "ghcr.io"}
		}},
	}
	bad := []struct{ value, msg string }{
		{"dup", `key "password" occurs more than once`},
		{"utf8", "not valid UTF-8"},
		{"surrogate", "lone UTF-16 surrogate"},
	}
	var cases []faultCase
	for _, c := range consumers {
		for _, b := range bad {
			cases = append(cases, faultCase{name: c.name + ", " + b.value, spec: specJSON(t, c.item(sm(b.value))),
				wantCode: 4, wantMsg: []string{"render failed", "out", b.msg}})
		}
	}
	tmpl := func(text string) string {
		return specJSON(t, map[string]any{"from": sm("numbers"), "path": "out", "format": "template", "template": text})
	}
	cases = append(cases,
		faultCase{name: "numbers keep their text", spec: specJSON(t,
			item(sm("numbers")+":big::", "key/big"), item(sm("numbers")+":exp::", "key/exp"),
			map[string]any{"from": sm("numbers"), "path": "exploded", "format": "explode"},
			map[string]any{"from": sm("numbers"), "path": "numbers.env", "format": "dotenv"},
			map[string]any{"from": sm("numbers"), "path": "tmpl", "format": "template",
				"template": "{{ with json .value }}{{ .big }} {{ .dec }} {{ .exp }} {{ .neg }}{{ end }}"}),
			wantFiles: map[string]string{
				"key/big": "12345678901234567890", "key/exp": "1E+400",
				"exploded/big": "12345678901234567890", "exploded/dec": "1.50", "exploded/exp": "1E+400", "exploded/neg": "-0",
				"numbers.env": "big='12345678901234567890'\ndec='1.50'\nexp='1E+400'\nneg='-0'\n",
				"tmpl":        "12345678901234567890 1.50 1E+400 -0",
			}},
		faultCase{name: "template loops until the timeout", spec: tmpl(`{{ range 100000000000 }}{{ end }}`),
			extra: []string{"INJECTOR_TIMEOUT=3s"}, wantCode: 4, wantMsg: []string{"template failed", "stopped", "deadline exceeded"},
			within: 30 * time.Second},
		faultCase{name: "template output past the limit", spec: tmpl(`{{ range 100000000000 }}xxxxxxxx{{ end }}`),
			extra: []string{"INJECTOR_MAX_VALUE_BYTES=65536"}, wantCode: 4, wantMsg: []string{"template failed", "65536-byte limit"},
			within: 30 * time.Second},
		faultCase{name: "template doubling a string", spec: tmpl(`{{ $s := .value }}{{ range 64 }}{{ $s = printf "%s%s" $s $s }}{{ end }}`),
			wantCode: 4, wantMsg: []string{"printf", "16777216-byte limit"}, within: 30 * time.Second},
		faultCase{name: "template huge width", spec: tmpl(`{{ range 1000 }}{{ printf "%01000000d" 1 }}{{ end }}`),
			extra: []string{"INJECTOR_MAX_VALUE_BYTES=65536"}, wantCode: 4, wantMsg: []string{"printf", "65536-byte limit"}, within: 30 * time.Second},
		// 3,000 quotes fit in 8 KiB; as dotenv each becomes 4 bytes.
		faultCase{name: "dotenv output past the limit", spec: specJSON(t, map[string]any{"from": sm("quotes"), "path": "q.env", "format": "dotenv"}),
			extra: []string{"INJECTOR_MAX_VALUE_BYTES=8192"}, wantCode: 4, wantMsg: []string{"q.env", "more than the 8192-byte limit"}},
	)
	runFaultCases(t, secrets, cases)
}

// TestTemplateStopsOnSignal: SIGTERM stops a template that loops without
// end, promptly, with nothing written.
func TestTemplateStopsOnSignal(t *testing.T) {
	p := uniq()
	token := "tok" + randHex(8)
	putSecret(t, p+"/v", `{"password":"`+token+`"}`)
	spec := specJSON(t, map[string]any{"from": "secretsmanager:" + p + "/v", "path": "out", "format": "template",
		"template": `{{ (json .value).password }}{{ range 100000000000 }}{{ end }}`})
	mp, motoURL := h.startProxy(t, h.motoDirect, false)
	dir := t.TempDir()
	cmd := exec.Command(h.bin)
	cmd.Env = append(h.env(motoURL, h.minio), "INJECTOR_DIR="+dir, "INJECTOR_SPEC="+spec, "INJECTOR_TIMEOUT=5m")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Wait for the value to be fetched; rendering starts right after.
	for deadline := time.Now().Add(time.Minute); mp.count("GetSecretValue")+mp.count("BatchGetSecretValue") == 0; {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the secret was never fetched:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatal("the injector did not stop within a minute of SIGTERM")
	}
	stop := time.Since(signalled)
	t.Logf("stopped %s after SIGTERM:\n%s", stop.Round(time.Millisecond), redact(out.String(), []string{token}))
	// Within a second is the aim; the bound here leaves room for a loaded machine.
	if stop > 10*time.Second {
		t.Errorf("stopping took %s", stop)
	}
	if code := cmd.ProcessState.ExitCode(); code != 4 {
		t.Errorf("exit %d, want 4", code)
	}
	if !strings.Contains(out.String(), "template failed: ") || !strings.Contains(out.String(), ": stopped: ") {
		t.Errorf("output does not say the template was stopped")
	}
	assertNoSecret(t, out.String(), token)
	if d := diffSnapshots(map[string]string{}, visibleTree(t, dir)); d != "" {
		t.Errorf("what a reader sees in the output root changed:\n%s", d)
	}
	// The lock file may be new (the writer prepares while values are
	// fetched); no generation is left.
	if names, _ := injectorNames(dir); len(names) > 1 || len(names) == 1 && names[0] != "..lock" {
		t.Errorf("the injector left %v", names)
	}
}

// TestRefuseRegistry: two registries with one host in a document the ECS
// agent reads, two spellings of Docker Hub, and Docker Hub with a path are
// plan-time errors naming the registries; config.json keeps paths, and
// Docker Hub spellings become the one key docker clients read.
func TestRefuseRegistry(t *testing.T) {
	p := uniq()
	userA, passA, passB := "user-"+randHex(4), "pass-"+randHex(8), "pass-"+randHex(8)
	putSecret(t, p+"/a", `{"username":"`+userA+`","password":"`+passA+`"}`)
	putSecret(t, p+"/b", `{"username":"other","password":"`+passB+`"}`)
	reg := func(secret, path, format, registry string) map[string]any {
		return map[string]any{"from": "secretsmanager:" + p + "/" + secret, "path": path, "format": format, "registry": registry}
	}
	secrets := []string{passA, passB}
	loadConfig := func(t *testing.T, dir string) *configfile.ConfigFile {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		cf := configfile.New("config.json")
		if err := cf.LoadFromReader(bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return cf
	}
	cases := exit2([]faultCase{
		{name: "dockercfg, one host, two paths", spec: specJSON(t, reg("a", "cfg", "dockercfg", "ghcr.io/org-a"), reg("b", "cfg", "dockercfg", "ghcr.io/org-b")),
			wantMsg: []string{`registries "ghcr.io/org-a" and "ghcr.io/org-b" have the same host "ghcr.io"`}},
		{name: "ecs-config, one host, two paths", spec: specJSON(t, reg("a", "ecs.config", "ecs-config", "ghcr.io/org-a"), reg("b", "ecs.config", "ecs-config", "ghcr.io/org-b")),
			wantMsg: []string{`registries "ghcr.io/org-a" and "ghcr.io/org-b" have the same host "ghcr.io"`}},
		{name: "dockercfg, host and host with path", spec: specJSON(t, reg("a", "cfg", "dockercfg", "https://quay.io"), reg("b", "cfg", "dockercfg", "quay.io/team")),
			wantMsg: []string{`registries "https://quay.io" and "quay.io/team" have the same host "quay.io"`}},
		{name: "two spellings of Docker Hub", spec: specJSON(t, reg("a", "config.json", "dockerconfigjson", "docker.io"), reg("b", "config.json", "dockerconfigjson", "https://index.docker.io/v2/")),
			wantMsg: []string{`registries "docker.io" and "https://index.docker.io/v2/" both name Docker Hub`}},
		{name: "two spellings of Docker Hub, dockercfg", spec: specJSON(t, reg("a", "cfg", "dockercfg", "index.docker.io"), reg("b", "cfg", "dockercfg", "registry-1.docker.io")),
			wantMsg: []string{`registries "index.docker.io" and "registry-1.docker.io" both name Docker Hub`}},
		{name: "Docker Hub with a path", spec: specJSON(t, reg("a", "config.json", "dockerconfigjson", "docker.io/myorg")),
			wantMsg: []string{`registry "docker.io/myorg": Docker Hub credentials cannot be limited to a path`}},
		{name: "same registry twice", spec: specJSON(t, reg("a", "config.json", "dockerconfigjson", "ghcr.io"), reg("b", "config.json", "dockerconfigjson", "https://ghcr.io/")),
			wantMsg: []string{`registries "ghcr.io" and "https://ghcr.io/" name the same registry`}},
	})
	for _, spelling := range []string{"docker.io", "index.docker.io", "https://index.docker.io/v2/", "registry-1.docker.io", "https://index.docker.io/v1/"} {
		cases = append(cases, faultCase{name: "Docker Hub as " + spelling, spec: specJSON(t, reg("a", "config.json", "dockerconfigjson", spelling)),
			written: []string{"config.json"},
			check: func(t *testing.T, dir string, _, _ *proxy) {
				cf := loadConfig(t, dir)
				if len(cf.AuthConfigs) != 1 {
					t.Errorf("keys %v, want one", slices.Collect(maps.Keys(cf.AuthConfigs)))
				}
				// The key the docker CLI looks up for Docker Hub.
				if ac, err := cf.GetAuthConfig("https://index.docker.io/v1/"); err != nil || ac.Username != userA || ac.Password != passA {
					t.Errorf("docker CLI finds user %q for Docker Hub (%v)", ac.Username, err)
				}
			}})
	}
	cases = append(cases, faultCase{name: "config.json keeps paths",
		spec:    specJSON(t, reg("a", "config.json", "dockerconfigjson", "ghcr.io/org-a"), reg("b", "config.json", "dockerconfigjson", "ghcr.io/org-b")),
		written: []string{"config.json"},
		check: func(t *testing.T, dir string, _, _ *proxy) {
			cf := loadConfig(t, dir)
			if a, b := cf.AuthConfigs["ghcr.io/org-a"], cf.AuthConfigs["ghcr.io/org-b"]; a.Password != passA || b.Password != passB {
				t.Errorf("keys %v, want ghcr.io/org-a and ghcr.io/org-b with their own credentials", slices.Collect(maps.Keys(cf.AuthConfigs)))
			}
		}})
	runFaultCases(t, secrets, cases)
}

// TestSSMByARN: moto does not accept ARNs in GetParameters, so the proxy
// answers instead. The request must carry each ARN exactly as written,
// version and label selector included, and the files are written from the
// proxy's answer.
func TestSSMByARN(t *testing.T) {
	const (
		byVersion = "arn:aws:ssm:us-east-1:111122223333:parameter/app/db-password:3"
		byLabel   = "arn:aws:ssm:us-east-1:111122223333:parameter/app/api-key:prod"
	)
	vVersion, vLabel := "ssm-by-version-"+randHex(8), "ssm-by-label-"+randHex(8)
	param := func(arn, name, selector, value string, version int) map[string]any {
		return map[string]any{"ARN": arn, "Name": name, "Selector": selector, "Value": value, "Version": version,
			"Type": "SecureString", "DataType": "text", "LastModifiedDate": 1.7e9}
	}
	answer, err := json.Marshal(map[string]any{"InvalidParameters": []string{}, "Parameters": []any{
		param("arn:aws:ssm:us-east-1:111122223333:parameter/app/db-password", "/app/db-password", ":3", vVersion, 3),
		param("arn:aws:ssm:us-east-1:111122223333:parameter/app/api-key", "/app/api-key", ":prod", vLabel, 7),
	}})
	if err != nil {
		t.Fatal(err)
	}
	var requests []string
	mp, motoURL := h.startProxy(t, h.motoDirect, false)
	mp.reset(func(r *http.Request, op string, _ int) fault {
		if op != "GetParameters" {
			return fault{status: 400, code: "UnexpectedOperation"}
		}
		b, _ := io.ReadAll(r.Body)
		mp.mu.Lock()
		requests = append(requests, string(b))
		mp.mu.Unlock()
		return fault{body: string(answer)}
	})
	dir := t.TempDir()
	before := visibleTree(t, dir)
	res := h.inject(t, specJSON(t, item(byVersion, "db-password"), item(byLabel, "api-key")), dir,
		"AWS_ENDPOINT_URL_SSM="+motoURL, "AWS_ENDPOINT_URL_SECRETS_MANAGER="+motoURL)
	if res.code != 0 {
		t.Fatalf("exit %d:\n%s", res.code, redact(res.output, []string{vVersion, vLabel}))
	}
	assertNoSecret(t, res.output, vVersion, vLabel)
	checkWritten(t, dir, before, visibleTree(t, dir), map[string]string{"db-password": vVersion, "api-key": vLabel})
	mp.mu.Lock()
	defer mp.mu.Unlock()
	if len(requests) != 1 {
		t.Fatalf("%d GetParameters calls, want 1", len(requests))
	}
	var req struct {
		Names          []string
		WithDecryption bool
	}
	if err := json.Unmarshal([]byte(requests[0]), &req); err != nil {
		t.Fatalf("GetParameters request: %v", err)
	}
	slices.Sort(req.Names)
	if want := []string{byLabel, byVersion}; !slices.Equal(req.Names, want) || !req.WithDecryption {
		t.Errorf("GetParameters asked for %q (WithDecryption %v), want %q with decryption", req.Names, req.WithDecryption, want)
	}
}

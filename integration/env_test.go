package integration_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// TestEnvSource drives env: references through the binary: values that ECS
// put in the injector's environment (its `secrets`) become files in every
// format, and a spec of only env: items loads no AWS configuration at all.
func TestEnvSource(t *testing.T) {
	p := uniq()
	const (
		dbPass  = "env db pass 'quoted' $x"
		apiKey  = "env-api-key-value-e1"
		regPass = "env-registry-token-e2"
		ssmVal  = "ssm-beside-env-e3"
	)
	db, _ := json.Marshal(map[string]any{"DB_USER": "app", "DB_PASSWORD": dbPass})
	reg := `{"username":"robot","password":"` + regPass + `"}`
	putParameter(t, "/"+p+"/beside", ssmVal, ssmtypes.ParameterTypeSecureString)

	// Anything that would be reached by loading AWS configuration counts
	// here: the instance metadata and container credential endpoints.
	var metadataHits atomic.Int32
	metadata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		metadataHits.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(func() {
		metadata.Close()
		if n := metadataHits.Load(); n != 0 {
			t.Errorf("instance metadata or credential endpoint reached %d times", n)
		}
	})
	values := []string{
		"APP_DB=" + string(db), "APP_API_KEY=" + apiKey, "APP_REGISTRY=" + reg, "APP_EMPTY=",
	}
	// No region, no credentials, a profile that does not exist (loading the
	// shared configuration would fail on it) and metadata endpoints that
	// count: an env:-only spec must not need or touch any of it.
	noAWS := append([]string{
		"AWS_REGION=", "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_PROFILE=" + p + "-no-such-profile",
		"AWS_EC2_METADATA_DISABLED=false", "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + metadata.URL,
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + metadata.URL + "/creds",
	}, values...)

	envItem := func(name, path, format string, extra ...string) map[string]any {
		it := map[string]any{"from": "env:" + name, "path": path, "format": format}
		for i := 0; i+1 < len(extra); i += 2 {
			it[extra[i]] = extra[i+1]
		}
		return it
	}
	allFormats := specJSON(t,
		envItem("APP_API_KEY", "api-key", "raw"),
		envItem("APP_DB", "db.env", "dotenv"),
		envItem("APP_DB", "db", "explode"),
		map[string]any{"inputs": map[string]string{"db": "env:APP_DB", "key": "env:APP_API_KEY"}, "path": "app.conf",
			"format": "template", "template": "user={{ (json .db).DB_USER }} key={{ .key }}"},
		envItem("APP_REGISTRY", "docker/config.json", "dockerconfigjson", "registry", "registry.example.com"),
	)
	secrets := []string{dbPass, apiKey, regPass, ssmVal, string(db), reg}
	runFaultCases(t, secrets, []faultCase{
		{name: "env only, every format, no AWS configuration", spec: allFormats, extra: noAWS, wantCode: 0, noCall: true,
			wantFiles: map[string]string{"api-key": apiKey, "db/DB_USER": "app", "db/DB_PASSWORD": dbPass,
				"app.conf": "user=app key=" + apiKey},
			written: []string{"db.env", "docker/config.json"},
			check: func(t *testing.T, dir string, _, _ *proxy) {
				t.Helper()
				assertDotenv(t, dir+"/db.env", "DB_PASSWORD", dbPass)
				assertDockerAuth(t, dir+"/docker/config.json", "registry.example.com", "robot", regPass)
			}},
		{name: "env beside SSM", spec: specJSON(t, item("env:APP_API_KEY", "a"), item("ssm:/"+p+"/beside", "b")),
			extra: values, wantCode: 0, wantFiles: map[string]string{"a": apiKey, "b": ssmVal}, wantCalls: map[string]int{"GetParameters": 1}},
		// The same broken profile fails a spec that does need AWS: the
		// first case passed because nothing was loaded, not by luck.
		{name: "broken profile with an AWS item", spec: specJSON(t, item("env:APP_API_KEY", "a"), item("ssm:/"+p+"/beside", "b")),
			extra: noAWS, wantCode: 2, wantMsg: []string{"loading AWS configuration"}, noCall: true},
		{name: "unset variable", spec: specJSON(t, item("env:APP_API_KEY", "a"), item("env:APP_NOT_SET", "b")), extra: noAWS,
			wantCode: 2, wantMsg: []string{"env:APP_NOT_SET", "not set or is empty"}, noCall: true},
		{name: "empty variable", spec: specJSON(t, item("env:APP_EMPTY", "b")), extra: noAWS,
			wantCode: 2, wantMsg: []string{"env:APP_EMPTY", "not set or is empty"}, noCall: true},
		{name: "unset variable beside AWS items", spec: specJSON(t, item("ssm:/"+p+"/beside", "a"), item("env:APP_NOT_SET", "b")),
			extra: values, wantCode: 2, wantMsg: []string{"env:APP_NOT_SET"}, noCall: true},
		{name: "not JSON for dotenv", spec: specJSON(t, envItem("APP_API_KEY", "x.env", "dotenv")), extra: noAWS, wantCode: 4, noCall: true},
	})
}

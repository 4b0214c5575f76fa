package integration_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// TestSSMPath expands ssm:/PATH/ against moto's GetParametersByPath, in
// every format that takes a path.
func TestSSMPath(t *testing.T) {
	p := uniq()
	const (
		dbPass = "path db pass 'q' $x <y>"
		dbURL  = "postgres://db.internal:5432/app"
		other  = "production-value-must-not-appear"
	)
	prod := "/" + p + "/app/prod/"
	putParameter(t, prod+"db/url", dbURL, ssmtypes.ParameterTypeString)
	putParameter(t, prod+"db/password", dbPass, ssmtypes.ParameterTypeSecureString)
	putParameter(t, prod+"region", "eu-west-1", ssmtypes.ParameterTypeString)
	putParameter(t, "/"+p+"/app/production/x", other, ssmtypes.ParameterTypeSecureString)
	putParameter(t, "/"+p+"/app/prodx", other, ssmtypes.ParameterTypeSecureString)
	// 25 parameters: three pages of GetParametersByPath.
	many := "/" + p + "/many/"
	for i := range 25 {
		putParameter(t, fmt.Sprintf("%sk%02d", many, i), fmt.Sprintf("many-%02d", i), ssmtypes.ParameterTypeSecureString)
	}
	// Two names that become one dotenv variable.
	clash := "/" + p + "/clash/"
	putParameter(t, clash+"db/url", "a", ssmtypes.ParameterTypeString)
	putParameter(t, clash+"db-url", "b", ssmtypes.ParameterTypeString)

	spec := specJSON(t,
		map[string]any{"from": "ssm:" + prod, "path": "prod", "format": "explode"},
		map[string]any{"from": "ssm:" + prod, "path": "prod.env", "format": "dotenv"},
		map[string]any{"from": "ssm:" + prod, "path": "prod.json"},
		map[string]any{"inputs": map[string]string{"prod": "ssm:" + prod}, "path": "app.conf", "format": "template",
			"template": `url={{ index (json .prod) "db/url" }}`},
		map[string]any{"from": "ssm:" + many, "path": "many", "format": "explode"},
	)
	dir := t.TempDir()
	before := visibleTree(t, dir)
	res := h.injectOK(t, spec, dir)
	want := map[string]string{"prod/db/url": dbURL, "prod/db/password": dbPass, "prod/region": "eu-west-1",
		"app.conf": "url=" + dbURL}
	for i := range 25 {
		want[fmt.Sprintf("many/k%02d", i)] = fmt.Sprintf("many-%02d", i)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "prod.json"))
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]string
	if err := json.Unmarshal(raw, &obj); err != nil || len(obj) != 3 || obj["db/password"] != dbPass || obj["db/url"] != dbURL {
		t.Errorf("prod.json is not the documented object (%d names, %v)", len(obj), err)
	}
	want["prod.json"] = string(raw)
	envFile, _ := os.ReadFile(filepath.Join(dir, "prod.env"))
	want["prod.env"] = string(envFile)
	checkWritten(t, dir, before, visibleTree(t, dir), want)
	assertDotenv(t, filepath.Join(dir, "prod.env"), "DB_PASSWORD", dbPass)
	assertDotenv(t, filepath.Join(dir, "prod.env"), "DB_URL", dbURL)
	assertDotenv(t, filepath.Join(dir, "prod.env"), "REGION", "eu-west-1")
	// One expansion of prod (named four times) in one page, three pages of many.
	if got := h.proxy.count("GetParametersByPath"); got != 4 {
		t.Errorf("GetParametersByPath calls = %d, want 4", got)
	}
	assertNoSecret(t, res.output, dbPass, dbURL, other)

	runFaultCases(t, []string{dbPass, dbURL, other}, []faultCase{
		{name: "more than the limit", spec: specJSON(t, map[string]any{"from": "ssm:" + many, "path": "m", "format": "explode"}),
			extra: []string{"INJECTOR_SSM_PATH_MAX=20"}, wantCode: 3, wantMsg: []string{"ssm:" + many, "more than 20 parameters"}},
		{name: "raised limit", spec: specJSON(t, map[string]any{"from": "ssm:" + many, "path": "m.json"}),
			extra: []string{"INJECTOR_SSM_PATH_MAX=25"}, wantCode: 0, written: []string{"m.json"}},
		{name: "empty path", spec: specJSON(t, item("ssm:/"+p+"/none/", "none.json")),
			wantCode: 3, wantMsg: []string{"ssm:/" + p + "/none/", "no parameter under the path"}},
		{name: "empty path allowed", spec: specJSON(t, map[string]any{"from": "ssm:/" + p + "/none/", "path": "none.json", "allowEmpty": true}),
			wantCode: 0, wantFiles: map[string]string{"none.json": "{}"}},
		{name: "two names, one variable", spec: specJSON(t, map[string]any{"from": "ssm:" + clash, "path": "c.env", "format": "dotenv"}),
			wantCode: 4, wantMsg: []string{"both become variable DB_URL"}},
		{name: "a wider path", spec: specJSON(t, map[string]any{"from": "ssm:/" + p + "/app/", "path": "a", "format": "explode"}),
			wantCode: 0, written: []string{"a/prod/db/url", "a/prod/db/password", "a/prod/region", "a/production/x", "a/prodx"}},
		{name: "registry format", spec: specJSON(t, map[string]any{"from": "ssm:" + prod, "path": "c.json", "format": "dockerconfigjson", "registry": "r.example.com"}),
			wantCode: 2, noCall: true, wantMsg: []string{"cannot take"}},
	})
}

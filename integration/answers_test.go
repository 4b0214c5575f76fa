package integration_test

// Hostile answers: a Secrets Manager or SSM answer larger than any value
// within INJECTOR_MAX_VALUE_BYTES can make it, and a batch answer that gives
// one secret twice. Each ends the run with a fetch error naming the
// reference, nothing written.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// duplicateFirstSecret rewrites a BatchGetSecretValue answer so that its
// first entry appears twice, the second time with value instead.
func duplicateFirstSecret(t *testing.T, value string) func([]byte) []byte {
	return func(body []byte) []byte {
		var answer map[string]any
		if err := json.Unmarshal(body, &answer); err != nil {
			t.Errorf("BatchGetSecretValue answer: %v", err)
			return body
		}
		entries, _ := answer["SecretValues"].([]any)
		if len(entries) == 0 {
			t.Errorf("BatchGetSecretValue answer without SecretValues")
			return body
		}
		second := map[string]any{}
		for k, v := range entries[0].(map[string]any) {
			second[k] = v
		}
		second["SecretString"] = value
		answer["SecretValues"] = append(entries, second)
		out, err := json.Marshal(answer)
		if err != nil {
			t.Error(err)
			return body
		}
		return out
	}
}

// TestBatchAnswerNamesSecretTwice: moto's BatchGetSecretValue answer, with
// its entry for a secret repeated under another value, is refused (exit 3,
// naming the secret) instead of one of the two values being written.
func TestBatchAnswerNamesSecretTwice(t *testing.T) {
	p := uniq()
	first, second := "first-"+randHex(8), "second-"+randHex(8)
	putSecret(t, p+"/a", first)
	putSecret(t, p+"/b", "b-"+randHex(8))
	spec := specJSON(t, item("secretsmanager:"+p+"/a", "a"), item("secretsmanager:"+p+"/b", "b"))
	rewrite := duplicateFirstSecret(t, second)
	runFaultCases(t, []string{first, second}, []faultCase{{
		name: "different values",
		spec: spec,
		moto: func(_ *http.Request, op string, _ int) fault {
			if op == "BatchGetSecretValue" {
				return fault{rewrite: rewrite}
			}
			return fault{}
		},
		wantCode: 3,
		wantMsg:  []string{"secretsmanager BatchGetSecretValue of secretsmanager:" + p + "/", "returned twice, with different answers"},
	}})
}

// cutOffValue answers with the start of a JSON answer whose field (value)
// goes on for n bytes and never ends: an injector that reads past the
// answer's bound fails to decode it instead of finding the value too large.
func cutOffValue(prefix string, n int) func([]byte) []byte {
	return func([]byte) []byte { return []byte(prefix + strings.Repeat("x", n)) }
}

// TestAnswerLargerThanLimit: an answer that carries a value far larger
// than INJECTOR_MAX_VALUE_BYTES is refused once what a value within the
// limit can take is read: exit 3, naming the reference, as a decoded value
// too large is.
func TestAnswerLargerThanLimit(t *testing.T) {
	p := uniq()
	big := strings.Repeat("v", 3<<20)
	putSecret(t, p+"/big", big)
	putSecret(t, p+"/small", "small-"+randHex(8))
	putParameter(t, "/"+p+"/param", "param-"+randHex(8), ssmtypes.ParameterTypeSecureString)
	putParameter(t, "/"+p+"/path/a", "a-"+randHex(8), ssmtypes.ParameterTypeSecureString)
	const limit = "INJECTOR_MAX_VALUE_BYTES=65536"
	on := func(op string, rewrite func([]byte) []byte) faultFunc {
		return func(_ *http.Request, got string, _ int) fault {
			if got == op {
				return fault{rewrite: rewrite}
			}
			return fault{}
		}
	}
	sm := func(name string) string { return "secretsmanager:" + p + "/" + name }
	cases := []faultCase{
		{name: "secret from moto", spec: specJSON(t, item(sm("big"), "big")),
			extra: []string{limit, "INJECTOR_SECRETS_BATCH=never"}, wantCode: 3,
			wantMsg: []string{sm("big") + ": value is larger than 65536 bytes"}},
		{name: "batch from moto", spec: specJSON(t, item(sm("big"), "big"), item(sm("small"), "small")),
			extra: []string{limit}, wantCode: 3,
			wantMsg: []string{"secretsmanager BatchGetSecretValue of " + p + "/", "a value in it is larger than 65536 bytes"}},
		{name: "secret cut off past the bound", spec: specJSON(t, item(sm("small"), "small")),
			moto:  on("GetSecretValue", cutOffValue(`{"Name":"`+p+`/small","SecretString":"`, 3<<20)),
			extra: []string{limit, "INJECTOR_SECRETS_BATCH=never"}, wantCode: 3,
			wantMsg: []string{sm("small") + ": value is larger than 65536 bytes"}},
		{name: "parameter cut off past the bound", spec: specJSON(t, item("ssm:/"+p+"/param", "param")),
			moto:  on("GetParameters", cutOffValue(`{"Parameters":[{"Name":"/`+p+`/param","Value":"`, 3<<20)),
			extra: []string{limit}, wantCode: 3,
			wantMsg: []string{"ssm:/" + p + "/param: value is larger than 65536 bytes"}},
		{name: "path page cut off past the bound", spec: specJSON(t, map[string]any{"from": "ssm:/" + p + "/path/", "path": "path.json"}),
			moto:  on("GetParametersByPath", cutOffValue(`{"Parameters":[{"Name":"/`+p+`/path/a","Value":"`, 3<<20)),
			extra: []string{limit}, wantCode: 3,
			wantMsg: []string{"ssm:/" + p + "/path/: value is larger than 65536 bytes"}},
	}
	runFaultCases(t, nil, cases)
}

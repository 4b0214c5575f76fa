package integration_test

// Hostile answers: a Secrets Manager or SSM answer larger than any value
// within INJECTOR_MAX_VALUE_BYTES can make it, and a batch answer that gives
// one secret twice. Each ends the run with a fetch error naming the
// reference, nothing written.

import (
	"encoding/json"
	"net/http"
	"testing"
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

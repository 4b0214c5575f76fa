package secret_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/ecs-secret-injector/injector/secret"
)

func TestValueNeverPrints(t *testing.T) {
	const plain = "hunter2-do-not-print"
	v := secret.New([]byte(plain), secret.Version{ID: "v1", Stage: "AWSCURRENT"})
	type holder struct {
		Name  string
		Value secret.Value
		Ptr   *secret.Value
	}
	h := holder{Name: "db", Value: v, Ptr: &v}

	var logText, logJSON bytes.Buffer
	slog.New(slog.NewTextHandler(&logText, nil)).Info("m", "v", v, "h", h)
	slog.New(slog.NewJSONHandler(&logJSON, nil)).Info("m", "v", v, "h", h, slog.Any("p", &v))
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":          fmt.Sprintf("%v", v),
		"%+v":         fmt.Sprintf("%+v", h),
		"%#v":         fmt.Sprintf("%#v", h),
		"%s":          fmt.Sprintf("%s", v),
		"%q":          fmt.Sprintf("%q", v),
		"%x":          fmt.Sprintf("%x", v),
		"%X":          fmt.Sprintf("%X", v),
		"%d":          fmt.Sprintf("%d", v),
		"String":      v.String(),
		"GoString":    v.GoString(),
		"Sprint":      fmt.Sprint(v, &v),
		"error":       fmt.Errorf("wrapped %v: %w", v, errors.New("x")).Error(),
		"slog text":   logText.String(),
		"slog json":   logJSON.String(),
		"json":        string(js),
		"json direct": mustJSON(t, v),
	}
	for name, out := range outputs {
		if strings.Contains(out, plain) || strings.Contains(out, fmt.Sprintf("%x", plain)) {
			t.Errorf("%s prints the value: %s", name, out)
		}
		if !strings.Contains(out, secret.Redacted) {
			t.Errorf("%s shows no redaction marker: %s", name, out)
		}
	}
	if got := string(v.Bytes()); got != plain {
		t.Errorf("Bytes() = %d bytes, not the value", len(got))
	}
	if v.Len() != len(plain) {
		t.Errorf("Len() = %d", v.Len())
	}
	if got := v.Version(); got.ID != "v1" || got.Stage != "AWSCURRENT" {
		t.Errorf("Version() = %+v", got)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

package integration_test

// Helpers shared by the integration tests and benchmarks.

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// leakForms returns the ways a value could appear in a log: raw, base64 (all
// four alphabets), hex, JSON-escaped (with and without HTML escaping) and Go
// quoted. Encoded forms too short to be telling are left out; the raw form is
// kept whatever its length (but not when empty).
func leakForms(v string) map[string]string {
	forms := map[string]string{"raw": v}
	b := []byte(v)
	forms["base64"] = base64.StdEncoding.EncodeToString(b)
	forms["base64 url"] = base64.URLEncoding.EncodeToString(b)
	forms["base64 raw"] = base64.RawStdEncoding.EncodeToString(b)
	forms["base64 raw url"] = base64.RawURLEncoding.EncodeToString(b)
	forms["hex"] = hex.EncodeToString(b)
	if j, err := json.Marshal(v); err == nil {
		forms["json"] = strings.Trim(string(j), `"`)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) == nil {
		forms["json no html escape"] = strings.Trim(strings.TrimSpace(buf.String()), `"`)
	}
	forms["go quoted"] = strings.Trim(strconv.Quote(v), `"`)
	forms["go ascii quoted"] = strings.Trim(strconv.QuoteToASCII(v), `"`)
	for k, f := range forms {
		if f == "" || (len(f) < 8 && k != "raw") {
			delete(forms, k)
		}
	}
	return forms
}

// leaks names each secret, and the form, that appears in output: "#i (form)".
func leaks(output string, secrets []string) []string {
	var found []string
	for i, s := range secrets {
		forms := leakForms(s)
		for _, kind := range slices.Sorted(maps.Keys(forms)) {
			if strings.Contains(output, forms[kind]) {
				found = append(found, fmt.Sprintf("#%d (%s)", i, kind))
			}
		}
	}
	return found
}

// assertNoSecret fails if any secret, in any form leakForms knows, appears in
// the injector's output. It reports which secret and form, not the value.
func assertNoSecret(t testing.TB, output string, secrets ...string) {
	t.Helper()
	for _, l := range leaks(output, secrets) {
		t.Errorf("injector output holds secret %s", l)
	}
}

// TestFaultLeakScanner checks that the scanner the tests rely on finds
// a secret in each form it claims to know, inside log text.
func TestFaultLeakScanner(t *testing.T) {
	secret := `db "pass" <` + randHex(8) + ">\n"
	for kind, form := range leakForms(secret) {
		out := `time=x level=ERROR msg="injection failed" error="` + form + `"`
		if got := leaks(out, []string{"unrelated-value", secret}); !slices.Contains(got, "#1 ("+kind+")") {
			t.Errorf("%s form not found: %v", kind, got)
		}
	}
	if got := leaks(`level=INFO msg=injected`, []string{secret, ""}); len(got) != 0 {
		t.Errorf("clean output reported as leaking: %v", got)
	}
	// A short value is still looked for as it is.
	if got := leaks(`msg="key=5432"`, []string{"5432"}); !slices.Equal(got, []string{"#0 (raw)"}) {
		t.Errorf("short raw value not found: %v", got)
	}
	if r := redact("a "+secret+" b", []string{secret}); strings.Contains(r, secret) || !strings.Contains(r, "[SECRET#0]") {
		t.Errorf("redact left the secret in place")
	}
}

// redact replaces every form of every secret in s, for printing.
func redact(s string, secrets []string) string {
	for i, v := range secrets {
		for _, f := range leakForms(v) {
			s = strings.ReplaceAll(s, f, fmt.Sprintf("[SECRET#%d]", i))
		}
	}
	return s
}

// randHex returns n random bytes in hex: seeded values no other test uses.
func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

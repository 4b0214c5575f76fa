package integration_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func TestInjectAllSources(t *testing.T) {
	p := uniq()
	const (
		dbPassword = "p@ss w0rd$'\"`\\ with\nnewline"
		plain      = "plain-secret-value-1f3a"
		oldValue   = "rotated-old-value-77"
		newValue   = "rotated-new-value-88"
		ssmString  = "ssm-string-value-a1"
		ssmV1      = "ssm-secure-v1-b2"
		ssmV2      = "ssm-secure-v2-c3"
		kmsBody    = "object under sse-kms d4"
		sseS3Body  = "object under sse-s3 e5"
		ssecBody   = "object under sse-c f6"
		clearBody  = "plaintext object allowed g7"
	)
	binary := []byte{0, 1, 2, 0xfe, 0xff}
	db, _ := json.Marshal(map[string]any{"username": "admin", "password": dbPassword, "port": 5432})
	dbARN := putSecret(t, p+"/db", string(db))
	putSecret(t, p+"/plain", plain)
	putSecret(t, p+"/bin", binary)
	putSecret(t, p+"/rot", oldValue)
	if _, err := h.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(p + "/rot"), SecretString: aws.String(newValue),
	}); err != nil {
		t.Fatal(err)
	}
	ssecKey := make([]byte, 32)
	_, _ = rand.Read(ssecKey)
	ssecKeyB64 := base64.StdEncoding.EncodeToString(ssecKey)
	putSecret(t, p+"/ssec-key", ssecKeyB64)
	putParameter(t, "/"+p+"/str", ssmString, ssmtypes.ParameterTypeString)
	putParameter(t, "/"+p+"/sec", ssmV1, ssmtypes.ParameterTypeSecureString)
	putParameter(t, "/"+p+"/sec", ssmV2, ssmtypes.ParameterTypeSecureString)
	bucket := p + "-bucket"
	makeBucket(t, bucket)
	putObject(t, bucket, "kms.txt", kmsBody, "sse-kms", nil)
	putObject(t, bucket, "dir/s3.txt", sseS3Body, "sse-s3", nil)
	putObject(t, bucket, "ssec.bin", ssecBody, "sse-c", ssecKey)
	putObject(t, bucket, "clear.txt", clearBody, "", nil)

	spec := specJSON(t,
		map[string]any{"from": dbARN + ":password::", "path": "db/password"},
		map[string]any{"from": dbARN + ":port::", "path": "db/port"},
		map[string]any{"from": "secretsmanager:" + p + "/db", "path": "db/all.json"},
		map[string]any{"from": "secretsmanager:" + p + "/plain", "path": "plain"},
		map[string]any{"from": "secretsmanager:" + p + "/bin", "path": "bin"},
		map[string]any{"from": "secretsmanager:" + p + "/rot::AWSPREVIOUS:", "path": "rot/previous"},
		map[string]any{"from": "secretsmanager:" + p + "/rot", "path": "rot/current"},
		map[string]any{"from": "ssm:/" + p + "/str", "path": "ssm/str"},
		map[string]any{"from": "ssm:/" + p + "/sec", "path": "ssm/sec"},
		map[string]any{"from": "ssm:/" + p + "/sec:1", "path": "ssm/sec-v1"},
		map[string]any{"from": "s3://" + bucket + "/kms.txt", "path": "s3/kms.txt"},
		map[string]any{"from": "s3://" + bucket + "/dir/s3.txt", "path": "s3/s3.txt"},
		map[string]any{"from": "s3://" + bucket + "/ssec.bin", "path": "s3/ssec.bin", "sseCustomerKey": "secretsmanager:" + p + "/ssec-key"},
		map[string]any{"from": "s3://" + bucket + "/clear.txt", "path": "s3/clear.txt", "allowUnencrypted": true},
	)
	dir := t.TempDir()
	before := snapshotTree(t, dir)
	h.proxy.reset(nil)
	res := h.inject(t, spec, dir)
	if res.code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", res.code, res.output)
	}
	want := map[string]string{
		"db/password": dbPassword, "db/port": "5432", "db/all.json": string(db), "plain": plain, "bin": string(binary),
		"rot/previous": oldValue, "rot/current": newValue, "ssm/str": ssmString, "ssm/sec": ssmV2, "ssm/sec-v1": ssmV1,
		"s3/kms.txt": kmsBody, "s3/s3.txt": sseS3Body, "s3/ssec.bin": ssecBody, "s3/clear.txt": clearBody,
	}
	// Each file holds its value, and only the files asked for are there: no
	// temporary left over.
	checkWritten(t, dir, before, snapshotTree(t, dir), want)
	for path := range want {
		fi, err := os.Stat(filepath.Join(dir, path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if fi.Mode().Perm() != 0o400 {
			t.Errorf("%s mode %v, want 0400", path, fi.Mode().Perm())
		}
	}
	// Fewest calls: one batch for the unpinned secrets, one call for the
	// pinned one, one batch for the parameters.
	for op, n := range map[string]int{"BatchGetSecretValue": 1, "GetSecretValue": 1, "GetParameters": 1} {
		if got := h.proxy.count(op); got != n {
			t.Errorf("%s calls = %d, want %d", op, got, n)
		}
	}
	assertNoSecret(t, res.output, dbPassword, plain, oldValue, newValue, ssmString, ssmV1, ssmV2, kmsBody, sseS3Body, ssecBody, clearBody, ssecKeyB64)
}

func TestBatching(t *testing.T) {
	p := uniq()
	var items []map[string]any
	for i := range 25 {
		putSecret(t, fmt.Sprintf("%s/s%02d", p, i), fmt.Sprintf("secret-%d", i))
		items = append(items, map[string]any{"from": fmt.Sprintf("secretsmanager:%s/s%02d", p, i), "path": fmt.Sprintf("sm/%02d", i)})
	}
	for i := range 15 {
		putParameter(t, fmt.Sprintf("/%s/p%02d", p, i), fmt.Sprintf("param-%d", i), ssmtypes.ParameterTypeSecureString)
		items = append(items, map[string]any{"from": fmt.Sprintf("ssm:/%s/p%02d", p, i), "path": fmt.Sprintf("ssm/%02d", i)})
	}
	// The same value named twice is fetched once.
	items = append(items, map[string]any{"from": "secretsmanager:" + p + "/s00", "path": "again"})
	dir := t.TempDir()
	h.proxy.reset(nil)
	res := h.inject(t, specJSON(t, items...), dir)
	if res.code != 0 {
		t.Fatalf("exit %d:\n%s", res.code, res.output)
	}
	if got := h.proxy.count("BatchGetSecretValue"); got != 2 {
		t.Errorf("BatchGetSecretValue calls = %d, want 2 for 25 secrets", got)
	}
	if got := h.proxy.count("GetParameters"); got != 2 {
		t.Errorf("GetParameters calls = %d, want 2 for 15 parameters", got)
	}
	for i := range 25 {
		if b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("sm/%02d", i))); err != nil || string(b) != fmt.Sprintf("secret-%d", i) {
			t.Errorf("sm/%02d = %q, %v", i, b, err)
		}
	}
	for i := range 15 {
		if b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("ssm/%02d", i))); err != nil || string(b) != fmt.Sprintf("param-%d", i) {
			t.Errorf("ssm/%02d = %q, %v", i, b, err)
		}
	}
}

func TestFailClosed(t *testing.T) {
	p := uniq()
	const good, keyless = "good-secret-value-x9", "keyless-secret-value-y8"
	putSecret(t, p+"/good", good)
	putSecret(t, p+"/keyless", `{"a":"`+keyless+`"}`)
	bucket := p + "-bucket"
	makeBucket(t, bucket)
	putObject(t, bucket, "clear.txt", "clear-object-body-z7", "", nil)
	goodItem := map[string]any{"from": "secretsmanager:" + p + "/good", "path": "app/good"}

	tests := []struct {
		name     string
		spec     string
		prepare  func(t *testing.T, dir string) // plants what is already there
		extra    []string
		wantCode int
		wantMsg  string
		wantNoOp bool // no AWS call at all
	}{
		{name: "missing secret", spec: specJSON(t, goodItem, map[string]any{"from": "secretsmanager:" + p + "/nope", "path": "nope"}),
			wantCode: 3, wantMsg: "ResourceNotFoundException"},
		{name: "missing parameter", spec: specJSON(t, goodItem, map[string]any{"from": "ssm:/" + p + "/nope", "path": "nope"}),
			wantCode: 3, wantMsg: "/" + p + "/nope"},
		{name: "unencrypted object", spec: specJSON(t, goodItem, map[string]any{"from": "s3://" + bucket + "/clear.txt", "path": "clear"}),
			wantCode: 3, wantMsg: "not stored with server-side encryption"},
		{name: "missing object", spec: specJSON(t, goodItem, map[string]any{"from": "s3://" + bucket + "/none.txt", "path": "none"}),
			wantCode: 3, wantMsg: "NoSuchKey"},
		{name: "missing json key", spec: specJSON(t, goodItem, map[string]any{"from": "secretsmanager:" + p + "/keyless:b::", "path": "b"}),
			wantCode: 4, wantMsg: `json key not found`},
		{name: "malformed spec", spec: `[{"from": "secretsmanager:x", "path": "a"`, wantCode: 2, wantMsg: "invalid spec", wantNoOp: true},
		{name: "unknown field", spec: `[{"from": "secretsmanager:x", "path": "a", "mode": "0644"}]`, wantCode: 2, wantMsg: `unknown field`, wantNoOp: true},
		{name: "bad ref", spec: specJSON(t, goodItem, map[string]any{"from": "vault:x", "path": "a"}), wantCode: 2, wantMsg: "invalid reference", wantNoOp: true},
		{name: "escaping path", spec: specJSON(t, goodItem, map[string]any{"from": "secretsmanager:x", "path": "../etc/x"}), wantCode: 2, wantMsg: "stay inside", wantNoOp: true},
		{name: "duplicate path", spec: specJSON(t, goodItem, goodItem), wantCode: 2, wantMsg: "already written", wantNoOp: true},
		{name: "no region", spec: specJSON(t, goodItem), extra: []string{"AWS_REGION="}, wantCode: 2, wantMsg: "names no region", wantNoOp: true},
		{name: "bad file mode", spec: specJSON(t, goodItem), extra: []string{"INJECTOR_FILE_MODE=rw"}, wantCode: 2, wantMsg: "file mode", wantNoOp: true},
		{name: "target is a directory", spec: specJSON(t, map[string]any{"from": "secretsmanager:" + p + "/good", "path": "a/first"}, goodItem),
			prepare:  func(t *testing.T, dir string) { mkdir(t, filepath.Join(dir, "app", "good")) },
			wantCode: 5, wantMsg: "not a regular file"},
		{name: "planted symlink", spec: specJSON(t, goodItem),
			prepare:  func(t *testing.T, dir string) { plantLink(t, t.TempDir(), filepath.Join(dir, "app")) },
			wantCode: 5, wantMsg: "symbolic link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.prepare != nil {
				tt.prepare(t, dir)
			}
			before := snapshotTree(t, dir)
			h.proxy.reset(nil)
			res := h.inject(t, tt.spec, dir, tt.extra...)
			if res.code != tt.wantCode {
				t.Fatalf("exit %d, want %d:\n%s", res.code, tt.wantCode, res.output)
			}
			if !strings.Contains(res.output, tt.wantMsg) {
				t.Errorf("output does not say %q:\n%s", tt.wantMsg, res.output)
			}
			if d := diffSnapshots(before, snapshotTree(t, dir)); d != "" {
				t.Errorf("output root changed on failure:\n%s", d)
			}
			if n := h.proxy.stats().total; tt.wantNoOp && n != 0 {
				t.Errorf("%d calls on a configuration error, want none", n)
			}
			assertNoSecret(t, res.output, good, keyless, "clear-object-body-z7")
		})
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestRegionFromARN(t *testing.T) {
	p := uniq()
	const value = "eu-west-1-secret-value-q4"
	eu := secretsmanager.NewFromConfig(aws.Config{Region: "eu-west-1", Credentials: h.sm.Options().Credentials},
		func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(h.motoDirect) })
	out, err := eu.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(p + "/eu"), SecretString: aws.String(value)})
	if err != nil {
		t.Fatal(err)
	}
	putSecret(t, p+"/us", "us-value")
	dir := t.TempDir()
	h.proxy.reset(nil)
	res := h.inject(t, specJSON(t,
		map[string]any{"from": aws.ToString(out.ARN), "path": "eu"},
		map[string]any{"from": "secretsmanager:" + p + "/us", "path": "us"},
	), dir)
	if res.code != 0 {
		t.Fatalf("exit %d:\n%s", res.code, res.output)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "eu")); err != nil || string(b) != value {
		t.Fatalf("eu = %q, %v", b, err)
	}
	// One batch per region.
	if got := h.proxy.count("BatchGetSecretValue"); got != 2 {
		t.Errorf("BatchGetSecretValue calls = %d, want 2 (one per region)", got)
	}
	assertNoSecret(t, res.output, value)
}

package integration_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
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
		item(dbARN+":password::", "db/password"),
		item(dbARN+":port::", "db/port"),
		item("secretsmanager:"+p+"/db", "db/all.json"),
		item("secretsmanager:"+p+"/plain", "plain"),
		item("secretsmanager:"+p+"/bin", "bin"),
		item("secretsmanager:"+p+"/rot::AWSPREVIOUS:", "rot/previous"),
		item("secretsmanager:"+p+"/rot", "rot/current"),
		item("ssm:/"+p+"/str", "ssm/str"),
		item("ssm:/"+p+"/sec", "ssm/sec"),
		item("ssm:/"+p+"/sec:1", "ssm/sec-v1"),
		item("s3://"+bucket+"/kms.txt", "s3/kms.txt"),
		item("s3://"+bucket+"/dir/s3.txt", "s3/s3.txt"),
		map[string]any{"from": "s3://" + bucket + "/ssec.bin", "path": "s3/ssec.bin", "sseCustomerKey": "secretsmanager:" + p + "/ssec-key"},
		map[string]any{"from": "s3://" + bucket + "/clear.txt", "path": "s3/clear.txt", "allowUnencrypted": true},
	)
	dir := t.TempDir()
	before := visibleTree(t, dir)
	res := h.injectOK(t, spec, dir)
	want := map[string]string{
		"db/password": dbPassword, "db/port": "5432", "db/all.json": string(db), "plain": plain, "bin": string(binary),
		"rot/previous": oldValue, "rot/current": newValue, "ssm/str": ssmString, "ssm/sec": ssmV2, "ssm/sec-v1": ssmV1,
		"s3/kms.txt": kmsBody, "s3/s3.txt": sseS3Body, "s3/ssec.bin": ssecBody, "s3/clear.txt": clearBody,
	}
	// Each file holds its value, and only the files asked for are there: no
	// temporary left over.
	checkWritten(t, dir, before, visibleTree(t, dir), want)
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
	// Every call fits in one wave: one GetSecretValue per secret (six
	// unpinned, one pinned), no batch; one batch for the parameters.
	for op, n := range map[string]int{"BatchGetSecretValue": 0, "GetSecretValue": 7, "GetParameters": 1} {
		if got := h.proxy.count(op); got != n {
			t.Errorf("%s calls = %d, want %d", op, got, n)
		}
	}
	assertNoSecret(t, res.output, dbPassword, plain, oldValue, newValue, ssmString, ssmV1, ssmV2, kmsBody, sseS3Body, ssecBody, clearBody, ssecKeyB64)
}

func TestBatching(t *testing.T) {
	p := uniq()
	var items []map[string]any
	want := map[string]string{}
	// 40 secrets and 15 parameters: one call per secret would not fit in
	// one wave of INJECTOR_CONCURRENCY (32), so secrets are batched.
	for i := range 40 {
		putSecret(t, fmt.Sprintf("%s/s%02d", p, i), fmt.Sprintf("secret-%d", i))
		items = append(items, item(fmt.Sprintf("secretsmanager:%s/s%02d", p, i), fmt.Sprintf("sm/%02d", i)))
		want[fmt.Sprintf("sm/%02d", i)] = fmt.Sprintf("secret-%d", i)
	}
	for i := range 15 {
		putParameter(t, fmt.Sprintf("/%s/p%02d", p, i), fmt.Sprintf("param-%d", i), ssmtypes.ParameterTypeSecureString)
		items = append(items, item(fmt.Sprintf("ssm:/%s/p%02d", p, i), fmt.Sprintf("ssm/%02d", i)))
		want[fmt.Sprintf("ssm/%02d", i)] = fmt.Sprintf("param-%d", i)
	}
	// The same value named twice is fetched once.
	items = append(items, item("secretsmanager:"+p+"/s00", "again"))
	want["again"] = "secret-0"
	dir := t.TempDir()
	before := visibleTree(t, dir)
	res := h.injectOK(t, specJSON(t, items...), dir)
	if got, single := h.proxy.count("BatchGetSecretValue"), h.proxy.count("GetSecretValue"); got != 2 || single != 0 {
		t.Errorf("BatchGetSecretValue calls = %d, GetSecretValue %d, want 2 and 0 for 40 secrets", got, single)
	}
	if got := h.proxy.count("GetParameters"); got != 2 {
		t.Errorf("GetParameters calls = %d, want 2 for 15 parameters", got)
	}
	checkWritten(t, dir, before, visibleTree(t, dir), want)
	assertNoSecret(t, res.output, slices.Collect(maps.Values(want))...)
}

func TestFailClosed(t *testing.T) {
	p := uniq()
	const good, keyless = "good-secret-value-x9", "keyless-secret-value-y8"
	putSecret(t, p+"/good", good)
	putSecret(t, p+"/keyless", `{"a":"`+keyless+`"}`)
	bucket := p + "-bucket"
	makeBucket(t, bucket)
	putObject(t, bucket, "clear.txt", "clear-object-body-z7", "", nil)
	goodItem := item("secretsmanager:"+p+"/good", "app/good")

	runFaultCases(t, []string{good, keyless, "clear-object-body-z7"}, []faultCase{
		{name: "missing secret", spec: specJSON(t, goodItem, item("secretsmanager:"+p+"/nope", "nope")),
			wantCode: 3, wantMsg: []string{"ResourceNotFoundException"}},
		{name: "missing parameter", spec: specJSON(t, goodItem, item("ssm:/"+p+"/nope", "nope")),
			wantCode: 3, wantMsg: []string{"/" + p + "/nope"}},
		{name: "unencrypted object", spec: specJSON(t, goodItem, item("s3://"+bucket+"/clear.txt", "clear")),
			wantCode: 3, wantMsg: []string{"not stored with server-side encryption"}},
		{name: "missing object", spec: specJSON(t, goodItem, item("s3://"+bucket+"/none.txt", "none")),
			wantCode: 3, wantMsg: []string{"NoSuchKey"}},
		{name: "missing json key", spec: specJSON(t, goodItem, item("secretsmanager:"+p+"/keyless:b::", "b")),
			wantCode: 4, wantMsg: []string{"json key not found"}},
		{name: "malformed spec", spec: `[{"from": "secretsmanager:x", "path": "a"`, wantCode: 2, wantMsg: []string{"invalid spec"}, noCall: true},
		{name: "unknown field", spec: `[{"from": "secretsmanager:x", "path": "a", "owner": "app"}]`, wantCode: 2, wantMsg: []string{"unknown field"}, noCall: true},
		{name: "bad ref", spec: specJSON(t, goodItem, item("vault:x", "a")), wantCode: 2, wantMsg: []string{"invalid reference"}, noCall: true},
		{name: "escaping path", spec: specJSON(t, goodItem, item("secretsmanager:x", "../etc/x")), wantCode: 2, wantMsg: []string{"stay inside"}, noCall: true},
		{name: "duplicate path", spec: specJSON(t, goodItem, goodItem), wantCode: 2, wantMsg: []string{"already written"}, noCall: true},
		{name: "no region", spec: specJSON(t, goodItem), extra: []string{"AWS_REGION="}, wantCode: 2, wantMsg: []string{"names no region"}, noCall: true},
		{name: "bad file mode", spec: specJSON(t, goodItem), extra: []string{"INJECTOR_FILE_MODE=rw"}, wantCode: 2, wantMsg: []string{"file mode"}, noCall: true},
	})
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
	before := visibleTree(t, dir)
	res := h.injectOK(t, specJSON(t, item(aws.ToString(out.ARN), "eu"), item("secretsmanager:"+p+"/us", "us")), dir)
	checkWritten(t, dir, before, visibleTree(t, dir), map[string]string{"eu": value, "us": "us-value"})
	// One GetSecretValue each, each in its region.
	if got := h.proxy.count("GetSecretValue"); got != 2 {
		t.Errorf("GetSecretValue calls = %d, want 2", got)
	}
	assertNoSecret(t, res.output, value)
}

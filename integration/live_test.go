package integration_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-secret-injector/injector/engine/status"
)

// TestRefreshLiveVersions: the status file names, per item, the version
// moto and MinIO serve (the secret's version id and stages, the
// parameter's version, the object's ETag) and the region; a rotation of
// the secret moves its version and nothing else's; `injector health -v`
// prints them; no value is in either.
func TestRefreshLiveVersions(t *testing.T) {
	t.Parallel()
	p := uniq()
	tok := randHex(6)
	arn := putSecret(t, p+"/db", "db-1-"+tok)
	putParameter(t, "/"+p+"/api", "api-1-"+tok, ssmtypes.ParameterTypeSecureString)
	bucket := p + "-bucket"
	makeBucket(t, bucket)
	putObject(t, bucket, "tls.pem", "pem-1-"+tok, "sse-kms", nil)
	spec := specJSON(t, item(arn, "db"), item("ssm:/"+p+"/api", "api"), item("s3://"+bucket+"/tls.pem", "tls.pem"))
	dir := t.TempDir()
	r := startRefresh(t, spec, dir)
	secrets := []string{"db-1-" + tok, "api-1-" + tok, "pem-1-" + tok, "db-2-" + tok}
	defer func() { assertNoSecret(t, r.out.String(), secrets...) }()

	live := func(st status.Status) map[string]status.Item {
		items := map[string]status.Item{}
		for _, it := range st.Live {
			items[it.Ref] = it
		}
		return items
	}
	currentVersion := func() string {
		out, err := h.sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		for id, stages := range out.VersionIdsToStages {
			if slices.Contains(stages, "AWSCURRENT") {
				return id
			}
		}
		t.Fatal("no AWSCURRENT version")
		return ""
	}
	head, err := h.s3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("tls.pem")})
	if err != nil {
		t.Fatal(err)
	}

	first := live(r.published(t, 1))
	secretRef, paramRef, objectRef := "secretsmanager:"+arn, "ssm:/"+p+"/api", "s3://"+bucket+"/tls.pem"
	v1 := currentVersion()
	if it := first[secretRef]; it.Version != v1 || !slices.Contains(it.Stages, "AWSCURRENT") || it.Region != region || it.Confirmed.IsZero() {
		t.Errorf("secret: %+v, want version %s staged AWSCURRENT in %s", it, v1, region)
	}
	if it := first[paramRef]; it.Version != "1" || it.Region != region {
		t.Errorf("parameter: %+v, want version 1 in %s", it, region)
	}
	if it := first[objectRef]; it.ETag != aws.ToString(head.ETag) || it.Region != region {
		t.Errorf("object: %+v, want ETag %s in %s", it, aws.ToString(head.ETag), region)
	}

	rotateSecret(t, arn, "db-2-"+tok)
	second := live(r.published(t, 2))
	v2 := currentVersion()
	if it := second[secretRef]; v2 == v1 || it.Version != v2 || !it.Fetched.After(first[secretRef].Fetched) {
		t.Errorf("secret after the rotation: %+v, want version %s (was %s)", it, v2, v1)
	}
	if it := second[paramRef]; it.Version != "1" || !it.Fetched.Equal(first[paramRef].Fetched) || !it.Confirmed.After(first[paramRef].Confirmed) {
		t.Errorf("parameter after the secret's rotation: %+v (first %+v)", it, first[paramRef])
	}

	cmd := exec.Command(h.bin, "health", "-v")
	cmd.Env = []string{"INJECTOR_DIR=" + dir}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("health -v: %v:\n%s", err, out)
	}
	for _, want := range []string{"healthy: generation 2", "Live (3 items):", secretRef, v2, "AWSCURRENT", paramRef, objectRef, "ETag " + aws.ToString(head.ETag)} {
		if !strings.Contains(string(out), want) {
			t.Errorf("health -v does not say %q:\n%s", want, out)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, status.File))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, string(data)+string(out), secrets...)
}

package integration_test

// Helpers shared by the integration tests and benchmarks.

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/docker/cli/cli/config/configfile"

	"github.com/ecs-secret-injector/injector/internal/testsupport"
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

// randHex returns n random bytes in hex (2n characters): seeded values no
// other test uses, so that any value found in output is a real leak.
func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// uniq returns a name prefix no other test or run uses.
func uniq() string { return "it-" + randHex(4) }

// specJSON is the injector spec listing items.
func specJSON(t testing.TB, items ...map[string]any) string {
	t.Helper()
	b, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// item is a spec item that writes the value from refers to at path.
func item(from any, path string) map[string]any { return map[string]any{"from": from, "path": path} }

// programAt makes the program bin also reachable as name, in a directory
// of its own (below the harness's, on bin's file system), and returns that
// path. It is a hard link, not a written copy: a copy is open for writing
// while it is written, and a child that another test forks meanwhile holds
// that descriptor until its exec closes it (close-on-exec), so that starting
// the copy can fail with "text file busy". A link opens nothing.
func programAt(t testing.TB, bin, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp(h.dir, "prog-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	p := filepath.Join(dir, name)
	if err := os.Link(bin, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// mkdir makes dir and its parents.
func mkdir(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// plantFile writes a file (and its directory) with exactly mode.
func plantFile(t testing.TB, p, content string, mode fs.FileMode) {
	t.Helper()
	mkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// plantLink makes link (and its directory) a symbolic link to target.
func plantLink(t testing.TB, target, link string) {
	t.Helper()
	mkdir(t, filepath.Dir(link))
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// Seeding: each seedX stores a value in moto or MinIO through the harness's
// clients and returns an error, for use from any goroutine; the matching
// putSecret, putParameter, makeBucket and putObject fail the test instead.

// seedSecret creates a secret with a string or []byte value and returns its ARN.
func seedSecret(name string, value any) (string, error) {
	in := &secretsmanager.CreateSecretInput{Name: aws.String(name)}
	switch v := value.(type) {
	case string:
		in.SecretString = aws.String(v)
	case []byte:
		in.SecretBinary = v
	default:
		return "", fmt.Errorf("CreateSecret %s: value of type %T", name, value)
	}
	out, err := h.sm.CreateSecret(context.Background(), in)
	if err != nil {
		return "", fmt.Errorf("CreateSecret %s: %w", name, err)
	}
	return aws.ToString(out.ARN), nil
}

// seedParameter creates or overwrites a parameter.
func seedParameter(name, value string, typ ssmtypes.ParameterType) error {
	_, err := h.ssm.PutParameter(context.Background(), &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(value), Type: typ, Overwrite: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("PutParameter %s: %w", name, err)
	}
	return nil
}

func seedBucket(name string) error {
	if _, err := h.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		return fmt.Errorf("CreateBucket %s: %w", name, err)
	}
	return nil
}

// seedObject stores an object; enc is "", "sse-s3", "sse-kms" or "sse-c"
// (with ssecKey).
func seedObject(bucket, key, body, enc string, ssecKey []byte) error {
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}
	switch enc {
	case "":
	case "sse-s3":
		in.ServerSideEncryption = s3types.ServerSideEncryptionAes256
	case "sse-kms":
		in.ServerSideEncryption = s3types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(kmsKeyName)
	case "sse-c":
		sum := md5.Sum(ssecKey)
		in.SSECustomerAlgorithm = aws.String("AES256")
		in.SSECustomerKey = aws.String(base64.StdEncoding.EncodeToString(ssecKey))
		in.SSECustomerKeyMD5 = aws.String(base64.StdEncoding.EncodeToString(sum[:]))
	default:
		return fmt.Errorf("PutObject s3://%s/%s: unknown encryption %q", bucket, key, enc)
	}
	if _, err := h.s3.PutObject(context.Background(), in); err != nil {
		return fmt.Errorf("PutObject s3://%s/%s (%s): %w", bucket, key, enc, err)
	}
	return nil
}

func putSecret(t testing.TB, name string, value any) string {
	t.Helper()
	arn, err := seedSecret(name, value)
	if err != nil {
		t.Fatal(err)
	}
	return arn
}

func putParameter(t testing.TB, name, value string, typ ssmtypes.ParameterType) {
	t.Helper()
	if err := seedParameter(name, value, typ); err != nil {
		t.Fatal(err)
	}
}

func makeBucket(t testing.TB, name string) {
	t.Helper()
	if err := seedBucket(name); err != nil {
		t.Fatal(err)
	}
}

func putObject(t testing.TB, bucket, key, body, enc string, ssecKey []byte) {
	t.Helper()
	if err := seedObject(bucket, key, body, enc, ssecKey); err != nil {
		t.Fatal(err)
	}
}

// snapshot describes every entry under dir (not following symbolic links):
// type, permission bits, and a digest of a file's content or a link's target.
func snapshot(dir string) (map[string]string, error) {
	tr, err := testsupport.ReadTree(dir)
	if err != nil {
		return nil, err
	}
	return tr.Digests(), nil
}

// snapshotTree is snapshot, failing t on an error.
func snapshotTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	snap, err := snapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// diffSnapshots says what differs between two snapshots, "" if nothing.
// It names paths and digests, never content.
func diffSnapshots(before, after map[string]string) string {
	var lines []string
	for _, p := range slices.Sorted(maps.Keys(before)) {
		switch a, ok := after[p]; {
		case !ok:
			lines = append(lines, "removed "+p)
		case a != before[p]:
			lines = append(lines, fmt.Sprintf("changed %s: %s -> %s", p, before[p], a))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(after)) {
		if _, ok := before[p]; !ok {
			lines = append(lines, fmt.Sprintf("added %s: %s", p, after[p]))
		}
	}
	return strings.Join(lines, "\n")
}

// visibleSnapshot is snapshot of what a reader sees in the output root
// dir: the top-level names beginning with ".." (the injector's own) are left
// out, and a top-level link into ..data is described as what it resolves to.
func visibleSnapshot(dir string) (map[string]string, error) {
	tr, err := testsupport.ReadVisible(dir, testsupport.InjectorLinks)
	if err != nil {
		return nil, err
	}
	return tr.Digests(), nil
}

// visibleTree is visibleSnapshot, failing t on an error.
func visibleTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	snap, err := visibleSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// injectorNames returns the top-level names beginning with ".." under dir,
// sorted, and the target of ..data ("" if there is none).
func injectorNames(dir string) (names []string, data string) {
	names, data, _ = testsupport.InjectorNames(dir)
	return names, data
}

// layoutErr checks the output root dir after a successful run: the only
// names of the injector are ..data, ..lock and the generation ..data points
// to; every top-level entry of that generation is visible through a link
// NAME -> ..data/NAME; and none of the secrets appears in any file outside
// the generation.
func layoutErr(dir string, secrets []string) error {
	names, gen := injectorNames(dir)
	want := []string{"..data", "..lock", gen}
	slices.Sort(want)
	if !slices.Equal(names, want) || !strings.HasPrefix(gen, "..") || strings.Contains(gen, "/") {
		return fmt.Errorf("the injector's names are %v with ..data -> %q; want only ..data, ..lock and one generation", names, gen)
	}
	entries, err := os.ReadDir(filepath.Join(dir, gen))
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err != nil || l != "..data/"+e.Name() {
			errs = append(errs, fmt.Errorf("%s/%s is not visible as %s -> ..data/%[2]s (%q, %v)", gen, e.Name(), e.Name(), l, err))
		}
	}
	if err := secretsOutside(dir, gen, secrets); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// secretsOutside fails if any secret appears in a regular file under dir
// other than those in the generation gen ("" for none). It names paths and
// secret numbers, never values.
func secretsOutside(dir, gen string, secrets []string) error {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil // no root, nothing under it
	}
	var errs []error
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if gen != "" && rel == gen {
			return fs.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, s := range secrets {
			if s != "" && bytes.Contains(b, []byte(s)) {
				errs = append(errs, fmt.Errorf("secret #%d is in %s, outside the current generation", i, rel))
			}
		}
		return nil
	})
	return errors.Join(err, errors.Join(errs...))
}

// written checks a successful run into dir, given visible snapshots of it
// before and after: every wanted file (path -> content) holds its content,
// each top-level name a wanted path uses holds only what was asked for, and
// nothing else a reader sees is new or changed. It names paths and sizes,
// never content.
func written(dir string, before, after, want map[string]string) error {
	var errs []error
	tops := map[string]bool{}
	for p := range want {
		top, _, _ := strings.Cut(p, "/")
		tops[top] = true
	}
	expected, after := maps.Clone(before), maps.Clone(after)
	for p := range expected {
		if top, _, _ := strings.Cut(p, "/"); tops[top] {
			delete(expected, p)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(want)) {
		content := want[p]
		got, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		if !bytes.Equal(got, []byte(content)) {
			errs = append(errs, fmt.Errorf("%s holds the wrong content (%d bytes, want %d)", p, len(got), len(content)))
		}
		delete(after, p)
		for d := filepath.Dir(p); d != "."; d = filepath.Dir(d) {
			delete(after, d)
		}
	}
	if d := diffSnapshots(expected, after); d != "" {
		errs = append(errs, fmt.Errorf("output root holds more than the files asked for:\n%s", d))
	}
	return errors.Join(errs...)
}

// checkWritten checks a successful run into dir as written does, and that
// the root holds one generation and no value outside it (layoutErr, with
// the wanted contents and secrets as the values to look for).
func checkWritten(t testing.TB, dir string, before, after, want map[string]string, secrets ...string) {
	t.Helper()
	if err := written(dir, before, after, want); err != nil {
		t.Error(err)
	}
	if err := layoutErr(dir, slices.Concat(slices.Collect(maps.Values(want)), secrets)); err != nil {
		t.Error(err)
	}
}

// assertDotenv sources a dotenv file in bash, as its consumers do, and
// checks that variable name reads back as want.
func assertDotenv(t testing.TB, file, name, want string) {
	t.Helper()
	out, err := exec.Command("bash", "-c", `set -a; . "$1"; set +a; printf '%s' "${!2}"`, "_", file, name).Output()
	if err != nil || string(out) != want {
		t.Errorf("bash read %s from %s: %d bytes, %v", name, file, len(out), err)
	}
}

// assertDockerAuth loads a docker config.json with the docker CLI's own code
// and checks the login it holds for registry.
func assertDockerAuth(t testing.TB, file, registry, user, pass string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	cf := configfile.New("config.json")
	if err := cf.LoadFromReader(f); err != nil {
		t.Error(err)
		return
	}
	ac, err := cf.GetAuthConfig(registry)
	if err != nil || ac.Username != user || ac.Password != pass {
		t.Errorf("%s: wrong login for %s (user %q), %v", file, registry, ac.Username, err)
	}
}

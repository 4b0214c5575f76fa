package taskdefs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecs-secret-injector/injector/plan"
)

// How the JSON files in this directory are told apart (by file name).
const (
	runTaskSuffix        = ".run-task.json"
	policySuffix         = "policy.json"
	taskRolePolicySuffix = ".task-role-policy.json"
	infraPolicySuffix    = ".infrastructure-role-policy.json"

	injectorName = "injector"

	// Secrets Manager appends "-" and six random characters to a secret's
	// name to form its ARN. A reference by name ("secretsmanager:NAME") is
	// checked against the policy with this stand-in suffix, so the policy
	// has to use the documented "NAME-??????" pattern for it.
	sampleSecretSuffix = "Xy12Zw"
)

// errTransport is what the fake HTTP client returns: reaching it means the
// SDK accepted the input (parameter validation runs before serialization and
// long before the transport).
var errTransport = errors.New("offline transport reached: input passed SDK validation")

type fileKind int

const (
	kindTaskDef fileKind = iota
	kindRunTask
	kindPolicy
)

func (k fileKind) String() string {
	switch k {
	case kindTaskDef:
		return "RegisterTaskDefinitionInput"
	case kindRunTask:
		return "RunTaskInput"
	default:
		return "IAM policy"
	}
}

type exampleFile struct {
	name    string // base name, e.g. "fargate.task-role-policy.json"
	example string // base name up to the first dot, e.g. "fargate"
	kind    fileKind
}

func classify(name string) fileKind {
	switch {
	case strings.HasSuffix(name, runTaskSuffix):
		return kindRunTask
	case strings.HasSuffix(name, policySuffix):
		return kindPolicy
	default:
		return kindTaskDef
	}
}

func discover(t *testing.T) []exampleFile {
	t.Helper()
	names, err := filepath.Glob("*.json")
	if err != nil {
		t.Fatalf("glob: %v", err)
	}
	if len(names) == 0 {
		t.Fatal("no *.json files found next to the test")
	}
	files := make([]exampleFile, 0, len(names))
	for _, n := range names {
		example, _, _ := strings.Cut(n, ".")
		files = append(files, exampleFile{name: n, example: example, kind: classify(n)})
	}
	return files
}

func filesOfKind(t *testing.T, k fileKind) []exampleFile {
	t.Helper()
	var out []exampleFile
	for _, f := range discover(t) {
		if f.kind == k {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s files found", k)
	}
	return out
}

// ---------------------------------------------------------------------------
// Strict decoding into the SDK's input types.
// ---------------------------------------------------------------------------

// decodeStrict decodes one JSON document into v, rejecting unknown fields,
// trailing data and enum values the SDK does not know.
//
// encoding/json matches object keys to Go field names case-insensitively.
// As of service/ecs v1.104.1 every wire member name of the ECS input shapes
// equals its Go field name up to case (e.g. "sizeInGiB" -> SizeInGiB,
// "enableECSManagedTags" -> EnableECSManagedTags) and the inputs used here
// contain no timestamps, blobs or documents, so a plain decode reaches every
// field. Case-insensitivity also means a mis-cased key ("Essential") would be
// accepted here although the ECS API would reject it; checkWireForm below
// closes that gap by comparing the file with what the SDK actually sends.
// Enum fields are plain string types in Go, so any string decodes; checkEnums
// compares them with the SDK's Values() lists.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("strict decode into %T: %w", v, err)
	}
	if err := dec.Decode(&json.RawMessage{}); !errors.Is(err, io.EOF) {
		return fmt.Errorf("strict decode into %T: trailing data after the JSON document", v)
	}
	if err := checkEnums(reflect.ValueOf(v), "$"); err != nil {
		return fmt.Errorf("strict decode into %T: %w", v, err)
	}
	return nil
}

// checkEnums walks v and reports any named string type with a Values()
// method (the SDK's enum convention) whose value is not in that list. The
// SDK documents that the lists may grow; they are exact for the pinned
// version.
func checkEnums(v reflect.Value, at string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return checkEnums(v.Elem(), at)
	case reflect.Struct:
		var errs []error
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			errs = append(errs, checkEnums(v.Field(i), at+"."+f.Name))
		}
		return errors.Join(errs...)
	case reflect.Slice, reflect.Array:
		var errs []error
		for i := range v.Len() {
			errs = append(errs, checkEnums(v.Index(i), fmt.Sprintf("%s[%d]", at, i)))
		}
		return errors.Join(errs...)
	case reflect.Map:
		var errs []error
		iter := v.MapRange()
		for iter.Next() {
			errs = append(errs, checkEnums(iter.Value(), fmt.Sprintf("%s[%v]", at, iter.Key())))
		}
		return errors.Join(errs...)
	case reflect.String:
		if v.Type().PkgPath() == "" || v.Len() == 0 {
			return nil
		}
		m := v.MethodByName("Values")
		if !m.IsValid() || m.Type().NumIn() != 0 || m.Type().NumOut() != 1 {
			return nil
		}
		known := m.Call(nil)[0]
		if known.Kind() != reflect.Slice || known.Type().Elem() != v.Type() {
			return nil
		}
		for i := range known.Len() {
			if known.Index(i).String() == v.String() {
				return nil
			}
		}
		return fmt.Errorf("%s: %q is not a known %s value", at, v.String(), v.Type().Name())
	default:
		return nil
	}
}

// ---------------------------------------------------------------------------
// The SDK's own validation, offline.
// ---------------------------------------------------------------------------

// capturingTransport is an ecs.HTTPClient that records the serialized
// request body and fails every request with errTransport.
type capturingTransport struct {
	body []byte
}

func (c *capturingTransport) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		c.body = b
	}
	return nil, errTransport
}

func newOfflineClient(tr *capturingTransport) *ecs.Client {
	return ecs.New(ecs.Options{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "dummy-secret-key", ""),
		HTTPClient:  tr,
		Retryer:     aws.NopRetryer{},
	})
}

// sdkRoundTrip runs call against an offline client. It returns the request
// body the SDK serialized if the input passed the SDK's required-field
// validation, and an error wrapping the smithy.InvalidParamsError otherwise.
func sdkRoundTrip(ctx context.Context, call func(context.Context, *ecs.Client) error) ([]byte, error) {
	tr := &capturingTransport{}
	err := call(ctx, newOfflineClient(tr))

	// The generated validators return smithy.InvalidParamsError by value
	// (validators.go: "return invalidParams"), so errors.As needs a value
	// target; the pointer form is checked as well in case that changes.
	var invalid smithy.InvalidParamsError
	var invalidPtr *smithy.InvalidParamsError
	switch {
	case errors.As(err, &invalid), errors.As(err, &invalidPtr):
		return nil, fmt.Errorf("SDK parameter validation: %w", err)
	case errors.Is(err, errTransport):
		if len(tr.body) == 0 {
			return nil, errors.New("transport reached but no request body was captured")
		}
		return tr.body, nil
	case err == nil:
		return nil, errors.New("offline client unexpectedly returned success")
	default:
		return nil, fmt.Errorf("request failed before the transport: %w", err)
	}
}

func validateTaskDef(ctx context.Context, in *ecs.RegisterTaskDefinitionInput) ([]byte, error) {
	return sdkRoundTrip(ctx, func(ctx context.Context, c *ecs.Client) error {
		_, err := c.RegisterTaskDefinition(ctx, in)
		return err
	})
}

func validateRunTask(ctx context.Context, in *ecs.RunTaskInput) ([]byte, error) {
	return sdkRoundTrip(ctx, func(ctx context.Context, c *ecs.Client) error {
		_, err := c.RunTask(ctx, in)
		return err
	})
}

// checkWireForm verifies that every key and value of the file reappears,
// spelt exactly the same, in the body the SDK serialized from the decoded
// struct. This is what catches mis-cased keys that encoding/json accepted.
// The SDK leaves out zero values of non-pointer members (false, 0, ""), so
// a missing key is accepted when the file holds such a zero value and no
// differently-cased twin of the key was sent. Extra keys on the wire (e.g.
// the idempotency token RunTask fills in) are fine.
func checkWireForm(file, wire []byte) error {
	f, err := decodeGeneric(file)
	if err != nil {
		return fmt.Errorf("file: %w", err)
	}
	w, err := decodeGeneric(wire)
	if err != nil {
		return fmt.Errorf("SDK request body: %w", err)
	}
	return subsetOf("$", f, w)
}

func decodeGeneric(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	return v, nil
}

func subsetOf(at string, file, wire any) error {
	switch fv := file.(type) {
	case map[string]any:
		wv, ok := wire.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: object in file, %T on the wire", at, wire)
		}
		var errs []error
		for _, k := range sortedKeys(fv) {
			sub, ok := wv[k]
			if !ok {
				if twin, found := foldedKey(wv, k); found {
					errs = append(errs, fmt.Errorf("%s.%s: key is spelt %q by the ECS API", at, k, twin))
					continue
				}
				if isJSONZero(fv[k]) {
					continue
				}
				errs = append(errs, fmt.Errorf("%s.%s: not sent by the SDK", at, k))
				continue
			}
			errs = append(errs, subsetOf(at+"."+k, fv[k], sub))
		}
		return errors.Join(errs...)
	case []any:
		wv, ok := wire.([]any)
		if !ok || len(wv) != len(fv) {
			return fmt.Errorf("%s: list of %d in file, %v on the wire", at, len(fv), wire)
		}
		var errs []error
		for i := range fv {
			errs = append(errs, subsetOf(fmt.Sprintf("%s[%d]", at, i), fv[i], wv[i]))
		}
		return errors.Join(errs...)
	default:
		if !reflect.DeepEqual(file, wire) {
			return fmt.Errorf("%s: %v in file, %v on the wire", at, file, wire)
		}
		return nil
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func foldedKey(m map[string]any, key string) (string, bool) {
	for k := range m {
		if strings.EqualFold(k, key) {
			return k, true
		}
	}
	return "", false
}

func isJSONZero(v any) bool {
	switch x := v.(type) {
	case bool:
		return !x
	case string:
		return x == ""
	case json.Number:
		f, err := x.Float64()
		return err == nil && f == 0
	default:
		return false
	}
}

// ---------------------------------------------------------------------------
// Loading.
// ---------------------------------------------------------------------------

func loadTaskDef(name string) (*ecs.RegisterTaskDefinitionInput, []byte, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, nil, fmt.Errorf("read task definition: %w", err)
	}
	var in ecs.RegisterTaskDefinitionInput
	if err := decodeStrict(data, &in); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return &in, data, nil
}

func loadRunTask(name string) (*ecs.RunTaskInput, []byte, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, nil, fmt.Errorf("read RunTask input: %w", err)
	}
	var in ecs.RunTaskInput
	if err := decodeStrict(data, &in); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return &in, data, nil
}

// ---------------------------------------------------------------------------
// Injector wiring.
// ---------------------------------------------------------------------------

// specItem is one entry of INJECTOR_SPEC. Only the keys this test reasons
// about are named; format-specific options the injector may add are ignored.
type specItem struct {
	From     string            `json:"from"`
	Path     string            `json:"path"`
	Format   string            `json:"format"`
	Inputs   map[string]string `json:"inputs"`
	Template string            `json:"template"`
	Registry string            `json:"registry"`
}

// wiring is what checkWiring learns about a task definition.
type wiring struct {
	volume    string     // the task volume the injector writes
	spec      []specItem // parsed INJECTOR_SPEC
	region    string     // AWS_REGION of the injector, else its awslogs-region
	account   string     // account of the task role
	partition string     // partition of the task role
	refresh   bool       // INJECTOR_REFRESH_INTERVAL is set: the injector keeps running
}

func containerName(c ecstypes.ContainerDefinition) string { return aws.ToString(c.Name) }

// isEssential applies the ECS default: a container is essential unless it
// says otherwise.
func isEssential(c ecstypes.ContainerDefinition) bool {
	return c.Essential == nil || *c.Essential
}

func envMap(c ecstypes.ContainerDefinition) (map[string]string, error) {
	env := make(map[string]string, len(c.Environment))
	for _, kv := range c.Environment {
		name := aws.ToString(kv.Name)
		if _, dup := env[name]; dup {
			return nil, fmt.Errorf("container %q: environment variable %s set twice", containerName(c), name)
		}
		env[name] = aws.ToString(kv.Value)
	}
	return env, nil
}

func isRootUser(user string) bool {
	uid, _, _ := strings.Cut(user, ":")
	return uid == "" || uid == "0" || uid == "root"
}

// checkWiring verifies how the injector sidecar is placed in the task.
func checkWiring(td *ecs.RegisterTaskDefinitionInput) (wiring, error) {
	var w wiring
	var injectors []ecstypes.ContainerDefinition
	for _, c := range td.ContainerDefinitions {
		if containerName(c) == injectorName {
			injectors = append(injectors, c)
		}
	}
	if len(injectors) != 1 {
		return w, fmt.Errorf("want exactly one container named %q, found %d", injectorName, len(injectors))
	}
	inj := injectors[0]

	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if isEssential(inj) {
		fail("injector must be essential=false (dependsOn SUCCESS cannot target an essential container)")
	}
	if !aws.ToBool(inj.ReadonlyRootFilesystem) {
		fail("injector must set readonlyRootFilesystem=true")
	}
	if user := aws.ToString(inj.User); isRootUser(user) {
		fail("injector user %q: must be set to a non-root user", user)
	}
	if inj.LogConfiguration == nil {
		fail("injector has no logConfiguration; a failed injection would leave no trace")
	}

	volumes := make(map[string]ecstypes.Volume, len(td.Volumes))
	for _, v := range td.Volumes {
		volumes[aws.ToString(v.Name)] = v
	}

	var rw []ecstypes.MountPoint
	for _, m := range inj.MountPoints {
		if !aws.ToBool(m.ReadOnly) {
			rw = append(rw, m)
		}
	}
	if len(rw) != 1 {
		return w, errors.Join(append(errs, fmt.Errorf("injector must mount exactly one volume read-write, found %d", len(rw)))...)
	}
	w.volume = aws.ToString(rw[0].SourceVolume)
	dir := aws.ToString(rw[0].ContainerPath)
	if vol, ok := volumes[w.volume]; !ok {
		fail("volume %q mounted by the injector is not declared in volumes", w.volume)
	} else if err := checkTaskScoped(vol); err != nil {
		fail("volume %q: %w", w.volume, err)
	}

	env, err := envMap(inj)
	if err != nil {
		return w, errors.Join(append(errs, err)...)
	}
	if got := env["INJECTOR_DIR"]; got != dir {
		fail("INJECTOR_DIR=%q, want the injector's mount containerPath %q", got, dir)
	}
	spec, ok := env["INJECTOR_SPEC"]
	if !ok {
		fail("injector has no INJECTOR_SPEC")
	} else if w.spec, err = parseSpec(spec); err != nil {
		fail("INJECTOR_SPEC: %w", err)
	}

	w.region = env["AWS_REGION"]
	if w.region == "" && inj.LogConfiguration != nil {
		w.region = inj.LogConfiguration.Options["awslogs-region"]
	}
	if w.region == "" {
		fail("cannot tell the task's region: set AWS_REGION on the injector or awslogs-region")
	}
	role, err := parseARN(aws.ToString(td.TaskRoleArn))
	if err != nil {
		fail("taskRoleArn: %w", err)
	} else {
		w.account, w.partition = role.account, role.partition
	}
	if exec := aws.ToString(td.ExecutionRoleArn); exec != "" {
		if a, err := parseARN(exec); err != nil {
			fail("executionRoleArn: %w", err)
		} else if a.account != w.account {
			fail("executionRoleArn account %s differs from taskRoleArn account %s", a.account, w.account)
		}
	}

	// Refresh mode keeps the injector running and reports through its
	// health check, so the app waits for HEALTHY instead of SUCCESS.
	_, w.refresh = env["INJECTOR_REFRESH_INTERVAL"]
	condition := ecstypes.ContainerConditionSuccess
	if w.refresh {
		condition = ecstypes.ContainerConditionHealthy
		if err := checkHealthCheck(inj); err != nil {
			fail("refresh mode: %w", err)
		}
	}
	dependents := 0
	for _, c := range td.ContainerDefinitions {
		name := containerName(c)
		if name == injectorName || !isEssential(c) {
			continue
		}
		dependents++
		if !slices.ContainsFunc(c.DependsOn, func(d ecstypes.ContainerDependency) bool {
			return aws.ToString(d.ContainerName) == injectorName && d.Condition == condition
		}) {
			fail("container %q must dependsOn %s with condition %s", name, injectorName, condition)
		}
		mounted := false
		for _, m := range c.MountPoints {
			if aws.ToString(m.SourceVolume) != w.volume {
				continue
			}
			mounted = true
			if !aws.ToBool(m.ReadOnly) {
				fail("container %q mounts %q read-write; want readOnly=true", name, w.volume)
			}
		}
		if !mounted {
			fail("container %q does not mount the secrets volume %q", name, w.volume)
		}
	}
	if dependents == 0 {
		fail("no essential container consumes the injector's output")
	}
	return w, errors.Join(errs...)
}

// checkHealthCheck wants the injector's health subcommand, run by the
// image's own entrypoint (the image has no shell), as its healthCheck.
func checkHealthCheck(inj ecstypes.ContainerDefinition) error {
	entrypoint, err := imageEntrypoint()
	if err != nil {
		return err
	}
	want := []string{"CMD", entrypoint, "health"}
	if inj.HealthCheck == nil || !slices.Equal(inj.HealthCheck.Command, want) {
		return fmt.Errorf("the injector needs healthCheck.command %q", want)
	}
	return nil
}

// checkTaskScoped accepts volumes whose data lives and dies with the task:
// a bind mount without a host path, a volume configured at launch (Amazon
// EBS, deleted with the task by default) or a task-scoped Docker volume.
func checkTaskScoped(v ecstypes.Volume) error {
	switch {
	case aws.ToBool(v.ConfiguredAtLaunch):
		return nil
	case v.DockerVolumeConfiguration != nil:
		if v.DockerVolumeConfiguration.Scope != ecstypes.ScopeTask {
			return errors.New("docker volume must have scope task")
		}
		return nil
	case v.EfsVolumeConfiguration != nil, v.FsxWindowsFileServerVolumeConfiguration != nil, v.S3filesVolumeConfiguration != nil:
		return errors.New("shared file systems outlive the task; use a task-scoped volume")
	case v.Host != nil && aws.ToString(v.Host.SourcePath) != "":
		return errors.New("host sourcePath outlives the task; omit host")
	default:
		return nil
	}
}

// parseSpec checks INJECTOR_SPEC with the injector's own spec parser and
// planner (the same validation the injector runs before any AWS call) and
// returns the items for the policy checks.
func parseSpec(raw string) ([]specItem, error) {
	items, err := plan.ParseSpec([]byte(raw))
	if err != nil {
		return nil, err
	}
	if _, err := plan.Build(items); err != nil {
		return nil, err
	}
	out := make([]specItem, len(items))
	for i, it := range items {
		out[i] = specItem{From: it.From, Path: it.Path, Format: string(it.Format), Inputs: it.Inputs, Template: it.Template, Registry: it.Registry}
	}
	return out, nil
}

// refs returns every secret reference an item reads.
func (it specItem) refs() []string {
	var out []string
	if it.From != "" {
		out = append(out, it.From)
	}
	for _, k := range sortedKeys(it.Inputs) {
		out = append(out, it.Inputs[k])
	}
	return out
}

// ---------------------------------------------------------------------------
// ARNs and the access each reference needs.
// ---------------------------------------------------------------------------

type arn struct {
	partition, service, region, account, resource string
}

func parseARN(s string) (arn, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return arn{}, fmt.Errorf("%q is not an ARN", s)
	}
	return arn{partition: parts[1], service: parts[2], region: parts[3], account: parts[4], resource: parts[5]}, nil
}

// access is an IAM action on a resource ARN.
type access struct {
	action, resource string
}

// requiredAccess maps an injector reference to the IAM permission the
// injector needs for it.
func requiredAccess(ref string, w wiring) (access, error) {
	switch {
	case strings.HasPrefix(ref, "arn:"):
		a, err := parseARN(ref)
		if err != nil {
			return access{}, err
		}
		switch a.service {
		case "secretsmanager":
			// arn:PART:secretsmanager:REGION:ACCOUNT:secret:NAME-SUFFIX[:json-key:version-stage:version-id]
			fields := strings.Split(ref, ":")
			if len(fields) < 7 || fields[5] != "secret" {
				return access{}, fmt.Errorf("%q is not a secret ARN", ref)
			}
			return access{"secretsmanager:GetSecretValue", strings.Join(fields[:7], ":")}, nil
		case "ssm":
			if !strings.HasPrefix(a.resource, "parameter/") {
				return access{}, fmt.Errorf("%q is not a parameter ARN", ref)
			}
			return access{"ssm:GetParameters", ref}, nil
		default:
			return access{}, fmt.Errorf("%q: unsupported service %q", ref, a.service)
		}
	case strings.HasPrefix(ref, "secretsmanager:"):
		name := strings.TrimPrefix(ref, "secretsmanager:")
		return access{"secretsmanager:GetSecretValue",
			fmt.Sprintf("arn:%s:secretsmanager:%s:%s:secret:%s-%s", w.partition, w.region, w.account, name, sampleSecretSuffix)}, nil
	case strings.HasPrefix(ref, "ssm:"):
		name := strings.TrimPrefix(strings.TrimPrefix(ref, "ssm:"), "/")
		return access{"ssm:GetParameters",
			fmt.Sprintf("arn:%s:ssm:%s:%s:parameter/%s", w.partition, w.region, w.account, name)}, nil
	case strings.HasPrefix(ref, "s3://"):
		loc, _, _ := strings.Cut(strings.TrimPrefix(ref, "s3://"), "?")
		bucket, key, ok := strings.Cut(loc, "/")
		if !ok || bucket == "" || key == "" {
			return access{}, fmt.Errorf("%q: want s3://bucket/key", ref)
		}
		return access{"s3:GetObject", fmt.Sprintf("arn:%s:s3:::%s/%s", w.partition, bucket, key)}, nil
	default:
		return access{}, fmt.Errorf("%q: unknown reference form", ref)
	}
}

// ---------------------------------------------------------------------------
// IAM policies.
// ---------------------------------------------------------------------------

// stringList is an IAM policy value that may be a string or a list.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

// statement is an identity-policy statement. NotAction, NotResource and
// Principal are deliberately absent, so strict decoding rejects them.
type statement struct {
	Sid       string
	Effect    string
	Action    stringList
	Resource  stringList
	Condition map[string]map[string]json.RawMessage
}

type policyDoc struct {
	Version   string
	Id        string
	Statement []statement
}

// exactKeys reports object keys that are not spelt exactly as one of allowed
// (encoding/json alone would accept "version" for "Version").
func exactKeys(raw json.RawMessage, allowed ...string) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return fmt.Errorf("want a JSON object: %w", err)
	}
	var errs []error
	for _, k := range sortedKeys(obj) {
		if !slices.Contains(allowed, k) {
			errs = append(errs, fmt.Errorf("unexpected key %q", k))
		}
	}
	return errors.Join(errs...)
}

func parsePolicy(data []byte) (*policyDoc, error) {
	if err := exactKeys(data, "Version", "Id", "Statement"); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	var top struct{ Statement []json.RawMessage }
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	for i, st := range top.Statement {
		if err := exactKeys(st, "Sid", "Effect", "Action", "Resource", "Condition"); err != nil {
			return nil, fmt.Errorf("statement %d: %w", i, err)
		}
	}
	var doc policyDoc
	if err := decodeStrict(data, &doc); err != nil {
		return nil, err
	}
	return &doc, nil
}

func loadPolicy(name string) (*policyDoc, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	doc, err := parsePolicy(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return doc, nil
}

// mayUseResourceStar reports the only actions that may be granted on "*":
// BatchGetSecretValue has no resource-level permissions (each secret is then
// authorized again through GetSecretValue).
func mayUseResourceStar(action string) bool {
	return strings.EqualFold(action, "secretsmanager:BatchGetSecretValue")
}

// isRegionalService reports the services whose ARNs carry a region and
// account.
func isRegionalService(service string) bool {
	switch service {
	case "secretsmanager", "ssm", "kms":
		return true
	default:
		return false
	}
}

// checkPolicy applies the least-privilege rules to one policy. account,
// region and partition are those of the matching task definition.
func checkPolicy(doc *policyDoc, partition, account, region string) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if doc.Version != "2012-10-17" {
		fail("Version %q, want 2012-10-17", doc.Version)
	}
	if len(doc.Statement) == 0 {
		fail("no statements")
	}
	sids := map[string]bool{}
	for i, st := range doc.Statement {
		at := fmt.Sprintf("statement %d (%s)", i, st.Sid)
		if st.Sid != "" {
			if sids[st.Sid] {
				fail("%s: duplicate Sid", at)
			}
			sids[st.Sid] = true
		}
		if st.Effect != "Allow" && st.Effect != "Deny" {
			fail("%s: Effect %q", at, st.Effect)
		}
		if len(st.Action) == 0 || len(st.Resource) == 0 {
			fail("%s: needs Action and Resource", at)
		}
		for _, act := range st.Action {
			svc, name, ok := strings.Cut(act, ":")
			switch {
			case act == "*":
				fail("%s: Action \"*\"", at)
			case !ok || svc == "" || name == "":
				fail("%s: malformed action %q", at, act)
			case name == "*":
				fail("%s: service-wide action %q", at, act)
			}
		}
		for _, res := range st.Resource {
			if res == "*" {
				for _, act := range st.Action {
					if !mayUseResourceStar(act) {
						fail("%s: %s granted on Resource \"*\"", at, act)
					}
				}
				continue
			}
			a, err := parseARN(res)
			if err != nil {
				fail("%s: %w", at, err)
				continue
			}
			if a.partition != partition {
				fail("%s: %s: partition %q, want %q", at, res, a.partition, partition)
			}
			if isRegionalService(a.service) && (a.account != account || a.region != region) {
				fail("%s: %s: want region %s and account %s of the task definition", at, res, region, account)
			}
		}
		if hasAction(st, "kms:Decrypt") {
			if slices.Contains(st.Resource, "*") {
				fail("%s: kms:Decrypt must name the key", at)
			}
			if !hasConditionKey(st, "kms:ViaService") {
				fail("%s: kms:Decrypt needs a kms:ViaService condition", at)
			}
		}
		if hasAction(st, "kms:CreateGrant") && !conditionIsTrue(st, "Bool", "kms:GrantIsForAWSResource") {
			fail("%s: kms:CreateGrant needs Bool kms:GrantIsForAWSResource=true", at)
		}
	}
	return errors.Join(errs...)
}

func hasAction(st statement, action string) bool {
	return slices.ContainsFunc(st.Action, func(a string) bool { return strings.EqualFold(a, action) })
}

func hasConditionKey(st statement, key string) bool {
	for _, byKey := range st.Condition {
		for k := range byKey {
			if strings.EqualFold(k, key) {
				return true
			}
		}
	}
	return false
}

func conditionIsTrue(st statement, operator, key string) bool {
	raw, ok := st.Condition[operator][key]
	if !ok {
		return false
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		v, err := strconv.ParseBool(s)
		return err == nil && v
	}
	return false
}

// iamPattern compiles an IAM wildcard pattern ("*" any run, "?" one
// character). Actions match case-insensitively, ARNs case-sensitively.
func iamPattern(p string, foldCase bool) *regexp.Regexp {
	q := regexp.QuoteMeta(p)
	q = strings.ReplaceAll(q, `\*`, ".*")
	q = strings.ReplaceAll(q, `\?`, ".")
	if foldCase {
		q = "(?i)" + q
	}
	return regexp.MustCompile("^" + q + "$")
}

// allows reports whether some Allow statement grants action on resource.
// Conditions only narrow a grant, so they are not evaluated here.
func (doc *policyDoc) allows(want access) bool {
	for _, st := range doc.Statement {
		if st.Effect != "Allow" {
			continue
		}
		actionOK := slices.ContainsFunc(st.Action, func(a string) bool { return iamPattern(a, true).MatchString(want.action) })
		resourceOK := slices.ContainsFunc(st.Resource, func(r string) bool { return iamPattern(r, false).MatchString(want.resource) })
		if actionOK && resourceOK {
			return true
		}
	}
	return false
}

// checkCoverage verifies the task-role policy grants every read the spec
// makes.
func checkCoverage(doc *policyDoc, w wiring) error {
	var errs []error
	for i, it := range w.spec {
		for _, ref := range it.refs() {
			need, err := requiredAccess(ref, w)
			if err != nil {
				errs = append(errs, fmt.Errorf("item %d: %w", i, err))
				continue
			}
			if !doc.allows(need) {
				errs = append(errs, fmt.Errorf("item %d: policy does not allow %s on %s", i, need.action, need.resource))
			}
			// Refresh mode checks secrets for a new version with DescribeSecret.
			if describe := (access{"secretsmanager:DescribeSecret", need.resource}); w.refresh &&
				need.action == "secretsmanager:GetSecretValue" && !doc.allows(describe) {
				errs = append(errs, fmt.Errorf("item %d: refresh mode: policy does not allow %s on %s", i, describe.action, describe.resource))
			}
		}
	}
	return errors.Join(errs...)
}

// infraKMSActions are what the Amazon ECS infrastructure role needs on a
// customer managed key to create and attach an encrypted EBS volume.
func infraKMSActions() []string {
	return []string{
		"kms:CreateGrant",
		"kms:DescribeKey",
		"kms:GenerateDataKeyWithoutPlaintext",
		"kms:ReEncryptFrom",
		"kms:ReEncryptTo",
	}
}

// ---------------------------------------------------------------------------
// Tests over the example files.
// ---------------------------------------------------------------------------

func TestTaskDefinitions(t *testing.T) {
	for _, f := range filesOfKind(t, kindTaskDef) {
		t.Run(f.name, func(t *testing.T) {
			td, raw, err := loadTaskDef(f.name)
			if err != nil {
				t.Fatal(err)
			}
			body, err := validateTaskDef(t.Context(), td)
			if err != nil {
				t.Fatalf("RegisterTaskDefinition: %v", err)
			}
			if err := checkWireForm(raw, body); err != nil {
				t.Errorf("file does not match the ECS wire form:\n%v", err)
			}
			w, err := checkWiring(td)
			if err != nil {
				t.Fatalf("injector wiring:\n%v", err)
			}

			policyName := f.example + taskRolePolicySuffix
			doc, err := loadPolicy(policyName)
			if err != nil {
				t.Fatalf("task-role policy for %s: %v", f.name, err)
			}
			if err := checkCoverage(doc, w); err != nil {
				t.Errorf("%s does not cover INJECTOR_SPEC:\n%v", policyName, err)
			}
		})
	}
}

func TestRunTaskInputs(t *testing.T) {
	for _, f := range filesOfKind(t, kindRunTask) {
		t.Run(f.name, func(t *testing.T) {
			in, raw, err := loadRunTask(f.name)
			if err != nil {
				t.Fatal(err)
			}
			body, err := validateRunTask(t.Context(), in)
			if err != nil {
				t.Fatalf("RunTask: %v", err)
			}
			if err := checkWireForm(raw, body); err != nil {
				t.Errorf("file does not match the ECS wire form:\n%v", err)
			}

			td, _, err := loadTaskDef(f.example + ".json")
			if err != nil {
				t.Fatalf("matching task definition: %v", err)
			}
			w, err := checkWiring(td)
			if err != nil {
				t.Fatalf("matching task definition wiring: %v", err)
			}
			if err := checkRunTaskMatches(in, td, w); err != nil {
				t.Errorf("RunTask input does not fit %s.json:\n%v", f.example, err)
			}

			for _, vc := range in.VolumeConfigurations {
				ebs := vc.ManagedEBSVolume
				if ebs == nil || ebs.KmsKeyId == nil {
					continue
				}
				policyName := f.example + infraPolicySuffix
				doc, err := loadPolicy(policyName)
				if err != nil {
					t.Fatalf("infrastructure-role policy: %v", err)
				}
				for _, action := range infraKMSActions() {
					if !doc.allows(access{action, aws.ToString(ebs.KmsKeyId)}) {
						t.Errorf("%s does not allow %s on %s", policyName, action, aws.ToString(ebs.KmsKeyId))
					}
				}
			}
		})
	}
}

// checkRunTaskMatches cross-checks a RunTask input with the task definition
// it launches.
func checkRunTaskMatches(in *ecs.RunTaskInput, td *ecs.RegisterTaskDefinitionInput, w wiring) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	family, _, _ := strings.Cut(aws.ToString(in.TaskDefinition), ":")
	if family != aws.ToString(td.Family) {
		fail("taskDefinition %q, want family %q", aws.ToString(in.TaskDefinition), aws.ToString(td.Family))
	}
	if in.LaunchType != "" && !slices.Contains(td.RequiresCompatibilities, ecstypes.Compatibility(in.LaunchType)) {
		fail("launchType %s not in requiresCompatibilities %v", in.LaunchType, td.RequiresCompatibilities)
	}
	if td.NetworkMode == ecstypes.NetworkModeAwsvpc && (in.NetworkConfiguration == nil || in.NetworkConfiguration.AwsvpcConfiguration == nil) {
		fail("awsvpc task definition needs networkConfiguration.awsvpcConfiguration")
	}

	atLaunch := map[string]bool{}
	for _, v := range td.Volumes {
		if aws.ToBool(v.ConfiguredAtLaunch) {
			atLaunch[aws.ToString(v.Name)] = true
		}
	}
	configured := map[string]bool{}
	for _, vc := range in.VolumeConfigurations {
		name := aws.ToString(vc.Name)
		configured[name] = true
		if !atLaunch[name] {
			fail("volumeConfigurations %q is not a configuredAtLaunch volume of the task definition", name)
		}
		ebs := vc.ManagedEBSVolume
		if ebs == nil {
			fail("volume %q: no managedEBSVolume", name)
			continue
		}
		if name == w.volume && !aws.ToBool(ebs.Encrypted) {
			fail("volume %q holds secrets and must set encrypted=true", name)
		}
		if key := aws.ToString(ebs.KmsKeyId); key != "" {
			a, err := parseARN(key)
			switch {
			case err != nil:
				fail("volume %q: kmsKeyId must be a full key ARN so the policy can be checked: %w", name, err)
			case a.service != "kms" || a.account != w.account || a.region != w.region:
				fail("volume %q: kmsKeyId %s not a KMS key of account %s in %s", name, key, w.account, w.region)
			}
		} else if name == w.volume {
			fail("volume %q: set kmsKeyId to a customer managed key", name)
		}
		if role, err := parseARN(aws.ToString(ebs.RoleArn)); err != nil {
			fail("volume %q: roleArn: %w", name, err)
		} else if role.account != w.account {
			fail("volume %q: roleArn account %s, want %s", name, role.account, w.account)
		}
	}
	for _, name := range sortedKeys(atLaunch) {
		if !configured[name] {
			fail("configuredAtLaunch volume %q has no volumeConfigurations entry", name)
		}
	}
	return errors.Join(errs...)
}

func TestIAMPolicies(t *testing.T) {
	for _, f := range filesOfKind(t, kindPolicy) {
		t.Run(f.name, func(t *testing.T) {
			if !strings.HasSuffix(f.name, taskRolePolicySuffix) && !strings.HasSuffix(f.name, infraPolicySuffix) {
				t.Fatalf("policy files end in %s or %s", taskRolePolicySuffix, infraPolicySuffix)
			}
			doc, err := loadPolicy(f.name)
			if err != nil {
				t.Fatal(err)
			}
			td, _, err := loadTaskDef(f.example + ".json")
			if err != nil {
				t.Fatalf("every policy belongs to a task definition: %v", err)
			}
			w, err := checkWiring(td)
			if err != nil {
				t.Fatalf("matching task definition wiring: %v", err)
			}
			if err := checkPolicy(doc, w.partition, w.account, w.region); err != nil {
				t.Errorf("least privilege:\n%v", err)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// The checkers must also fail on bad input.
// ---------------------------------------------------------------------------

func TestCheckersRejectBadTaskDefinitions(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		wantErr string // substring of the error from the first failing stage
	}{
		{
			name:    "unknown field",
			json:    `{"family":"f","containerDefinitions":[{"name":"a","image":"i","essentiall":true}]}`,
			wantErr: "unknown field",
		},
		{
			name:    "unknown enum value",
			json:    `{"family":"f","networkMode":"awsvpcc","containerDefinitions":[{"name":"a","image":"i"}]}`,
			wantErr: "not a known NetworkMode",
		},
		{
			name:    "trailing data",
			json:    `{"family":"f","containerDefinitions":[]} {}`,
			wantErr: "trailing data",
		},
		{
			name:    "missing required family",
			json:    `{"containerDefinitions":[{"name":"a","image":"i"}]}`,
			wantErr: "Family",
		},
		{
			name:    "missing required containerDefinitions",
			json:    `{"family":"f"}`,
			wantErr: "ContainerDefinitions",
		},
		{
			name:    "mis-cased key",
			json:    `{"family":"f","containerDefinitions":[{"name":"a","image":"i","Essential":true}]}`,
			wantErr: `spelt "essential"`,
		},
		{
			name:    "mis-cased key with zero value",
			json:    `{"family":"f","containerDefinitions":[{"name":"a","image":"i","ReadonlyRootFilesystem":false}]}`,
			wantErr: `spelt "readonlyRootFilesystem"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := func() error {
				var in ecs.RegisterTaskDefinitionInput
				if err := decodeStrict([]byte(tc.json), &in); err != nil {
					return err
				}
				body, err := validateTaskDef(t.Context(), &in)
				if err != nil {
					return err
				}
				return checkWireForm([]byte(tc.json), body)
			}()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestCheckersRejectInvalidRunTask(t *testing.T) {
	var in ecs.RunTaskInput
	if err := decodeStrict([]byte(`{"cluster":"c","volumeConfigurations":[{"name":"v"}]}`), &in); err != nil {
		t.Fatal(err)
	}
	_, err := validateRunTask(t.Context(), &in)
	if err == nil || !strings.Contains(err.Error(), "TaskDefinition") {
		t.Fatalf("got %v, want a missing TaskDefinition parameter error", err)
	}
}

// baseTaskDef returns a minimal, correctly wired task definition.
func baseTaskDef() *ecs.RegisterTaskDefinitionInput {
	spec := `[{"from":"ssm:/app/key","path":"key"}]`
	return &ecs.RegisterTaskDefinitionInput{
		Family:      aws.String("f"),
		TaskRoleArn: aws.String("arn:aws:iam::111122223333:role/task"),
		Volumes:     []ecstypes.Volume{{Name: aws.String("secrets")}},
		ContainerDefinitions: []ecstypes.ContainerDefinition{
			{
				Name:                   aws.String(injectorName),
				Image:                  aws.String("injector"),
				Essential:              aws.Bool(false),
				User:                   aws.String("65532:65532"),
				ReadonlyRootFilesystem: aws.Bool(true),
				LogConfiguration:       &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs},
				Environment: []ecstypes.KeyValuePair{
					{Name: aws.String("AWS_REGION"), Value: aws.String("us-east-1")},
					{Name: aws.String("INJECTOR_DIR"), Value: aws.String("/secrets")},
					{Name: aws.String("INJECTOR_SPEC"), Value: aws.String(spec)},
				},
				MountPoints: []ecstypes.MountPoint{{SourceVolume: aws.String("secrets"), ContainerPath: aws.String("/secrets"), ReadOnly: aws.Bool(false)}},
			},
			{
				Name:        aws.String("app"),
				Image:       aws.String("app"),
				DependsOn:   []ecstypes.ContainerDependency{{ContainerName: aws.String(injectorName), Condition: ecstypes.ContainerConditionSuccess}},
				MountPoints: []ecstypes.MountPoint{{SourceVolume: aws.String("secrets"), ContainerPath: aws.String("/run/secrets"), ReadOnly: aws.Bool(true)}},
			},
		},
	}
}

func setEnv(c *ecstypes.ContainerDefinition, name, value string) {
	for i := range c.Environment {
		if aws.ToString(c.Environment[i].Name) == name {
			c.Environment[i].Value = aws.String(value)
			return
		}
	}
	c.Environment = append(c.Environment, ecstypes.KeyValuePair{Name: aws.String(name), Value: aws.String(value)})
}

func TestCheckWiring(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(td *ecs.RegisterTaskDefinitionInput)
		wantErr string // empty: must pass
	}{
		{name: "base is valid", mutate: func(*ecs.RegisterTaskDefinitionInput) {}},
		{
			name:    "injector essential",
			mutate:  func(td *ecs.RegisterTaskDefinitionInput) { td.ContainerDefinitions[0].Essential = nil },
			wantErr: "essential=false",
		},
		{
			name: "two injectors",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				td.ContainerDefinitions = append(td.ContainerDefinitions, td.ContainerDefinitions[0])
			},
			wantErr: "exactly one container",
		},
		{
			name:    "writable root filesystem",
			mutate:  func(td *ecs.RegisterTaskDefinitionInput) { td.ContainerDefinitions[0].ReadonlyRootFilesystem = nil },
			wantErr: "readonlyRootFilesystem",
		},
		{
			name:    "root user",
			mutate:  func(td *ecs.RegisterTaskDefinitionInput) { td.ContainerDefinitions[0].User = aws.String("0:0") },
			wantErr: "non-root",
		},
		{
			name:    "no user",
			mutate:  func(td *ecs.RegisterTaskDefinitionInput) { td.ContainerDefinitions[0].User = nil },
			wantErr: "non-root",
		},
		{
			name:    "app without dependsOn",
			mutate:  func(td *ecs.RegisterTaskDefinitionInput) { td.ContainerDefinitions[1].DependsOn = nil },
			wantErr: "dependsOn",
		},
		{
			name: "app depends on START only",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				td.ContainerDefinitions[1].DependsOn[0].Condition = ecstypes.ContainerConditionStart
			},
			wantErr: "dependsOn",
		},
		{
			name:    "app mounts read-write",
			mutate:  func(td *ecs.RegisterTaskDefinitionInput) { td.ContainerDefinitions[1].MountPoints[0].ReadOnly = nil },
			wantErr: "readOnly=true",
		},
		{
			name:    "app does not mount the volume",
			mutate:  func(td *ecs.RegisterTaskDefinitionInput) { td.ContainerDefinitions[1].MountPoints = nil },
			wantErr: "does not mount",
		},
		{
			name:    "volume not declared",
			mutate:  func(td *ecs.RegisterTaskDefinitionInput) { td.Volumes = nil },
			wantErr: "not declared",
		},
		{
			name: "host path volume",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				td.Volumes[0].Host = &ecstypes.HostVolumeProperties{SourcePath: aws.String("/var/secrets")}
			},
			wantErr: "outlives the task",
		},
		{
			name: "INJECTOR_DIR differs from mount",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_DIR", "/other")
			},
			wantErr: "INJECTOR_DIR",
		},
		{
			name: "spec not a list",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_SPEC", `{"from":"x"}`)
			},
			wantErr: "invalid spec",
		},
		{
			name: "spec path escapes",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_SPEC", `[{"from":"ssm:/a","path":"x/../../etc/passwd"}]`)
			},
			wantErr: "stay inside",
		},
		{
			name: "spec path with dot-dot that stays inside is cleaned",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_SPEC", `[{"from":"ssm:/a","path":"a/../b"}]`)
			},
			wantErr: "",
		},
		{
			name: "spec absolute path",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_SPEC", `[{"from":"ssm:/a","path":"/etc/passwd"}]`)
			},
			wantErr: "relative",
		},
		{
			name: "spec item without source",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_SPEC", `[{"path":"a"}]`)
			},
			wantErr: "from is required",
		},
		{
			name: "refresh mode wants HEALTHY",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_REFRESH_INTERVAL", "5m")
				td.ContainerDefinitions[0].HealthCheck = &ecstypes.HealthCheck{Command: []string{"CMD", "/no/such/injector", "health"}}
			},
			wantErr: "condition HEALTHY",
		},
		{
			name: "refresh mode needs the health check",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_REFRESH_INTERVAL", "5m")
				td.ContainerDefinitions[1].DependsOn[0].Condition = ecstypes.ContainerConditionHealthy
			},
			wantErr: "healthCheck.command",
		},
		{
			name: "spec registry format without registry",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_SPEC", `[{"from":"secretsmanager:r","path":"config.json","format":"dockerconfigjson"}]`)
			},
			wantErr: "needs registry",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			td := baseTaskDef()
			tc.mutate(td)
			_, err := checkWiring(td)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestCheckPolicy(t *testing.T) {
	const key = "arn:aws:kms:us-east-1:111122223333:key/k"
	tests := []struct {
		name    string
		policy  string
		wantErr string // empty: must pass
	}{
		{
			name:   "least privilege",
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:GetParameters","Resource":"arn:aws:ssm:us-east-1:111122223333:parameter/a"},{"Effect":"Allow","Action":"secretsmanager:BatchGetSecretValue","Resource":"*"}]}`,
		},
		{
			name:    "old version",
			policy:  `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/k"}]}`,
			wantErr: "Version",
		},
		{
			name:    "action star",
			policy:  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/k"}]}`,
			wantErr: `Action "*"`,
		},
		{
			name:    "service-wide action",
			policy:  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"arn:aws:s3:::b/k"}]}`,
			wantErr: "service-wide",
		},
		{
			name:    "resource star for a resource-level action",
			policy:  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`,
			wantErr: `on Resource "*"`,
		},
		{
			name:    "kms decrypt without ViaService",
			policy:  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"` + key + `"}]}`,
			wantErr: "kms:ViaService",
		},
		{
			name:    "create grant without GrantIsForAWSResource",
			policy:  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateGrant","Resource":"` + key + `"}]}`,
			wantErr: "GrantIsForAWSResource",
		},
		{
			name:    "other account",
			policy:  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:GetParameters","Resource":"arn:aws:ssm:us-east-1:444455556666:parameter/a"}]}`,
			wantErr: "account 111122223333",
		},
		{
			name:    "NotAction",
			policy:  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`,
			wantErr: `unexpected key "NotAction"`,
		},
		{
			name:    "mis-cased element",
			policy:  `{"version":"2012-10-17","Statement":[]}`,
			wantErr: `unexpected key "version"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := func() error {
				doc, err := parsePolicy([]byte(tc.policy))
				if err != nil {
					return err
				}
				return checkPolicy(doc, "aws", "111122223333", "us-east-1")
			}()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestRequiredAccess(t *testing.T) {
	w := wiring{region: "us-east-1", account: "111122223333", partition: "aws"}
	tests := []struct {
		ref  string
		want access
	}{
		{
			ref:  "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf:password::",
			want: access{"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf"},
		},
		{
			ref:  "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf",
			want: access{"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf"},
		},
		{
			ref:  "secretsmanager:app/api-key",
			want: access{"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/api-key-" + sampleSecretSuffix},
		},
		{
			ref:  "arn:aws:ssm:eu-west-1:111122223333:parameter/app/key",
			want: access{"ssm:GetParameters", "arn:aws:ssm:eu-west-1:111122223333:parameter/app/key"},
		},
		{
			ref:  "ssm:/app/key",
			want: access{"ssm:GetParameters", "arn:aws:ssm:us-east-1:111122223333:parameter/app/key"},
		},
		{
			ref:  "s3://bucket/dir/key.pem",
			want: access{"s3:GetObject", "arn:aws:s3:::bucket/dir/key.pem"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			got, err := requiredAccess(tc.ref, w)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"vault:/x", "s3://bucket", "arn:aws:s3:::bucket/key", "arn:aws:ssm:us-east-1:111122223333:document/x"} {
		if _, err := requiredAccess(bad, w); err == nil {
			t.Errorf("requiredAccess(%q): want an error", bad)
		}
	}
}

// ---------------------------------------------------------------------------
// Dockerfile.
// ---------------------------------------------------------------------------

type instruction struct {
	cmd  string // upper-cased keyword
	args string
}

type stage struct {
	from  string // image reference
	name  string // "AS" name, if any
	instr []instruction
}

// parseDockerfile splits a Dockerfile into stages. It handles comments and
// backslash continuations, which is all this repository's Dockerfile uses.
func parseDockerfile(src string) ([]stage, error) {
	var logical []string
	var cur strings.Builder
	for line := range strings.Lines(src) {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if rest, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(rest)
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(trimmed)
		logical = append(logical, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		return nil, errors.New("dangling line continuation at end of file")
	}

	var stages []stage
	for _, l := range logical {
		cmd, args, _ := strings.Cut(l, " ")
		cmd = strings.ToUpper(cmd)
		args = strings.TrimSpace(args)
		if cmd == "FROM" {
			var s stage
			fields := strings.Fields(args)
			for i := 0; i < len(fields); i++ {
				switch {
				case strings.HasPrefix(fields[i], "--"):
				case strings.EqualFold(fields[i], "AS") && i+1 < len(fields):
					s.name = fields[i+1]
					i++
				case s.from == "":
					s.from = fields[i]
				}
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if cmd == "ARG" {
				continue // global build arguments may precede FROM
			}
			return nil, fmt.Errorf("%s before the first FROM", cmd)
		}
		last := &stages[len(stages)-1]
		last.instr = append(last.instr, instruction{cmd: cmd, args: args})
	}
	if len(stages) == 0 {
		return nil, errors.New("no FROM")
	}
	return stages, nil
}

// imageEntrypoint is argv[0] of the final stage's ENTRYPOINT: where the
// injector is in the image.
func imageEntrypoint() (string, error) {
	src, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		return "", err
	}
	stages, err := parseDockerfile(string(src))
	if err != nil {
		return "", err
	}
	var argv []string
	if eps := stages[len(stages)-1].find("ENTRYPOINT"); len(eps) > 0 {
		_ = json.Unmarshal([]byte(eps[len(eps)-1]), &argv)
	}
	if len(argv) == 0 {
		return "", errors.New("the Dockerfile has no exec-form ENTRYPOINT")
	}
	return argv[0], nil
}

func (s stage) find(cmd string) []string {
	var out []string
	for _, in := range s.instr {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

var numericUser = regexp.MustCompile(`^([0-9]+)(?::([0-9]+))?$`)

type dockerfileCheck struct {
	name  string
	check func(stages []stage) error
}

// dockerfileChecks are the properties the Dockerfile must keep.
func dockerfileChecks() []dockerfileCheck {
	return []dockerfileCheck{
		{"multi-stage with a golang:1.26 build stage", func(st []stage) error {
			if len(st) < 2 {
				return fmt.Errorf("%d FROM lines, want a multi-stage build", len(st))
			}
			if st[0].from != "golang:1.26" || st[0].name == "" {
				return fmt.Errorf("first stage FROM %q AS %q, want a named golang:1.26 stage", st[0].from, st[0].name)
			}
			return nil
		}},
		{"build stage disables cgo", func(st []stage) error {
			for _, s := range st[:len(st)-1] {
				for _, in := range s.instr {
					if (in.cmd == "ENV" || in.cmd == "RUN" || in.cmd == "ARG") && strings.Contains(in.args, "CGO_ENABLED=0") {
						return nil
					}
				}
			}
			return errors.New("no CGO_ENABLED=0 in a build stage")
		}},
		{"go build -trimpath -ldflags=\"-s -w\" ./cmd/injector", func(st []stage) error {
			for _, s := range st[:len(st)-1] {
				for _, run := range s.find("RUN") {
					if strings.Contains(run, "go build") && strings.Contains(run, "-trimpath") &&
						(strings.Contains(run, `-ldflags="-s -w"`) || strings.Contains(run, `-ldflags='-s -w'`)) &&
						strings.Contains(run, "./cmd/injector") {
						return nil
					}
				}
			}
			return errors.New(`no RUN go build -trimpath -ldflags="-s -w" ... ./cmd/injector in a build stage`)
		}},
		{"final stage is distroless static or scratch", func(st []stage) error {
			final := st[len(st)-1]
			switch {
			case strings.HasPrefix(final.from, "gcr.io/distroless/static"):
				return nil
			case final.from == "scratch":
				copies := strings.Join(final.find("COPY"), "\n")
				if !strings.Contains(copies, "ca-certificates") || !strings.Contains(copies, "/etc/passwd") {
					return errors.New("scratch image must COPY CA certificates and /etc/passwd")
				}
				return nil
			default:
				return fmt.Errorf("final stage FROM %q", final.from)
			}
		}},
		{"final stage has no shell steps", func(st []stage) error {
			if runs := st[len(st)-1].find("RUN"); len(runs) > 0 {
				return fmt.Errorf("RUN in the final stage (no shell there): %q", runs[0])
			}
			return nil
		}},
		{"final stage runs as a numeric non-root user", func(st []stage) error {
			users := st[len(st)-1].find("USER")
			if len(users) == 0 {
				return errors.New("no USER in the final stage")
			}
			last := users[len(users)-1]
			m := numericUser.FindStringSubmatch(last)
			if m == nil {
				return fmt.Errorf("USER %q is not numeric uid[:gid]", last)
			}
			if m[1] == "0" {
				return fmt.Errorf("USER %q is root", last)
			}
			return nil
		}},
		{"exec-form ENTRYPOINT", func(st []stage) error {
			eps := st[len(st)-1].find("ENTRYPOINT")
			if len(eps) == 0 {
				return errors.New("no ENTRYPOINT in the final stage")
			}
			var argv []string
			if err := json.Unmarshal([]byte(eps[len(eps)-1]), &argv); err != nil || len(argv) == 0 {
				return fmt.Errorf("ENTRYPOINT %q is not exec form", eps[len(eps)-1])
			}
			return nil
		}},
	}
}

func TestDockerfile(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	stages, err := parseDockerfile(string(src))
	if err != nil {
		t.Fatalf("parse Dockerfile: %v", err)
	}
	for _, tc := range dockerfileChecks() {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.check(stages); err != nil {
				t.Error(err)
			}
		})
	}

	t.Run("dockerignore keeps .git out of the context", func(t *testing.T) {
		ignore, err := os.ReadFile(filepath.Join("..", "..", ".dockerignore"))
		if err != nil {
			t.Fatalf("read .dockerignore: %v", err)
		}
		if !slices.Contains(strings.Fields(string(ignore)), ".git") {
			t.Error(".dockerignore does not list .git")
		}
	})
}

func TestDockerfileChecksRejectBadDockerfiles(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		wantFails []string // names of dockerfileChecks that must fail
	}{
		{
			name: "single stage as root with cgo",
			src: "FROM golang:1.26\nRUN go build -o /injector ./cmd/injector\n" +
				"USER root\nENTRYPOINT /injector\n",
			wantFails: []string{
				"multi-stage with a golang:1.26 build stage",
				"final stage is distroless static or scratch",
				"final stage runs as a numeric non-root user",
				"exec-form ENTRYPOINT",
			},
		},
		{
			name: "scratch without certificates, uid 0",
			src: "FROM golang:1.26 AS build\nENV CGO_ENABLED=0\n" +
				"RUN go build -trimpath \\\n  -ldflags=\"-s -w\" ./cmd/injector\n" +
				"FROM scratch\nCOPY --from=build /go/bin/injector /injector\nUSER 0:0\nENTRYPOINT [\"/injector\"]\n",
			wantFails: []string{
				"final stage is distroless static or scratch",
				"final stage runs as a numeric non-root user",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stages, err := parseDockerfile(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			var failed []string
			for _, c := range dockerfileChecks() {
				if err := c.check(stages); err != nil {
					failed = append(failed, c.name)
				}
			}
			for _, want := range tc.wantFails {
				if !slices.Contains(failed, want) {
					t.Errorf("check %q passed, want it to fail (failed: %v)", want, failed)
				}
			}
		})
	}
}

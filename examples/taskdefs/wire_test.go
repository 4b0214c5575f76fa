package taskdefs_test

// Each example file must be a valid API request body: strict decoding into
// the SDK's input types, the SDK's own validation (offline), and a check
// that the file is spelt as the SDK sends it.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
)

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

// errTransport is what the fake HTTP client returns: reaching it means the
// SDK accepted the input (parameter validation runs before serialization and
// long before the transport).
var errTransport = errors.New("offline transport reached: input passed SDK validation")

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
// The checkers must fail on bad input.
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

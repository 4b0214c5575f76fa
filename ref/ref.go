// Package ref parses the references that name where a secret lives:
// Secrets Manager secrets, SSM parameters (one, or every one under a path),
// S3 objects and the injector's own environment variables.
//
// A reference is not secret: it may appear in logs and errors. What it
// points at is.
package ref

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// Source is the AWS service a reference points into.
type Source int

// Sources a reference can point into.
const (
	SecretsManager Source = iota + 1
	SSM
	S3
	// Env is an environment variable of the injector's own process (ECS
	// puts a container's `secrets` there): no AWS call reads it.
	Env
	// SSMPath is every SSM parameter under a path (ssm:/app/prod/).
	SSMPath
	// SecretsPrefix is every Secrets Manager secret whose name starts
	// with a prefix (secretsmanager:app/prod/*).
	SecretsPrefix
)

// Many reports whether a reference of the source names a set of values
// (an SSM path, a secret prefix), whose value is a JSON object from each
// one's name relative to the set to its value.
func (s Source) Many() bool { return s == SSMPath || s == SecretsPrefix }

func (s Source) String() string {
	switch s {
	case SecretsManager:
		return "secretsmanager"
	case SSM:
		return "ssm"
	case S3:
		return "s3"
	case Env:
		return "env"
	case SSMPath:
		return "ssm-path"
	case SecretsPrefix:
		return "secretsmanager-prefix"
	default:
		return fmt.Sprintf("source(%d)", int(s))
	}
}

// ErrInvalid is wrapped by every parse error.
var ErrInvalid = errors.New("invalid reference")

// Target identifies one value to fetch. Two references with the same Target
// are fetched once. Target is comparable and may be used as a map key.
type Target struct {
	Source Source
	// Region is the region named by an ARN or ?region=, "" for the default.
	Region string
	// ID is the secret id (name or ARN), the SSM parameter name or ARN
	// including any :version or :label selector, the S3 bucket, or the
	// environment variable's name.
	ID string
	// Key is the S3 object key.
	Key string
	// VersionID pins a Secrets Manager version id or an S3 object version.
	VersionID string
	// VersionStage pins a Secrets Manager staging label.
	VersionStage string
}

// Pinned reports whether a Secrets Manager target names a version or stage.
func (t Target) Pinned() bool { return t.VersionID != "" || t.VersionStage != "" }

// String renders the target for logs.
func (t Target) String() string {
	switch t.Source {
	case S3:
		s := "s3://" + t.ID + "/" + t.Key
		if t.VersionID != "" {
			s += "?versionId=" + t.VersionID
		}
		return s
	case SSMPath:
		return "ssm:" + t.ID
	case SecretsPrefix:
		if strings.HasPrefix(t.ID, "arn:") {
			return t.ID + "*"
		}
		return "secretsmanager:" + t.ID + "*"
	case SecretsManager:
		s := "secretsmanager:" + t.ID
		if t.Pinned() {
			s += "::" + t.VersionStage + ":" + t.VersionID
		}
		return s
	default:
		return t.Source.String() + ":" + t.ID
	}
}

// SplitSelector splits an SSM parameter id (a name or an ARN, as in
// Target.ID) into the parameter and its :version or :label selector, if
// any. Parameter names cannot hold a colon, so the selector follows the
// first one after an ARN's "parameter/".
func SplitSelector(id string) (parameter, selector string) {
	start := 0
	if strings.HasPrefix(id, "arn:") {
		if i := strings.Index(id, ":parameter/"); i >= 0 {
			start = i + len(":parameter/")
		}
	}
	if i := strings.IndexByte(id[start:], ':'); i >= 0 {
		return id[:start+i], id[start+i+1:]
	}
	return id, ""
}

// Account is the account an ARN target names, or "" for one written
// without an ARN.
func (t Target) Account() string {
	if a, err := arn.Parse(t.ID); err == nil {
		return a.AccountID
	}
	return ""
}

// Ref is a parsed reference: a target plus what to take from its value.
type Ref struct {
	Target
	// JSONKey selects one top-level key of a JSON secret (Secrets Manager only).
	JSONKey string
	// Pointer is a JSON pointer (RFC 6901) selecting any part of a JSON
	// value, written after '#': "/db/password", "/hosts/0". Tokens has it
	// unescaped.
	Pointer string
	// Raw is the reference as written.
	Raw string
}

// Parse parses one reference. Accepted forms:
//
//	arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME[:json-key:version-stage:version-id]
//	secretsmanager:NAME[:json-key:version-stage:version-id]
//	secretsmanager:PREFIX/* and arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:PREFIX/* (every secret whose name starts with PREFIX/)
//	arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME[:version|:label]
//	ssm:NAME[:version|:label]
//	ssm:/PATH/ and arn:PARTITION:ssm:REGION:ACCOUNT:parameter/PATH/ (every parameter under PATH)
//	s3://BUCKET/KEY[?versionId=ID][&region=REGION]
//	env:NAME
//
// Every form but an SSM path may end in #POINTER, a JSON pointer selecting
// part of the value; in a Secrets Manager reference it follows the name
// (NAME#POINTER), and the form with a json-key takes none: a '#' in its
// fields is part of them, as in ECS. No secret name, parameter name or
// label can hold a '#', and an S3 URL's '#' (its fragment) was refused.
func Parse(s string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("%w: empty", ErrInvalid)
	}
	if strings.ContainsFunc(s, isControl) {
		return Ref{}, fmt.Errorf("%w %q: control character", ErrInvalid, s)
	}
	r, err := parseScheme(s)
	if err != nil {
		return Ref{}, fmt.Errorf("%w %q: %w", ErrInvalid, s, err)
	}
	r.Raw = s
	return r, nil
}

// scheme is one way of writing a reference: its prefix and its parser,
// which gets the whole reference.
type scheme struct {
	prefix, form string
	parse        func(s string) (Ref, error)
}

// schemes are the ways of writing a reference. Adding a source is a parser
// file plus one line here (and its fetcher in package sources).
var schemes = []scheme{
	{"arn:", "arn:...", parseARN},
	{"secretsmanager:", "secretsmanager:NAME", func(s string) (Ref, error) {
		return parseSecret(strings.TrimPrefix(s, "secretsmanager:"), "")
	}},
	{"ssm:", "ssm:NAME", func(s string) (Ref, error) { return parseParameter(strings.TrimPrefix(s, "ssm:"), "") }},
	{"s3://", "s3://BUCKET/KEY", parseS3},
	{"env:", "env:NAME", parseEnv},
}

func parseScheme(s string) (Ref, error) {
	forms := make([]string, len(schemes))
	for i, sc := range schemes {
		if strings.HasPrefix(s, sc.prefix) {
			return sc.parse(s)
		}
		forms[i] = sc.form
	}
	return Ref{}, fmt.Errorf("want %s or %s", strings.Join(forms[:len(forms)-1], ", "), forms[len(forms)-1])
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func parseARN(s string) (Ref, error) {
	// arn:partition:service:region:account:resource; s starts with "arn:",
	// so the only way it fails to parse is too few fields.
	a, err := arn.Parse(s)
	if err != nil {
		return Ref{}, errors.New("ARN has too few fields")
	}
	resource, region := a.Resource, a.Region
	if a.Partition == "" || region == "" || a.AccountID == "" {
		return Ref{}, errors.New("ARN needs partition, region and account")
	}
	// Everything before the resource, which ends the ARN.
	prefix := strings.TrimSuffix(s, resource)
	switch service := a.Service; service {
	case "secretsmanager":
		rest, ok := strings.CutPrefix(resource, "secret:")
		if !ok {
			return Ref{}, errors.New(`secretsmanager ARN resource must start with "secret:"`)
		}
		return parseSecret(rest, prefix+"secret:", withRegion(region))
	case "ssm":
		rest, ok := strings.CutPrefix(resource, "parameter/")
		if !ok {
			return Ref{}, errors.New("ssm ARN resource must start with parameter/")
		}
		return parseParameter(rest, prefix+"parameter/", withRegion(region))
	default:
		return Ref{}, fmt.Errorf("ARN service %q is not secretsmanager or ssm", service)
	}
}

type option func(*Ref)

func withRegion(region string) option { return func(r *Ref) { r.Region = region } }

// parseSecret parses NAME[:json-key:version-stage:version-id]; idPrefix is
// prepended to NAME to form the secret id (the ARN prefix, or "").
func parseSecret(rest, idPrefix string, opts ...option) (Ref, error) {
	if i := strings.IndexAny(rest, ":#"); i >= 0 && rest[i] == '#' {
		r, err := parseSecret(rest[:i], idPrefix, opts...)
		if err != nil {
			return Ref{}, err
		}
		if r.Source == SecretsPrefix {
			return Ref{}, errors.New("a secret prefix takes no JSON pointer (#...): name the secret")
		}
		if err := r.setPointer(rest[i+1:]); err != nil {
			return Ref{}, err
		}
		return r, nil
	}
	if strings.Contains(rest, "*") {
		return parsePrefix(rest, idPrefix, opts...)
	}
	fields := strings.Split(rest, ":")
	switch len(fields) {
	case 1, 4:
	default:
		return Ref{}, errors.New("secret must be NAME or NAME:json-key:version-stage:version-id")
	}
	if fields[0] == "" {
		return Ref{}, errors.New("empty secret name")
	}
	r := Ref{Target: Target{Source: SecretsManager, ID: idPrefix + fields[0]}}
	if len(fields) == 4 {
		r.JSONKey, r.VersionStage, r.VersionID = fields[1], fields[2], fields[3]
	}
	if r.VersionID != "" && r.VersionStage != "" {
		return Ref{}, errors.New("give version-stage or version-id, not both")
	}
	for _, o := range opts {
		o(&r)
	}
	return r, nil
}

// parseParameter parses NAME[:selector]. For an ARN, NAME is the part after
// "parameter/", and a hierarchical name gets its leading slash back.
func parseParameter(rest, arnPrefix string, opts ...option) (Ref, error) {
	if before, pointer, ok := strings.Cut(rest, "#"); ok {
		if strings.HasSuffix(before, "/") {
			return Ref{}, errors.New("a parameter path takes no JSON pointer (#...): name the parameter")
		}
		r, err := parseParameter(before, arnPrefix, opts...)
		if err != nil {
			return Ref{}, err
		}
		if err := r.setPointer(pointer); err != nil {
			return Ref{}, err
		}
		return r, nil
	}
	name, selector, hasSel := strings.Cut(rest, ":")
	if name == "" {
		return Ref{}, errors.New("empty parameter name")
	}
	if strings.HasSuffix(name, "/") {
		return parsePath(name, arnPrefix != "", hasSel, opts...)
	}
	if hasSel && (selector == "" || strings.Contains(selector, ":")) {
		return Ref{}, errors.New("parameter selector must be :version or :label")
	}
	id := name
	if arnPrefix != "" {
		id = arnPrefix + name
	}
	if hasSel {
		id += ":" + selector
	}
	r := Ref{Target: Target{Source: SSM, ID: id}}
	for _, o := range opts {
		o(&r)
	}
	return r, nil
}

func parseS3(s string) (Ref, error) {
	if before, pointer, ok := strings.Cut(s, "#"); ok {
		r, err := parseS3(before)
		if err != nil {
			return Ref{}, err
		}
		if err := r.setPointer(pointer); err != nil {
			return Ref{}, err
		}
		return r, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return Ref{}, errors.New("not a URL")
	}
	if u.Host == "" {
		return Ref{}, errors.New("empty bucket")
	}
	if u.User != nil || u.Fragment != "" || u.Port() != "" {
		return Ref{}, errors.New("s3 URL takes only bucket, key and query")
	}
	key := strings.TrimPrefix(u.Path, "/")
	if key == "" || strings.HasSuffix(key, "/") {
		return Ref{}, errors.New("s3 URL needs an object key")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Ref{}, errors.New("bad query")
	}
	r := Ref{Target: Target{Source: S3, ID: u.Host, Key: key}}
	for k, v := range q {
		if len(v) != 1 || v[0] == "" {
			return Ref{}, fmt.Errorf("query parameter %q needs exactly one value", k)
		}
		switch k {
		case "versionId":
			r.VersionID = v[0]
		case "region":
			r.Region = v[0]
		default:
			return Ref{}, fmt.Errorf("unknown query parameter %q (want versionId or region)", k)
		}
	}
	return r, nil
}

// setPointer sets r's JSON pointer, the text after a reference's '#'.
func (r *Ref) setPointer(p string) error {
	if _, err := parsePointer(p); err != nil {
		return err
	}
	r.Pointer = p
	return nil
}

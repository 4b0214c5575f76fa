// Package plan turns the user's item list into a plan: which values to fetch
// (each once) and which files to render from them. Planning makes no AWS call,
// so every mistake in the spec is reported before anything is fetched.
package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ecs-secret-injector/injector/formats"
	"github.com/ecs-secret-injector/injector/internal/fileperm"
	"github.com/ecs-secret-injector/injector/internal/strictjson"
	"github.com/ecs-secret-injector/injector/ref"
)

// ErrSpec is wrapped by every error about the spec.
var ErrSpec = errors.New("invalid spec")

// Item is one entry of the spec, as the user writes it. Field names in the
// JSON are exactly the ones below (case matters), each at most once.
type Item struct {
	// From is the reference of the value (every format but template, where it
	// is optional and available as .value).
	From string `json:"from,omitempty"`
	// Inputs names several references for a template.
	Inputs map[string]string `json:"inputs,omitempty"`
	// Path is where the file goes, relative to the output root. For explode
	// it is the directory that receives one file per key.
	Path string `json:"path"`
	// Format is how the value becomes file content (package formats).
	Format formats.Name `json:"format,omitempty"`
	// Template is Go text/template text (format template).
	Template string `json:"template,omitempty"`
	// Registry and Email describe registry credentials (registry formats).
	Registry string `json:"registry,omitempty"`
	Email    string `json:"email,omitempty"`
	// AllowUnencrypted accepts an S3 object stored without server-side encryption.
	AllowUnencrypted bool `json:"allowUnencrypted,omitempty"`
	// SSECustomerKey references a secret holding the base64 SSE-C key of an S3 object.
	SSECustomerKey string `json:"sseCustomerKey,omitempty"`
	// AllowEmpty accepts an SSM path (ssm:/app/prod/) with no parameter under it.
	AllowEmpty bool `json:"allowEmpty,omitempty"`
	// Mode (octal text, "0600"), UID and GID override INJECTOR_FILE_MODE,
	// INJECTOR_UID and INJECTOR_GID for the item's files, by the same rules
	// (package fileperm).
	Mode string `json:"mode,omitempty"`
	UID  *int   `json:"uid,omitempty"`
	GID  *int   `json:"gid,omitempty"`
	// RoleARN is the IAM role every reference of the item is read as
	// (sts:AssumeRole), typically in another account; "" reads with the
	// task's own credentials (or Defaults.RoleARN).
	RoleARN string `json:"roleArn,omitempty"`
	// ExternalID is the sts:ExternalId sent when assuming RoleARN.
	ExternalID string `json:"externalId,omitempty"`
	// FailoverRegion is where a reference is read from when its own region
	// is unavailable (see sources: an outage, never a refusal).
	FailoverRegion string `json:"failoverRegion,omitempty"`
}

// MaxSpecBytes bounds the size of a spec.
const MaxSpecBytes = 1 << 20

// itemFields are the fields of an item, as the spec spells them.
var itemFields = map[string]func(*Item, any) error{
	"from":             stringField(func(it *Item) *string { return &it.From }),
	"path":             stringField(func(it *Item) *string { return &it.Path }),
	"format":           func(it *Item, v any) error { return setString((*string)(&it.Format), v) },
	"template":         stringField(func(it *Item) *string { return &it.Template }),
	"registry":         stringField(func(it *Item) *string { return &it.Registry }),
	"email":            stringField(func(it *Item) *string { return &it.Email }),
	"sseCustomerKey":   stringField(func(it *Item) *string { return &it.SSECustomerKey }),
	"allowUnencrypted": boolField(func(it *Item) *bool { return &it.AllowUnencrypted }),
	"allowEmpty":       boolField(func(it *Item) *bool { return &it.AllowEmpty }),
	"roleArn":          stringField(func(it *Item) *string { return &it.RoleARN }),
	"externalId":       stringField(func(it *Item) *string { return &it.ExternalID }),
	"failoverRegion":   stringField(func(it *Item) *string { return &it.FailoverRegion }),
	"inputs":           setInputs,
	"mode":             setMode,
	"uid":              idField(func(it *Item) **int { return &it.UID }),
	"gid":              idField(func(it *Item) **int { return &it.GID }),
}

// setMode takes a mode as octal text: JSON has no octal numbers (0600 is
// not JSON, and 600 would read as decimal).
func setMode(it *Item, v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("must be a string of octal digits such as \"0600\", not %s", kind(v))
	}
	if _, err := fileperm.ParseMode(s); err != nil {
		return fmt.Errorf("is invalid: %w", err)
	}
	it.Mode = s
	return nil
}

// idField takes a uid or gid as a JSON integer, by the settings' rules.
func idField(field func(*Item) **int) func(*Item, any) error {
	return func(it *Item, v any) error {
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("must be a number (-1 or an id from 0 to %d), not %s", fileperm.MaxID, kind(v))
		}
		id, err := fileperm.ParseID(n.String())
		if err != nil {
			return fmt.Errorf("is invalid: %w", err)
		}
		*field(it) = &id
		return nil
	}
}

func stringField(field func(*Item) *string) func(*Item, any) error {
	return func(it *Item, v any) error { return setString(field(it), v) }
}

func setString(dst *string, v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("must be a string, not %s", kind(v))
	}
	*dst = s
	return nil
}

func boolField(field func(*Item) *bool) func(*Item, any) error {
	return func(it *Item, v any) error {
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("must be true or false, not %s", kind(v))
		}
		*field(it) = b
		return nil
	}
}

func setInputs(it *Item, v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("must be an object of name: reference, not %s", kind(v))
	}
	it.Inputs = make(map[string]string, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		s, ok := m[name].(string)
		if !ok {
			return fmt.Errorf("input %q must be a string, not %s", name, kind(m[name]))
		}
		it.Inputs[name] = s
	}
	return nil
}

// kind names the JSON type of a decoded value.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return "a number"
	}
}

// ParseSpec decodes a JSON list of items. Field names are exact (case
// matters); a field given twice in one item, an unknown field, a field of
// the wrong type and a spec larger than MaxSpecBytes are errors, which name
// the item and the field.
func ParseSpec(data []byte) ([]Item, error) {
	if len(data) > MaxSpecBytes {
		return nil, fmt.Errorf("%w: the spec is %d bytes, more than the limit of %d", ErrSpec, len(data), MaxSpecBytes)
	}
	doc, err := strictjson.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, specJSONError(err))
	}
	list, ok := doc.([]any)
	switch {
	case doc == nil || ok && len(list) == 0:
		return nil, fmt.Errorf("%w: no items", ErrSpec)
	case !ok:
		return nil, fmt.Errorf("%w: the spec must be a JSON list of items, not %s", ErrSpec, kind(doc))
	}
	items := make([]Item, len(list))
	var errs []error
	for i, el := range list {
		obj, ok := el.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("item %d: must be a JSON object, not %s", i, kind(el)))
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(obj)) {
			set, known := itemFields[name]
			if !known {
				errs = append(errs, fmt.Errorf("item %d: unknown field %q (field names are exact: %s)", i, name, fieldList()))
				continue
			}
			if err := set(&items[i], obj[name]); err != nil {
				errs = append(errs, fmt.Errorf("item %d: field %q %w", i, name, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	return items, nil
}

func fieldList() string {
	return strings.Join(slices.Sorted(maps.Keys(itemFields)), ", ")
}

// specJSONError says where a JSON error is in spec terms.
func specJSONError(err error) error {
	var e *strictjson.Error
	if !errors.As(err, &e) || len(e.Path) == 0 {
		return err
	}
	i, ok := e.Path[0].(int)
	if !ok {
		return err
	}
	if errors.Is(err, strictjson.ErrDuplicateKey) && len(e.Path) == 1 {
		return fmt.Errorf("item %d: field %q is given more than once (byte offset %d)", i, e.Key, e.Offset)
	}
	where := ""
	if len(e.Path) > 1 {
		where = " in " + strictjson.FormatPath(e.Path[1:])
	}
	return fmt.Errorf("item %d: %s: %s%s (byte offset %d)", i, e.Err, e.Msg, where, e.Offset)
}

// Input is one named value an output is rendered from.
type Input struct {
	Name string
	Ref  ref.Ref
}

// Credential is one registry login of a registry-format output.
type Credential struct {
	Registry string
	Email    string
	Input    Input
}

// Output is one file (or, for explode, one directory) to render.
type Output struct {
	Path        string // clean, slash-separated, relative to the output root
	Format      formats.Name
	Inputs      []Input      // raw, explode, dotenv: one; template: several
	Template    string       // template text
	Credentials []Credential // registry formats, sorted by registry
	// Perm is the item's own mode and owner of its files, if it gives any.
	Perm fileperm.Override
}

// Fetch is one value to fetch, with how S3 must treat it.
type Fetch struct {
	Target           ref.Target
	AllowUnencrypted bool
	SSECustomerKey   *ref.Ref // S3 SSE-C: the reference holding the key
	AllowEmpty       bool     // SSM path: no parameter under it is fine
	// RoleARN and ExternalID: the role the target is read as ("": the
	// task's own credentials).
	RoleARN, ExternalID string
	// FailoverRegion is where the target is read when its region is
	// unavailable ("": nowhere else).
	FailoverRegion string
}

// Plan is what the injector will do.
type Plan struct {
	Fetches []Fetch // each target once, in the order first named
	Outputs []Output
	// MaxFileBytes bounds each rendered file (INJECTOR_MAX_VALUE_BYTES);
	// 0 means DefaultMaxFileBytes.
	MaxFileBytes int64
}

// DefaultMaxFileBytes is the bound on a rendered file when the plan sets none.
const DefaultMaxFileBytes = 16 << 20

// Defaults apply to every item that does not say otherwise (settings
// INJECTOR_ROLE_ARN and INJECTOR_FAILOVER_REGION).
type Defaults struct {
	RoleARN        string
	FailoverRegion string
}

// Build validates items and plans the work.
func Build(items []Item) (Plan, error) { return BuildWith(items, Defaults{}) }

// BuildWith is Build with defaults for the items' roleArn and
// failoverRegion.
func BuildWith(items []Item, d Defaults) (Plan, error) {
	b := builder{fetchIndex: map[ref.Target]int{}, outIndex: map[string]int{}}
	var errs []error
	for i, it := range items {
		if it.RoleARN == "" && it.ExternalID == "" {
			it.RoleARN = d.RoleARN
		}
		if it.FailoverRegion == "" {
			it.FailoverRegion = d.FailoverRegion
		}
		if err := checkAccess(it); err != nil {
			errs = append(errs, fmt.Errorf("item %d (path %q): %w", i, it.Path, err))
			continue
		}
		if err := b.add(it); err != nil {
			errs = append(errs, fmt.Errorf("item %d (path %q): %w", i, it.Path, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Plan{}, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	if err := checkNesting(b.plan.Outputs); err != nil {
		return Plan{}, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	if err := checkInPlace(b.plan.Outputs); err != nil {
		return Plan{}, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	if err := checkRegistries(b.plan.Outputs); err != nil {
		return Plan{}, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	for i := range b.plan.Outputs {
		slices.SortFunc(b.plan.Outputs[i].Credentials, func(a, b Credential) int { return strings.Compare(a.Registry, b.Registry) })
	}
	return b.plan, nil
}

type builder struct {
	plan       Plan
	fetchIndex map[ref.Target]int
	outIndex   map[string]int
}

func (b *builder) add(it Item) error {
	if it.Format == "" {
		it.Format = formats.Raw
	}
	f, ok := formats.Lookup(it.Format)
	if !ok {
		return fmt.Errorf("unknown format %q", it.Format)
	}
	p, err := CleanPath(it.Path)
	if err != nil {
		return err
	}
	if top, _, _ := strings.Cut(p, "/"); strings.HasPrefix(top, "..") {
		return fmt.Errorf("path %q: names beginning with .. belong to the injector's output layout (..data, ..lock, generations)", p)
	}
	fit := formats.Item{Format: it.Format, From: it.From, Inputs: it.Inputs, Template: it.Template, Registry: it.Registry, Email: it.Email}
	inputs, err := b.inputs(f, fit, it)
	if err != nil {
		return err
	}
	fields := f.Fields()
	if it.Template != "" && !fields.Template {
		return fmt.Errorf("template text given but format is not %s", formats.Template)
	}
	if (it.Registry != "" || it.Email != "") && !fields.Login {
		return fmt.Errorf("registry/email given but format %s is not a registry format", it.Format)
	}
	if err := f.CheckItem(fit); err != nil {
		return err
	}
	perm, err := itemPerm(it)
	if err != nil {
		return err
	}
	out := Output{Path: p, Format: it.Format, Template: it.Template, Perm: perm}
	if fields.Login {
		out.Credentials = []Credential{{Registry: it.Registry, Email: it.Email, Input: inputs[0]}}
	} else {
		out.Inputs = inputs
	}
	if i, ok := b.outIndex[p]; ok {
		prev := &b.plan.Outputs[i]
		if !fields.Login || prev.Format != it.Format {
			return fmt.Errorf("path %q is already written by another item", p)
		}
		if !samePerm(prev.Perm, perm) {
			return fmt.Errorf("path %q: items merged into one document must give the same mode, uid and gid", p)
		}
		prev.Credentials = append(prev.Credentials, out.Credentials...)
		return nil
	}
	b.outIndex[p] = len(b.plan.Outputs)
	b.plan.Outputs = append(b.plan.Outputs, out)
	return nil
}

// inputs parses the references the format reads of the item, sorted by
// input name, and adds their fetches.
func (b *builder) inputs(f formats.Format, fit formats.Item, it Item) ([]Input, error) {
	named, err := f.Inputs(fit)
	if err != nil {
		return nil, err
	}
	var inputs []Input
	for _, name := range slices.Sorted(maps.Keys(named)) {
		r, err := ref.Parse(named[name])
		if err != nil {
			return nil, err
		}
		if err := b.addFetch(r, it); err != nil {
			return nil, err
		}
		inputs = append(inputs, Input{Name: name, Ref: r})
	}
	return inputs, nil
}

func (b *builder) addFetch(r ref.Ref, it Item) error {
	if err := checkPath(r, it); err != nil {
		return err
	}
	f := Fetch{Target: r.Target, AllowEmpty: it.AllowEmpty, RoleARN: it.RoleARN, ExternalID: it.ExternalID, FailoverRegion: it.FailoverRegion}
	if r.Source == ref.S3 {
		f.AllowUnencrypted = it.AllowUnencrypted
		if it.SSECustomerKey != "" {
			k, err := ref.Parse(it.SSECustomerKey)
			if err != nil {
				return fmt.Errorf("sseCustomerKey: %w", err)
			}
			if k.Source == ref.S3 || k.Source.Many() {
				return errors.New("sseCustomerKey must reference one secret, parameter or variable, not S3 or an SSM path (or a secret prefix)")
			}
			f.SSECustomerKey = &k
			// The key is read as the item's role, with its failover.
			if err := b.addFetch(k, Item{RoleARN: it.RoleARN, ExternalID: it.ExternalID, FailoverRegion: it.FailoverRegion}); err != nil {
				return err
			}
		}
	} else if it.AllowUnencrypted || it.SSECustomerKey != "" {
		return fmt.Errorf("allowUnencrypted and sseCustomerKey apply to s3:// references only, not %s", r.Raw)
	}
	i, ok := b.fetchIndex[r.Target]
	if !ok {
		b.fetchIndex[r.Target] = len(b.plan.Fetches)
		b.plan.Fetches = append(b.plan.Fetches, f)
		return nil
	}
	prev := &b.plan.Fetches[i]
	// The same object named twice: be as strict as the strictest item.
	prev.AllowUnencrypted = prev.AllowUnencrypted && f.AllowUnencrypted
	prev.AllowEmpty = prev.AllowEmpty && f.AllowEmpty
	if (prev.SSECustomerKey == nil) != (f.SSECustomerKey == nil) ||
		(prev.SSECustomerKey != nil && prev.SSECustomerKey.Target != f.SSECustomerKey.Target) {
		return fmt.Errorf("%s is named twice with different sseCustomerKey", r.Raw)
	}
	// One target is one value: read as one role, with one failover. (A
	// name without an ARN read as two roles would be two secrets of two
	// accounts: name each by its ARN.)
	if prev.RoleARN != f.RoleARN || prev.ExternalID != f.ExternalID {
		return fmt.Errorf("%s is named twice with different roleArn or externalId: name each by its full ARN", r.Raw)
	}
	if prev.FailoverRegion != f.FailoverRegion {
		return fmt.Errorf("%s is named twice with different failoverRegion", r.Raw)
	}
	return nil
}

// CleanPath checks that p is a relative path that stays inside the output root
// and returns it cleaned, slash-separated.
func CleanPath(p string) (string, error) {
	if p == "" {
		return "", errors.New("path is required")
	}
	if strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "", fmt.Errorf("path %q has a control character or backslash", p)
	}
	c := path.Clean(p)
	if !filepath.IsLocal(filepath.FromSlash(c)) || c == "." {
		return "", fmt.Errorf("path %q must be relative and stay inside the output root", p)
	}
	return c, nil
}

// checkInPlace rejects an in-place output (ecs-config) alongside any other
// output. It replaces one file in place (the ECS agent's ecs.config, which
// the agent reads at a fixed path) while every other format is written as a
// generation that one rename makes current: no single step can replace
// both, or two in-place files, together.
func checkInPlace(outs []Output) error {
	for _, o := range outs {
		if o.Format.InPlace() && len(outs) > 1 {
			return fmt.Errorf("format %s (path %q) replaces a single file in place and cannot be written atomically together with other paths: give it an injector run of its own", o.Format, o.Path)
		}
	}
	return nil
}

// checkRegistries refuses registry documents that clients would read
// ambiguously (two names for one registry, and in the documents the ECS
// agent reads two registries with the same host): each registry format's
// CheckLogins.
func checkRegistries(outs []Output) error {
	var errs []error
	for _, o := range outs {
		f, _ := formats.Lookup(o.Format)
		if !f.Fields().Login {
			continue
		}
		names := make([]string, len(o.Credentials))
		for i, c := range o.Credentials {
			names[i] = c.Registry
		}
		if err := f.CheckLogins(names); err != nil {
			errs = append(errs, fmt.Errorf("path %q (format %s): %w", o.Path, o.Format, err))
		}
	}
	return errors.Join(errs...)
}

// checkNesting rejects an output path below another output's file: a path
// cannot be both a file and a directory. Explode outputs are directories.
func checkNesting(outs []Output) error {
	files := map[string]bool{}
	for _, o := range outs {
		if !o.Format.Dir() {
			files[o.Path] = true
		}
	}
	for _, o := range outs {
		for dir := path.Dir(o.Path); dir != "."; dir = path.Dir(dir) {
			if files[dir] {
				return fmt.Errorf("path %q is inside %q, which is another item's file", o.Path, dir)
			}
		}
	}
	return nil
}

// Targets lists every value the plan fetches, in the order first named.
func (p Plan) Targets() []ref.Target {
	ts := make([]ref.Target, len(p.Fetches))
	for i, f := range p.Fetches {
		ts[i] = f.Target
	}
	return ts
}

// ReadsPath reports whether the output reads one SSM path (ssm:/PATH/) or
// secret prefix (secretsmanager:PREFIX/*), whose value is an object of
// parameters or secrets by relative name.
func (o Output) ReadsPath() bool {
	return len(o.Inputs) == 1 && o.Inputs[0].Ref.Source.Many()
}

// itemPerm checks an item's mode, uid and gid (as ParseSpec does, for an
// Item made otherwise) and returns them as an override.
func itemPerm(it Item) (fileperm.Override, error) {
	var o fileperm.Override
	if it.Mode != "" {
		m, err := fileperm.ParseMode(it.Mode)
		if err != nil {
			return o, fmt.Errorf("mode: %w", err)
		}
		o.Mode = &m
	}
	for _, id := range []struct {
		name string
		v    *int
		dst  **int
	}{{"uid", it.UID, &o.UID}, {"gid", it.GID, &o.GID}} {
		if id.v == nil {
			continue
		}
		if _, err := fileperm.ParseID(strconv.Itoa(*id.v)); err != nil {
			return o, fmt.Errorf("%s: %w", id.name, err)
		}
		*id.dst = id.v
	}
	return o, nil
}

func samePerm(a, b fileperm.Override) bool {
	eq := func(x, y *int) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return eq(a.UID, b.UID) && eq(a.GID, b.GID) &&
		(a.Mode == nil) == (b.Mode == nil) && (a.Mode == nil || *a.Mode == *b.Mode)
}

// Package plan turns the user's item list into a plan: which values to fetch
// (each once) and which files to render from them. Planning makes no AWS call,
// so every mistake in the spec is reported before anything is fetched.
package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/ecs-secret-injector/injector/ref"
)

// ErrSpec is wrapped by every error about the spec.
var ErrSpec = errors.New("invalid spec")

// Format is how an item's value becomes file content.
type Format string

// Formats.
const (
	Raw              Format = "raw"
	Explode          Format = "explode"
	Dotenv           Format = "dotenv"
	Template         Format = "template"
	DockerCfg        Format = "dockercfg"
	DockerConfigJSON Format = "dockerconfigjson"
	ECSConfig        Format = "ecs-config"
)

// Registry reports whether f renders registry credentials; items with the
// same path and the same registry format merge into one document.
func (f Format) Registry() bool {
	return f == DockerCfg || f == DockerConfigJSON || f == ECSConfig
}

func (f Format) valid() bool {
	switch f {
	case Raw, Explode, Dotenv, Template, DockerCfg, DockerConfigJSON, ECSConfig:
		return true
	}
	return false
}

// Item is one entry of the spec, as the user writes it.
type Item struct {
	// From is the reference of the value (every format but template, where it
	// is optional and available as .value).
	From string `json:"from,omitempty"`
	// Inputs names several references for a template.
	Inputs map[string]string `json:"inputs,omitempty"`
	// Path is where the file goes, relative to the output root. For explode
	// it is the directory that receives one file per key.
	Path   string `json:"path"`
	Format Format `json:"format,omitempty"`
	// Template is Go text/template text (format template).
	Template string `json:"template,omitempty"`
	// Registry and Email describe registry credentials (registry formats).
	Registry string `json:"registry,omitempty"`
	Email    string `json:"email,omitempty"`
	// AllowUnencrypted accepts an S3 object stored without server-side encryption.
	AllowUnencrypted bool `json:"allowUnencrypted,omitempty"`
	// SSECustomerKey references a secret holding the base64 SSE-C key of an S3 object.
	SSECustomerKey string `json:"sseCustomerKey,omitempty"`
}

// ParseSpec decodes a JSON list of items, rejecting unknown fields.
func ParseSpec(data []byte) ([]Item, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var items []Item
	if err := dec.Decode(&items); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the item list", ErrSpec)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%w: no items", ErrSpec)
	}
	return items, nil
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
	Format      Format
	Inputs      []Input      // raw, explode, dotenv: one; template: several
	Template    string       // template text
	Credentials []Credential // registry formats, sorted by registry
}

// Fetch is one value to fetch, with how S3 must treat it.
type Fetch struct {
	Target           ref.Target
	AllowUnencrypted bool
	SSECustomerKey   *ref.Ref // S3 SSE-C: the reference holding the key
}

// Plan is what the injector will do.
type Plan struct {
	Fetches []Fetch // each target once, in the order first named
	Outputs []Output
}

var inputName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Build validates items and plans the work.
func Build(items []Item) (Plan, error) {
	b := builder{fetchIndex: map[ref.Target]int{}, outIndex: map[string]int{}}
	var errs []error
	for i, it := range items {
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
		it.Format = Raw
	}
	if !it.Format.valid() {
		return fmt.Errorf("unknown format %q", it.Format)
	}
	p, err := CleanPath(it.Path)
	if err != nil {
		return err
	}
	if top, _, _ := strings.Cut(p, "/"); strings.HasPrefix(top, "..") {
		return fmt.Errorf("path %q: names beginning with .. belong to the injector's output layout (..data, ..lock, generations)", p)
	}
	inputs, err := b.inputs(it)
	if err != nil {
		return err
	}
	if it.Template != "" && it.Format != Template {
		return errors.New("template text given but format is not template")
	}
	if (it.Registry != "" || it.Email != "") != it.Format.Registry() {
		if it.Format.Registry() {
			return fmt.Errorf("format %s needs registry", it.Format)
		}
		return fmt.Errorf("registry/email given but format %s is not a registry format", it.Format)
	}
	if it.Format.Registry() && strings.ContainsFunc(it.Registry, func(r rune) bool { return r <= ' ' || r == '"' || r == 0x7f }) {
		return fmt.Errorf("registry %q has spaces, quotes or control characters", it.Registry)
	}
	out := Output{Path: p, Format: it.Format, Template: it.Template}
	if it.Format.Registry() {
		out.Credentials = []Credential{{Registry: it.Registry, Email: it.Email, Input: inputs[0]}}
	} else {
		out.Inputs = inputs
	}
	if i, ok := b.outIndex[p]; ok {
		prev := &b.plan.Outputs[i]
		if !it.Format.Registry() || prev.Format != it.Format {
			return fmt.Errorf("path %q is already written by another item", p)
		}
		for _, c := range prev.Credentials {
			if c.Registry == it.Registry {
				return fmt.Errorf("registry %q appears twice in %q", it.Registry, p)
			}
		}
		prev.Credentials = append(prev.Credentials, out.Credentials...)
		return nil
	}
	b.outIndex[p] = len(b.plan.Outputs)
	b.plan.Outputs = append(b.plan.Outputs, out)
	return nil
}

func (b *builder) inputs(it Item) ([]Input, error) {
	named := map[string]string{}
	switch {
	case it.Format == Template:
		if it.Template == "" {
			return nil, errors.New("format template needs template text")
		}
		if it.From == "" && len(it.Inputs) == 0 {
			return nil, errors.New("format template needs from or inputs")
		}
		for k, v := range it.Inputs {
			if !inputName.MatchString(k) || k == "value" {
				return nil, fmt.Errorf("input name %q must be an identifier other than value", k)
			}
			named[k] = v
		}
		if it.From != "" {
			named["value"] = it.From
		}
	case len(it.Inputs) > 0:
		return nil, fmt.Errorf("inputs are for format template, not %s", it.Format)
	case it.From == "":
		return nil, errors.New("from is required")
	default:
		named["value"] = it.From
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
	f := Fetch{Target: r.Target}
	if r.Source == ref.S3 {
		f.AllowUnencrypted = it.AllowUnencrypted
		if it.SSECustomerKey != "" {
			k, err := ref.Parse(it.SSECustomerKey)
			if err != nil {
				return fmt.Errorf("sseCustomerKey: %w", err)
			}
			if k.Source == ref.S3 {
				return errors.New("sseCustomerKey must reference Secrets Manager or SSM, not S3")
			}
			f.SSECustomerKey = &k
			if err := b.addFetch(k, Item{}); err != nil {
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
	if (prev.SSECustomerKey == nil) != (f.SSECustomerKey == nil) ||
		(prev.SSECustomerKey != nil && prev.SSECustomerKey.Target != f.SSECustomerKey.Target) {
		return fmt.Errorf("%s is named twice with different sseCustomerKey", r.Raw)
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

// checkInPlace rejects an ecs-config output alongside any other output.
// ecs-config replaces one file in place (the ECS agent's ecs.config, which
// the agent reads at a fixed path) while every other format is written as a
// generation that one rename makes current: no single step can replace
// both, or two ecs-config files, together.
func checkInPlace(outs []Output) error {
	var inPlace []string
	for _, o := range outs {
		if o.Format == ECSConfig {
			inPlace = append(inPlace, o.Path)
		}
	}
	if len(inPlace) > 0 && len(outs) > 1 {
		return fmt.Errorf("format ecs-config (path %q) replaces a single file in place and cannot be written atomically together with other paths: give it an injector run of its own", inPlace[0])
	}
	return nil
}

// checkNesting rejects an output path below another output's file: a path
// cannot be both a file and a directory. Explode outputs are directories.
func checkNesting(outs []Output) error {
	files := map[string]bool{}
	for _, o := range outs {
		if o.Format != Explode {
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

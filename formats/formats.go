package formats

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/ecs-secret-injector/injector/internal/strictjson"
)

// Name is a format as items name it (the item's "format" field).
type Name string

// Layout is how a format's output lands under the output root.
type Layout int

const (
	// OneFile is one file at the item's path, written in a generation.
	OneFile Layout = iota
	// Dir is a directory of files at the item's path, written in a
	// generation; the value gives the files' names.
	Dir
	// InPlace is one file replaced in place rather than in a generation,
	// so the output must be the only one of its run.
	InPlace
)

// Fields says which of an item's format-specific fields a format takes.
type Fields struct {
	// Template: template text and named inputs.
	Template bool
	// Login: registry and email, one registry login per item; items with
	// the same path and format merge into one document.
	Login bool
}

// Item is what a format reads of a spec item.
type Item struct {
	Format   Name
	From     string
	Inputs   map[string]string
	Template string
	Registry string
	Email    string
}

// Login is one registry login to render: the registry, the email and the
// value of the secret holding {"username","password"}.
type Login struct {
	Registry, Email string
	Ref             string // the reference of the secret, for errors
	Value           []byte
}

// Source is what a format renders one output from.
type Source struct {
	Ctx      context.Context // templates stop when it ends
	Path     string          // the output's path, relative to the output root
	Template string          // the template text (template)
	// Inputs are the values the output's references select, by input name.
	Inputs map[string][]byte
	// ReadsPath: the one input is the value of an SSM path (ssm:/PATH/), an
	// object of parameters by relative name.
	ReadsPath bool
	Logins    []Login // the registry formats', sorted by registry
	Existing  []byte  // an in-place output's file as it is now (nil if none)
	MaxBytes  int64   // the bound on each file and on a template's strings
}

// Format is one way an item's value becomes files: everything the injector
// knows of it. Each format is one file of this package that registers
// itself; embedding base gives the defaults of a format that writes one file
// from its from reference.
type Format interface {
	// Doc says in one line what the format writes (README, validate).
	Doc() string
	Layout() Layout
	Fields() Fields
	// Inputs returns the references an item reads, by input name, and
	// refuses references the format does not take.
	Inputs(it Item) (map[string]string, error)
	// CheckItem checks the item's other format-specific fields.
	CheckItem(it Item) error
	// CheckLogins checks the registries of one output (of every item
	// merged into it) before anything is fetched.
	CheckLogins(registries []string) error
	// Render turns the output's values into its files, with paths relative
	// to the output root.
	Render(s Source) ([]File, error)
	// Note says, for validate, where an output's files or variables come
	// from when the table does not say it ("" for nothing).
	Note(readsPath bool) string
}

// File is one rendered file, Path slash-separated and relative (to the
// output root from Render; to the item's path from Explode and ExplodePath).
type File struct {
	Path string
	Data []byte
}

// formats holds every format, by name; each format's file adds itself
// with add.
var formats = map[Name]Format{}

func add(n Name, f Format) { formats[n] = f }

// Lookup returns the format named n.
func Lookup(n Name) (Format, bool) {
	f, ok := formats[n]
	return f, ok
}

// Names lists every format, sorted by name.
func Names() []Name { return slices.Sorted(maps.Keys(formats)) }

// Dir reports whether format n writes a directory at the item's path.
func (n Name) Dir() bool { return n.layout() == Dir }

// InPlace reports whether format n replaces a file in place rather than
// writing it in a generation; such an output is alone in its plan.
func (n Name) InPlace() bool { return n.layout() == InPlace }

func (n Name) layout() Layout {
	if f, ok := formats[n]; ok {
		return f.Layout()
	}
	return OneFile
}

// Doc says in one line what format n writes.
func (n Name) Doc() string {
	if f, ok := formats[n]; ok {
		return f.Doc()
	}
	return ""
}

// base is the defaults of a format: one file, from the item's from
// reference, no other field.
type base struct{}

func (base) Layout() Layout                            { return OneFile }
func (base) Fields() Fields                            { return Fields{} }
func (base) CheckItem(Item) error                      { return nil }
func (base) CheckLogins([]string) error                { return nil }
func (base) Note(readsPath bool) string                { return "" }
func (base) Inputs(it Item) (map[string]string, error) { return fromOnly(it) }

// fromOnly is the inputs of an item that reads its from reference only,
// as "value".
func fromOnly(it Item) (map[string]string, error) {
	switch {
	case len(it.Inputs) > 0:
		return nil, fmt.Errorf("inputs are for format %s, not %s", Template, it.Format)
	case it.From == "":
		return nil, errors.New("from is required")
	}
	return map[string]string{"value": it.From}, nil
}

// oneFile returns the output's one file of content data, or err.
func oneFile(s Source) func(data []byte, err error) ([]File, error) {
	return func(data []byte, err error) ([]File, error) {
		if err != nil {
			return nil, err
		}
		return []File{{Path: s.Path, Data: data}}, nil
	}
}

// The value of an SSM path (ssm:/app/prod/) is a JSON object that maps each
// parameter's name relative to the path to its value:
//
//	{"db/password": "...", "db/url": "...", "region": "..."}
//
// raw and template take it as it is; ExplodePath and DotenvPath turn it
// into files and variables.

// decodePath decodes the value of an SSM path with the one strict decoder
// for values: an object whose every member is a string, each name once.
func decodePath(value []byte) (map[string]*string, error) {
	members, err := strictjson.Object(value)
	if err != nil {
		if errors.Is(err, ErrInvalidJSON) {
			return nil, fmt.Errorf("not the value of an SSM path: %w", err)
		}
		return nil, fmt.Errorf("not the value of an SSM path: %w: %w", ErrInvalidJSON, err)
	}
	m := make(map[string]*string, len(members))
	for _, mb := range members {
		s, ok := mb.Value.(string)
		if !ok {
			return nil, fmt.Errorf("not the value of an SSM path: parameter %q is not a string: %w", mb.Key, ErrInvalidJSON)
		}
		m[mb.Key] = &s
	}
	return m, nil
}

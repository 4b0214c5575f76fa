package plan

import (
	"maps"
	"slices"
)

// The formats. Adding one is a renderer (package render, registered in
// package inject) plus one line here and one const.
const (
	Raw              Format = "raw"
	Explode          Format = "explode"
	Dotenv           Format = "dotenv"
	Template         Format = "template"
	DockerCfg        Format = "dockercfg"
	DockerConfigJSON Format = "dockerconfigjson"
	ECSConfig        Format = "ecs-config"
)

// formatSpec is what the planner knows of a format.
type formatSpec struct {
	// Doc says in one line what the format writes (README, validate).
	doc string
	// dir: the item's path is a directory of files (explode).
	dir bool
	// template: the item takes template text and named inputs.
	template bool
	// registry: the item takes registry and email, and items with the
	// same path and format merge into one document.
	registry bool
	// inPlace: the file is replaced in place, not written in a generation,
	// so it must be the only output of its run (see checkInPlace).
	inPlace bool
}

// formats is the registry of formats.
var formats = map[Format]formatSpec{
	Raw:              {doc: "the value as is"},
	Explode:          {dir: true, doc: "a directory with one file per top-level key of a JSON object"},
	Dotenv:           {doc: "KEY='value' lines from a JSON object, for `set -a; . FILE`"},
	Template:         {template: true, doc: "Go text/template over named inputs"},
	DockerCfg:        {registry: true, doc: "the ECS agent's dockercfg JSON (no \"auths\")"},
	DockerConfigJSON: {registry: true, doc: "docker config.json with \"auths\""},
	ECSConfig:        {registry: true, inPlace: true, doc: "ECS_ENGINE_AUTH_TYPE/ECS_ENGINE_AUTH_DATA merged into ecs.config"},
}

// Formats lists every format, sorted by name.
func Formats() []Format { return slices.Sorted(maps.Keys(formats)) }

// InPlace reports whether f replaces a file in place rather than writing it
// in a generation; such an output is alone in its plan.
func (f Format) InPlace() bool { return formats[f].inPlace }

// Doc says in one line what f writes.
func (f Format) Doc() string { return formats[f].doc }

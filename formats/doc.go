// Package formats holds the output formats: how an item's value becomes
// file content. Each format is one file (raw.go, explode.go, dotenv.go,
// template.go, dockercfg.go, dockerconfigjson.go, ecsconfig.go; the
// registry formats share logins.go) with a type that says everything the
// injector knows of it (see [Format]): its name and one-line doc, its
// layout (one file, a directory, a file replaced in place), the item fields
// it takes and their checks, how it renders and what validate notes of it.
// Adding a format is one new file that registers itself, plus its tests.
//
// Rendering is the pure step between fetch and write: every function takes
// bytes (and small descriptive values such as registry names) and returns
// bytes or [File] values. Nothing here reads or writes files, talks to the
// network or logs.
//
// Error messages may name JSON keys, input names, registry names, field names
// and byte offsets, but never contain a secret value (or any byte of one).
// For that reason errors coming from encoding/json are not wrapped directly:
// their text can quote the input. Instead the package returns its own
// messages wrapping one of the sentinel errors below, so callers can still
// use [errors.Is]. Templates run in internal/tmpl, whose errors are made of
// template text and type names only.
package formats

import (
	"errors"

	"github.com/ecs-secret-injector/injector/internal/strictjson"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// them.
var (
	// ErrInvalidJSON reports a value that is not well-formed UTF-8 JSON
	// (including a lone surrogate escape). Values are read as JSON only by
	// the strict decoder in internal/strictjson, whose sentinels these are.
	ErrInvalidJSON = strictjson.ErrInvalid
	// ErrNotObject reports valid JSON whose top level is not an object.
	ErrNotObject = strictjson.ErrNotObject
	// ErrDuplicateKey reports a JSON object with the same key twice.
	ErrDuplicateKey = strictjson.ErrDuplicateKey
	// ErrInvalidName reports a key that cannot become a file name.
	ErrInvalidName = errors.New("invalid file name")
	// ErrNameCollision reports two keys that sanitise to the same file name.
	ErrNameCollision = errors.New("file name collision")
	// ErrInvalidKey reports a key that cannot be a shell variable name.
	ErrInvalidKey = errors.New("invalid variable name")
	// ErrInvalidValue reports a value that the output format cannot carry.
	ErrInvalidValue = errors.New("invalid value")
	// ErrTemplate reports a template that failed to parse or execute.
	ErrTemplate = errors.New("template failed")
	// ErrInvalidCredential reports a malformed registry credential.
	ErrInvalidCredential = errors.New("invalid registry credential")
	// ErrNoCredentials reports an empty credential list.
	ErrNoCredentials = errors.New("no registry credentials")
)

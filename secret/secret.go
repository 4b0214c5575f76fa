// Package secret holds a fetched secret value in a type that cannot leak by
// accident: every way Go, fmt, log/slog and encoding/json print a value shows
// a redaction marker, and the bytes are read only through Bytes.
package secret

import (
	"fmt"
	"log/slog"
)

// Redacted is what every printed form of a Value shows.
const Redacted = "[REDACTED]"

// Version says which version of a secret a value is: what a later check
// compares to learn whether the secret changed. It is not secret.
type Version struct {
	// ID is the Secrets Manager version id, the SSM parameter version
	// number, or the S3 object version id.
	ID string
	// Stage is the Secrets Manager staging label the value was read at
	// (AWSCURRENT unless the reference pins another).
	Stage string
	// ETag is the S3 object's entity tag.
	ETag string
}

// Served says where a value was read and how its version was staged when
// it was: what refresh mode's status file shows of it. It is not secret,
// and checks do not compare it (Version is what they compare).
type Served struct {
	// Region is the AWS region whose endpoint answered ("" for a value no
	// AWS service served, such as an environment variable).
	Region string
	// Stages are the Secrets Manager staging labels the version carried
	// in the answer (AWSCURRENT, AWSPREVIOUS, or labels of one's own).
	Stages []string
}

// Value is a secret value, the version it was read at and where it was
// served. The zero Value is empty.
type Value struct {
	b       []byte
	version Version
	served  Served
}

// New returns a Value holding b (not copied) at version v.
func New(b []byte, v Version) Value { return Value{b: b, version: v} }

// Bytes returns the secret bytes. It is the one way to read them; the caller
// must not modify them.
func (v Value) Bytes() []byte { return v.b }

// Len is the number of bytes in the value.
func (v Value) Len() int { return len(v.b) }

// Version returns the version the value was read at.
func (v Value) Version() Version { return v.version }

// WithServed returns v with s as where and how it was served.
func (v Value) WithServed(s Served) Value {
	v.served = s
	return v
}

// Served returns where and how the value was served.
func (v Value) Served() Served { return v.served }

// String implements fmt.Stringer with the redaction marker.
func (Value) String() string { return Redacted }

// GoString implements fmt.GoStringer (%#v) with the redaction marker.
func (Value) GoString() string { return Redacted }

// Format implements fmt.Formatter: every verb prints the redaction marker.
func (Value) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue implements slog.LogValuer with the redaction marker.
func (Value) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON implements json.Marshaler with the redaction marker.
func (Value) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler with the redaction marker,
// which also covers encoders that prefer text (YAML, XML, slog's JSON keys).
func (Value) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

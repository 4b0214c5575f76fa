// Package status is refresh mode's status file: what the engine writes
// under the output root after every generation and check, and what
// `injector health` reads.
package status

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/ecs-secret-injector/injector/writer"
)

// File is the name, under the output root, of the file that says how
// refresh mode is doing. Names beginning with ".." belong to the injector,
// so no item can write it, and it is not one of the visible files.
const File = "..status.json"

// Status is what the status file holds: timestamps, the generation and
// counts, and which version of each item is live, never a value or an error
// text.
type Status struct {
	PID          int
	Interval     time.Duration
	MaxStaleness time.Duration
	// Generation counts the generations this process published: 1 is the
	// first, 0 means none yet.
	Generation int64
	Items      int // values watched
	Files      int // files in the current generation

	Started   time.Time
	Published time.Time // when the current generation was switched in
	// LastCheck is when the injector last confirmed every item current:
	// the first generation or a check without error.
	LastCheck   time.Time
	LastAttempt time.Time

	Checks              int64 // successful checks
	Changes             int64 // generations published after the first
	Failures            int64 // failed checks
	ConsecutiveFailures int64

	// Live is, per item (each value the plan reads, in the plan's order),
	// the version the current generation was rendered from.
	Live []Item
}

// Item is one item's live version: what was read, where, and when the
// injector last confirmed it current. It names a reference and versions,
// never a value.
type Item struct {
	// Ref is the value's reference (ref.Target's text: no JSON key or
	// pointer, which select within the value).
	Ref string `json:"ref"`
	// Region is the AWS region that served the value ("" for an
	// environment variable).
	Region string `json:"region,omitempty"`
	// Version is the Secrets Manager version id, the SSM parameter
	// version, the S3 object version id (versioned buckets), or for an SSM
	// path or a secret prefix a digest of its names and versions.
	Version string `json:"version,omitempty"`
	// Stages are the Secrets Manager staging labels the version carried
	// when it was read.
	Stages []string `json:"stages,omitempty"`
	// ETag is the S3 object's entity tag.
	ETag string `json:"etag,omitempty"`
	// Fetched is when the value was read; Confirmed when a check last
	// found this version current (a version that cannot change, such as a
	// pinned one, at every check).
	Fetched   time.Time `json:"fetched"`
	Confirmed time.Time `json:"confirmed"`
}

// document is Status as the file holds it, durations as Go writes them
// ("1m30s").
type document struct {
	PID                 int       `json:"pid"`
	Interval            duration  `json:"interval"`
	MaxStaleness        duration  `json:"maxStaleness"`
	Generation          int64     `json:"generation"`
	Items               int       `json:"items"`
	Files               int       `json:"files"`
	Started             time.Time `json:"started"`
	Published           time.Time `json:"published"`
	LastCheck           time.Time `json:"lastCheck"`
	LastAttempt         time.Time `json:"lastAttempt"`
	Checks              int64     `json:"checks"`
	Changes             int64     `json:"changes"`
	Failures            int64     `json:"failures"`
	ConsecutiveFailures int64     `json:"consecutiveFailures"`
	Live                []Item    `json:"live,omitempty"`
}

func (s Status) document() document {
	return document{PID: s.PID, Interval: duration(s.Interval), MaxStaleness: duration(s.MaxStaleness),
		Generation: s.Generation, Items: s.Items, Files: s.Files,
		Started: s.Started, Published: s.Published, LastCheck: s.LastCheck, LastAttempt: s.LastAttempt,
		Checks: s.Checks, Changes: s.Changes, Failures: s.Failures, ConsecutiveFailures: s.ConsecutiveFailures, Live: s.Live}
}

func (d document) status() Status {
	return Status{PID: d.PID, Interval: time.Duration(d.Interval), MaxStaleness: time.Duration(d.MaxStaleness),
		Generation: d.Generation, Items: d.Items, Files: d.Files,
		Started: d.Started, Published: d.Published, LastCheck: d.LastCheck, LastAttempt: d.LastAttempt,
		Checks: d.Checks, Changes: d.Changes, Failures: d.Failures, ConsecutiveFailures: d.ConsecutiveFailures, Live: d.Live}
}

// duration is a time.Duration as text.
type duration time.Duration

func (d duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = duration(v)
	return nil
}

// Healthy returns nil when the first generation is published and the last
// successful check is at most MaxStaleness before now, and otherwise an
// error that says why.
func (s Status) Healthy(now time.Time) error {
	if s.Generation < 1 {
		return errors.New("no generation published yet")
	}
	if s.MaxStaleness <= 0 {
		return errors.New("status file has no max staleness")
	}
	if age := now.Sub(s.LastCheck); age > s.MaxStaleness {
		return fmt.Errorf("files unconfirmed for %s, longer than the max staleness %s (%d checks failed in a row)",
			age.Round(time.Millisecond), s.MaxStaleness, s.ConsecutiveFailures)
	}
	return nil
}

// Write replaces the status file under dir, atomically and durably
// (writer.WriteRootFile).
func Write(dir string, s Status) error {
	data, err := json.MarshalIndent(s.document(), "", "  ")
	if err != nil {
		return fmt.Errorf("the status file %s: %w", File, err)
	}
	if err := writer.WriteRootFile(dir, File, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the status file %s: %w", File, err)
	}
	return nil
}

// Read reads the status file under dir.
func Read(dir string) (Status, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return Status{}, err
	}
	defer root.Close()
	fi, err := root.Lstat(File)
	if err != nil {
		return Status{}, err
	}
	if !fi.Mode().IsRegular() {
		return Status{}, fmt.Errorf("%s is not a regular file", File)
	}
	data, err := root.ReadFile(File)
	if err != nil {
		return Status{}, err
	}
	var d document
	if err := json.Unmarshal(data, &d); err != nil {
		return Status{}, fmt.Errorf("%s: %w", File, err)
	}
	return d.status(), nil
}

// Health reads the status file under dir and says whether refresh mode is
// healthy now. A status file that is missing is looked for again for up to
// wait, in case a write is replacing it.
func Health(dir string, wait time.Duration) (Status, error) {
	deadline := time.Now().Add(wait)
	for {
		s, err := Read(dir)
		switch {
		case err == nil:
			return s, s.Healthy(time.Now())
		case errors.Is(err, fs.ErrNotExist) && time.Now().Before(deadline):
			time.Sleep(50 * time.Millisecond)
		case errors.Is(err, fs.ErrNotExist):
			return Status{}, fmt.Errorf("no status file %s in %s: refresh mode has not published a generation (or is not on)", File, dir)
		default:
			return Status{}, err
		}
	}
}

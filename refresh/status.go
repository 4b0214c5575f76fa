package refresh

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/ecs-secret-injector/injector/writer"
)

// StatusFile is the name, under the output root, of the file that says how
// refresh mode is doing. Names beginning with ".." belong to the injector,
// so no item can write it, and it is not one of the visible files.
const StatusFile = "..status.json"

// Status is what the status file holds: timestamps, the generation and
// counts, never a value or an error text.
type Status struct {
	PID          int      `json:"pid"`
	Interval     Duration `json:"interval"`
	MaxStaleness Duration `json:"maxStaleness"`
	// Generation counts the generations this process published: 1 is the
	// first, 0 means none yet.
	Generation int64 `json:"generation"`
	Items      int   `json:"items"` // values watched
	Files      int   `json:"files"` // files in the current generation

	Started   time.Time `json:"started"`
	Published time.Time `json:"published"` // when the current generation was switched in
	// LastCheck is when the injector last confirmed every item current:
	// the first generation or a check without error.
	LastCheck   time.Time `json:"lastCheck"`
	LastAttempt time.Time `json:"lastAttempt"`

	Checks              int64 `json:"checks"`   // successful checks
	Changes             int64 `json:"changes"`  // generations published after the first
	Failures            int64 `json:"failures"` // failed checks
	ConsecutiveFailures int64 `json:"consecutiveFailures"`
	// Regions says which region last served each value read from AWS
	// (by reference): its own, or its failover region.
	Regions map[string]string `json:"regions,omitempty"`
}

// Duration is a time.Duration written as Go writes it ("1m30s").
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
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
	if age := now.Sub(s.LastCheck); age > time.Duration(s.MaxStaleness) {
		return fmt.Errorf("files unconfirmed for %s, longer than the max staleness %s (%d checks failed in a row)",
			age.Round(time.Millisecond), time.Duration(s.MaxStaleness), s.ConsecutiveFailures)
	}
	return nil
}

// WriteStatus replaces the status file under dir, atomically and durably
// (writer.WriteRootFile).
func WriteStatus(dir string, s Status) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("the status file %s: %w", StatusFile, err)
	}
	if err := writer.WriteRootFile(dir, StatusFile, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the status file %s: %w", StatusFile, err)
	}
	return nil
}

// ReadStatus reads the status file under dir.
func ReadStatus(dir string) (Status, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return Status{}, err
	}
	defer root.Close()
	fi, err := root.Lstat(StatusFile)
	if err != nil {
		return Status{}, err
	}
	if !fi.Mode().IsRegular() {
		return Status{}, fmt.Errorf("%s is not a regular file", StatusFile)
	}
	data, err := root.ReadFile(StatusFile)
	if err != nil {
		return Status{}, err
	}
	var s Status
	if err := json.Unmarshal(data, &s); err != nil {
		return Status{}, fmt.Errorf("%s: %w", StatusFile, err)
	}
	return s, nil
}

// Health reads the status file under dir and says whether refresh mode is
// healthy now. A status file that is missing is looked for again for up to
// wait, in case a write is replacing it.
func Health(dir string, wait time.Duration) (Status, error) {
	deadline := time.Now().Add(wait)
	for {
		s, err := ReadStatus(dir)
		switch {
		case err == nil:
			return s, s.Healthy(time.Now())
		case errors.Is(err, fs.ErrNotExist) && time.Now().Before(deadline):
			time.Sleep(50 * time.Millisecond)
		case errors.Is(err, fs.ErrNotExist):
			return Status{}, fmt.Errorf("no status file %s in %s: refresh mode has not published a generation (or is not on)", StatusFile, dir)
		default:
			return Status{}, err
		}
	}
}

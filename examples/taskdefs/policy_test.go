package taskdefs_test

// IAM policy documents as files: what a policy file must be before the
// simulator (iamsim_test.go) judges what it allows.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
)

// stringList is an IAM policy value that may be a string or a list.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

// statement is an identity-policy statement. NotAction, NotResource and
// Principal are absent, so strict decoding rejects them.
type statement struct {
	Sid       string
	Effect    string
	Action    stringList
	Resource  stringList
	Condition map[string]map[string]json.RawMessage
}

type policyDoc struct {
	Version   string
	Id        string
	Statement []statement
	raw       json.RawMessage // the document, for the simulator
}

// exactKeys reports object keys that are not spelt exactly as one of allowed
// (encoding/json alone would accept "version" for "Version").
func exactKeys(raw json.RawMessage, allowed ...string) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return fmt.Errorf("want a JSON object: %w", err)
	}
	var errs []error
	for _, k := range sortedKeys(obj) {
		if !slices.Contains(allowed, k) {
			errs = append(errs, fmt.Errorf("unexpected key %q", k))
		}
	}
	return errors.Join(errs...)
}

// parsePolicy decodes an identity policy strictly.
func parsePolicy(data []byte) (*policyDoc, error) {
	if err := exactKeys(data, "Version", "Id", "Statement"); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	var top struct{ Statement []json.RawMessage }
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	for i, st := range top.Statement {
		if err := exactKeys(st, "Sid", "Effect", "Action", "Resource", "Condition"); err != nil {
			return nil, fmt.Errorf("statement %d: %w", i, err)
		}
	}
	doc := policyDoc{raw: data}
	if err := decodeStrict(data, &doc); err != nil {
		return nil, err
	}
	if doc.Version != "2012-10-17" {
		return nil, fmt.Errorf("policy: Version %q, want 2012-10-17", doc.Version)
	}
	return &doc, nil
}

// loadPolicy reads a policy file. A file without statements is refused: it
// would allow nothing.
func loadPolicy(name string) (*policyDoc, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	doc, err := parsePolicy(data)
	if err == nil && len(doc.Statement) == 0 {
		err = errors.New("no statements")
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return doc, nil
}

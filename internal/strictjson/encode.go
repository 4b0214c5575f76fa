package strictjson

import (
	"bytes"
	"encoding/json"
)

// Marshal encodes v as JSON the way values are written out: no HTML
// escaping (no "\u003c" for "<"), indented by indent when it is not empty,
// and no trailing newline. Its error, if any, is encoding/json's.
func Marshal(v any, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

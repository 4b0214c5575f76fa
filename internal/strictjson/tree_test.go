package strictjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// plain turns a tree back into what Decode returns.
func plain(n *Node) any {
	switch {
	case n.IsObject():
		m := make(map[string]any, len(n.Members))
		for k, c := range n.Members {
			m[k] = plain(c)
		}
		return m
	case n.IsArray():
		a := make([]any, len(n.Elems))
		for i, c := range n.Elems {
			a[i] = plain(c)
		}
		return a
	}
	return n.Value
}

// checkTree checks that Tree decodes data as Decode does, and that every
// node's text is the compact form of what it was read from.
func checkTree(t *testing.T, data []byte, decoded any) {
	t.Helper()
	root, err := Tree(data)
	if err != nil {
		t.Fatalf("Tree: %v, Decode accepted it", err)
	}
	if !reflect.DeepEqual(plain(root), decoded) {
		t.Fatalf("Tree %#v, Decode %#v", plain(root), decoded)
	}
	var walk func(n *Node)
	walk = func(n *Node) {
		if _, isStr := n.Value.(string); !isStr {
			var buf bytes.Buffer
			if err := json.Compact(&buf, n.Raw); err != nil || !bytes.Equal(buf.Bytes(), n.Text()) {
				t.Fatalf("node text %q, json.Compact %q (%v)", n.Text(), buf.Bytes(), err)
			}
		}
		for _, c := range n.Members {
			walk(c)
		}
		for _, c := range n.Elems {
			walk(c)
		}
	}
	walk(root)
}

func TestTree(t *testing.T) {
	for _, in := range []string{
		` {"s":"a\u00e9","n":1.0e2, "o": {"x": [1, "y z", {}], "e": []}, "z": null, "t": true} `,
		`[ ]`, `{ }`, `"x"`, ` -0.5 `, `[[["deep"]]]`,
	} {
		d, err := Decode([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		checkTree(t, []byte(in), d)
	}
	root, _ := Tree([]byte(`{"o": {"b": 1, "a": [2, 3]}}`))
	// Members keep the document's order in their text.
	if got := string(root.Members["o"].Text()); got != `{"b":1,"a":[2,3]}` {
		t.Fatalf("text %s", got)
	}
	for in, kind := range map[string]string{`{}`: "an object", `[]`: "an array", `"s"`: "a string", `1`: "a number", `true`: "a boolean", `null`: "null"} {
		if n, _ := Tree([]byte(in)); n.Kind() != kind {
			t.Errorf("Kind(%s) = %s, want %s", in, n.Kind(), kind)
		}
	}
}

package strictjson

// Node is one JSON value of a document decoded by Tree, with the text it
// was read from, so that any part of the document can be selected after
// one decode and written as the document wrote it.
type Node struct {
	// Value is the decoded scalar (string, json.Number, bool or nil); nil
	// for an object or an array.
	Value any
	// Members are an object's members by key, nil for any other value.
	Members map[string]*Node
	// Elems are an array's elements, nil for any other value.
	Elems []*Node
	// Raw is the value's text in the input.
	Raw []byte
}

// IsObject reports whether n is a JSON object.
func (n *Node) IsObject() bool { return n.Members != nil }

// IsArray reports whether n is a JSON array.
func (n *Node) IsArray() bool { return n.Elems != nil }

// Kind names n's JSON type: "an object", "an array", "a string", "a
// number", "a boolean" or "null".
func (n *Node) Kind() string {
	switch {
	case n.IsObject():
		return "an object"
	case n.IsArray():
		return "an array"
	}
	return kindOf(n.Raw[0])
}

// Text is the bytes n stands for: the decoded text of a string, or the
// compact JSON text of any other value (numbers exactly as written, object
// members in document order).
func (n *Node) Text() []byte {
	if s, ok := n.Value.(string); ok {
		return []byte(s)
	}
	return compact(n.Raw)
}

// Tree parses data as exactly one JSON value, with the same checks as
// Decode, and returns it as a tree of nodes.
func Tree(data []byte) (*Node, error) {
	p := &parser{data: data, nodes: &nodeSlab{}}
	if err := p.start(); err != nil {
		return nil, err
	}
	n, err := p.node()
	if err != nil {
		return nil, err
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return n, nil
}

// node parses the value at p.pos (after white space) as a Node.
func (p *parser) node() (*Node, error) {
	start := p.pos
	if start >= len(p.data) {
		return nil, p.syntax("")
	}
	n := p.nodes.next()
	var err error
	switch p.data[start] {
	case '{':
		n.Members = map[string]*Node{}
		err = p.object(func(key string) error {
			c, err := p.node()
			n.Members[key] = c
			return err
		})
	case '[':
		n.Elems = []*Node{}
		err = p.array(func() error {
			c, err := p.node()
			n.Elems = append(n.Elems, c)
			return err
		})
	default:
		n.Value, err = p.value()
	}
	if err != nil {
		return nil, err
	}
	n.Raw = p.data[start:p.pos]
	return n, nil
}

// nodeSlab hands out nodes from blocks, one allocation for many.
type nodeSlab struct{ free []Node }

// slabSize is how many nodes one block holds.
const slabSize = 64

func (s *nodeSlab) next() *Node {
	if len(s.free) == 0 {
		s.free = make([]Node, slabSize)
	}
	n := &s.free[0]
	s.free = s.free[1:]
	return n
}

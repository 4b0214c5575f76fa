package tmpl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/template/parse"
)

// maxDepth is how deeply templates may call templates, as in text/template.
const maxDepth = 100000

// maxContext is the most bytes of template text an error quotes.
const maxContext = 80

// A value (of a variable, of dot, of a pipeline) is nil, text/template's
// missing or nil value, or one of the types in the package documentation.
type variable struct {
	name  string
	value any
}

// state is one execution: like text/template's, a copy is made for each
// template call, with its own variables.
type state struct {
	ctx   context.Context
	tmpl  *Template
	tree  *parse.Tree // executing, for error locations
	out   *output
	vars  []variable
	depth int
}

// control is how a walk ends: normally, or at a break or continue.
type control int

const (
	next control = iota
	breakLoop
	continueLoop
)

// errorf returns an execution error at node. The message must be built
// from template text and type names only.
func (s *state) errorf(node parse.Node, format string, args ...any) error {
	return s.wrap(node, nil, format, args...)
}

// wrap is errorf with a cause.
func (s *state) wrap(node parse.Node, cause error, format string, args ...any) error {
	location, text := s.tree.ErrorContext(node)
	if len(text) > maxContext {
		text = strings.ToValidUTF8(text[:maxContext-3], "") + "..."
	}
	return &ExecError{Name: s.tree.Name, Location: location, Context: text, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// stopped reports whether the context is done.
func (s *state) stopped(node parse.Node) error {
	if s.ctx.Err() != nil {
		return s.wrap(node, context.Cause(s.ctx), "stopped")
	}
	return nil
}

func (s *state) push(name string, v any) { s.vars = append(s.vars, variable{name, v}) }

func (s *state) pop(mark int) { s.vars = s.vars[:mark] }

func (s *state) setVar(node parse.Node, name string, v any) error {
	for i := len(s.vars) - 1; i >= 0; i-- {
		if s.vars[i].name == name {
			s.vars[i].value = v
			return nil
		}
	}
	return s.errorf(node, "undefined variable: %s", name)
}

func (s *state) varValue(node parse.Node, name string) (any, error) {
	for i := len(s.vars) - 1; i >= 0; i-- {
		if s.vars[i].name == name {
			return s.vars[i].value, nil
		}
	}
	return nil, s.errorf(node, "undefined variable: %s", name)
}

func (s *state) walk(dot any, node parse.Node) (control, error) {
	switch n := node.(type) {
	case *parse.ActionNode:
		// Variables declared here live until the enclosing end.
		v, err := s.evalPipeline(dot, n.Pipe)
		if err != nil || len(n.Pipe.Decl) > 0 {
			return next, err
		}
		return next, s.print(n, v)
	case *parse.BreakNode:
		return breakLoop, nil
	case *parse.ContinueNode:
		return continueLoop, nil
	case *parse.CommentNode:
	case *parse.IfNode:
		return s.walkIfOrWith(false, dot, &n.BranchNode)
	case *parse.WithNode:
		return s.walkIfOrWith(true, dot, &n.BranchNode)
	case *parse.ListNode:
		for _, c := range n.Nodes {
			if ctl, err := s.walk(dot, c); ctl != next || err != nil {
				return ctl, err
			}
		}
	case *parse.RangeNode:
		return next, s.walkRange(dot, n)
	case *parse.TemplateNode:
		return next, s.walkTemplate(dot, n)
	case *parse.TextNode:
		return next, s.write(n, n.Text)
	default:
		return next, s.errorf(node, "unknown node")
	}
	return next, nil
}

func (s *state) walkIfOrWith(with bool, dot any, b *parse.BranchNode) (control, error) {
	defer s.pop(len(s.vars))
	v, err := s.evalPipeline(dot, b.Pipe)
	if err != nil {
		return next, err
	}
	switch {
	case truth(v) && with:
		return s.walk(v, b.List)
	case truth(v):
		return s.walk(dot, b.List)
	case b.ElseList != nil:
		return s.walk(dot, b.ElseList)
	}
	return next, nil
}

// walkRange runs a range. As in text/template, the pipeline's variables are
// first given the whole value (which else and, for assignments, the code
// after end can see), then each element in turn.
func (s *state) walkRange(dot any, r *parse.RangeNode) error {
	defer s.pop(len(s.vars))
	val, err := s.evalPipeline(dot, r.Pipe)
	if err != nil {
		return err
	}
	mark := len(s.vars)
	decl := r.Pipe.Decl
	// one runs the body once; stop reports a break.
	one := func(index, elem any) (stop bool, err error) {
		if err := s.stopped(r.Pipe); err != nil {
			return true, err
		}
		switch {
		case len(decl) == 0:
		case r.Pipe.IsAssign && len(decl) == 1:
			err = s.setVar(r, decl[0].Ident[0], elem)
		case r.Pipe.IsAssign:
			if err = s.setVar(r, decl[0].Ident[0], index); err == nil {
				err = s.setVar(r, decl[1].Ident[0], elem)
			}
		case len(decl) == 1:
			s.vars[mark-1].value = elem
		default:
			s.vars[mark-1].value = elem
			s.vars[mark-2].value = index
		}
		if err != nil {
			return true, err
		}
		ctl, err := s.walk(elem, r.List)
		s.pop(mark)
		return ctl == breakLoop || err != nil, err
	}
	ran := false
	switch v := val.(type) {
	case int, int64, uint8:
		if len(decl) > 1 {
			return s.errorf(r.Pipe, "can't use %s to iterate over more than one variable", typeName(v))
		}
		ran, err = rangeInt(v, one)
	case []any:
		for i, e := range v {
			ran = true
			if stop, err := one(i, e); stop {
				return err
			}
		}
	case map[string]any:
		ran, err = rangeMap(v, one)
	case map[string]string:
		ran, err = rangeMap(v, one)
	case nil:
		// Like text/template: nothing to iterate over.
	default:
		return s.errorf(r.Pipe, "range can't iterate over a value of type %s", typeName(v))
	}
	if ran || err != nil {
		return err
	}
	if r.ElseList != nil {
		_, err = s.walk(dot, r.ElseList)
	}
	return err
}

// rangeInt runs one for 0, 1, ... n-1, in n's type.
func rangeInt(n any, one func(index, elem any) (bool, error)) (ran bool, err error) {
	each := func(elem any) bool {
		ran = true
		stop, e := one(nil, elem)
		err = e
		return stop
	}
	switch n := n.(type) {
	case int:
		for i := range n {
			if each(i) {
				break
			}
		}
	case int64:
		for i := range n {
			if each(i) {
				break
			}
		}
	case uint8:
		for i := range n {
			if each(i) {
				break
			}
		}
	}
	return ran, err
}

// rangeMap runs one for each entry of m in key order.
func rangeMap[V any](m map[string]V, one func(index, elem any) (bool, error)) (bool, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if stop, err := one(k, m[k]); stop {
			return true, err
		}
	}
	return len(keys) > 0, nil
}

func (s *state) walkTemplate(dot any, t *parse.TemplateNode) error {
	tree := s.tmpl.trees[t.Name]
	if tree == nil || tree.Root == nil {
		return s.errorf(t, "template %q not defined", t.Name)
	}
	if s.depth == maxDepth {
		return s.errorf(t, "exceeded maximum template depth (%d)", maxDepth)
	}
	if err := s.stopped(t); err != nil {
		return err
	}
	// Variables the pipeline declares stay in the caller.
	dot, err := s.evalPipeline(dot, t.Pipe)
	if err != nil {
		return err
	}
	callee := *s
	callee.depth++
	callee.tree = tree
	callee.vars = []variable{{"$", dot}}
	_, err = callee.walk(dot, tree.Root)
	return err
}

// evalPipeline evaluates a pipeline and declares or assigns its variables.
func (s *state) evalPipeline(dot any, pipe *parse.PipeNode) (any, error) {
	if pipe == nil {
		return nil, nil
	}
	var v any
	for i, cmd := range pipe.Cmds {
		var err error
		// Each command's value is the next one's last argument.
		if v, err = s.evalCommand(dot, cmd, final{v, i > 0}); err != nil {
			return nil, err
		}
	}
	for _, d := range pipe.Decl {
		if !pipe.IsAssign {
			s.push(d.Ident[0], v)
		} else if err := s.setVar(d, d.Ident[0], v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// final is the value of the previous command of a pipeline, if any.
type final struct {
	v  any
	ok bool
}

func (s *state) evalCommand(dot any, cmd *parse.CommandNode, fin final) (any, error) {
	args := cmd.Args[1:]
	switch n := cmd.Args[0].(type) {
	case *parse.FieldNode:
		return s.evalFieldChain(dot, dot, n, n.Ident, args, fin)
	case *parse.ChainNode:
		return s.evalChain(dot, n, args, fin)
	case *parse.IdentifierNode:
		return s.evalFunction(dot, n, cmd, args, fin)
	case *parse.VariableNode:
		return s.evalVariable(dot, n, args, fin)
	}
	first := cmd.Args[0]
	if err := s.notAFunction(first, args, fin); err != nil {
		return nil, err
	}
	switch n := first.(type) {
	case *parse.PipeNode:
		return s.evalPipeline(dot, n)
	case *parse.BoolNode:
		return n.True, nil
	case *parse.DotNode:
		return dot, nil
	case *parse.NilNode:
		return nil, s.errorf(n, "nil is not a command")
	case *parse.NumberNode:
		v, _, err := s.idealConstant(n)
		return v, err
	case *parse.StringNode:
		return n.Text, nil
	}
	return nil, s.errorf(first, "can't evaluate command %q", first)
}

func (s *state) notAFunction(node parse.Node, args []parse.Node, fin final) error {
	if len(args) > 0 || fin.ok {
		return s.errorf(node, "can't give argument to non-function %s", node)
	}
	return nil
}

// idealConstant is the value of a number constant where no type is
// expected, by text/template's rules. ok is false for a number that is none
// of int, float64 or complex128 (text/template's invalid value).
func (s *state) idealConstant(n *parse.NumberNode) (v any, ok bool, err error) {
	switch {
	case n.IsComplex:
		return n.Complex128, true, nil
	case n.IsFloat && !isHexInt(n.Text) && !isRuneInt(n.Text) && strings.ContainsAny(n.Text, ".eEpP"):
		return n.Float64, true, nil
	case n.IsInt:
		i := int(n.Int64)
		if int64(i) != n.Int64 {
			return nil, false, s.errorf(n, "%s overflows int", n.Text)
		}
		return i, true, nil
	case n.IsUint:
		return nil, false, s.errorf(n, "%s overflows int", n.Text)
	}
	return nil, false, nil
}

func isRuneInt(s string) bool { return strings.HasPrefix(s, "'") }

func isHexInt(s string) bool {
	return len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && !strings.ContainsAny(s, "pP")
}

func (s *state) evalChain(dot any, chain *parse.ChainNode, args []parse.Node, fin final) (any, error) {
	if len(chain.Field) == 0 {
		return nil, s.errorf(chain, "internal error: no fields in chain")
	}
	if chain.Node.Type() == parse.NodeNil {
		return nil, s.errorf(chain, "indirection through explicit nil in %s", chain)
	}
	recv, err := s.evalArg(dot, none, chain.Node)
	if err != nil {
		return nil, err
	}
	return s.evalFieldChain(dot, recv, chain, chain.Field, args, fin)
}

func (s *state) evalVariable(dot any, v *parse.VariableNode, args []parse.Node, fin final) (any, error) {
	value, err := s.varValue(v, v.Ident[0])
	if err != nil {
		return nil, err
	}
	if len(v.Ident) == 1 {
		return value, s.notAFunction(v, args, fin)
	}
	return s.evalFieldChain(dot, value, v, v.Ident[1:], args, fin)
}

// evalFieldChain evaluates .X.Y.Z on recv; the last one gets the arguments.
func (s *state) evalFieldChain(dot, recv any, node parse.Node, idents []string, args []parse.Node, fin final) (any, error) {
	for _, id := range idents[:len(idents)-1] {
		var err error
		if recv, err = s.evalField(dot, id, node, nil, final{}, recv); err != nil {
			return nil, err
		}
	}
	return s.evalField(dot, idents[len(idents)-1], node, args, fin, recv)
}

// evalField evaluates a field: a method of json.Number, or a map entry.
func (s *state) evalField(dot any, name string, node parse.Node, args []parse.Node, fin final, recv any) (any, error) {
	hasArgs := len(args) > 0 || fin.ok
	var (
		v  any
		ok bool
	)
	switch r := recv.(type) {
	case nil:
		return nil, s.errorf(node, "nil data; no entry for key %q", name)
	case json.Number:
		if f, ok := numberMethod(r, name); ok {
			return s.evalCall(dot, f, node, node, name, args, fin)
		}
		return nil, s.errorf(node, "can't evaluate field %s in type %s", name, typeName(recv))
	case map[string]any:
		v, ok = r[name]
	case map[string]string:
		v, ok = r[name]
	default:
		return nil, s.errorf(node, "can't evaluate field %s in type %s", name, typeName(recv))
	}
	if hasArgs {
		return nil, s.errorf(node, "%s is not a method but has arguments", name)
	}
	if !ok {
		return nil, s.errorf(node, "map has no entry for key %q", name)
	}
	return v, nil
}

// evalFunction calls the function named by id; cmd is the whole command.
func (s *state) evalFunction(dot any, id *parse.IdentifierNode, cmd parse.Node, args []parse.Node, fin final) (any, error) {
	f, ok := s.function(id.Ident)
	if !ok {
		return nil, s.errorf(id, "%q is not a defined function", id.Ident)
	}
	return s.evalCall(dot, f, id, cmd, id.Ident, args, fin)
}

// function finds a function: the template's own, then the builtins.
func (s *state) function(name string) (function, bool) {
	if f, ok := s.tmpl.funcs[name]; ok {
		return function{params: []param{stringParam}, call: func(_ *state, args []any) (any, error) {
			return f(args[0].(string))
		}}, true
	}
	return builtin(name)
}

// evalCall evaluates the arguments and calls f. fin, if present, is the
// last argument. Errors are located at node, the function's name, or for
// the function's own errors at cmd.
func (s *state) evalCall(dot any, f function, node, cmd parse.Node, name string, args []parse.Node, fin final) (any, error) {
	numIn := len(args)
	if fin.ok {
		numIn++
	}
	numFixed := len(args)
	if f.variadic != none {
		numFixed = len(f.params)
		if numIn < numFixed {
			return nil, s.errorf(node, "wrong number of args for %s: want at least %d got %d", name, len(f.params), len(args))
		}
	} else if numIn != len(f.params) {
		return nil, s.errorf(node, "wrong number of args for %s: want %d got %d", name, len(f.params), numIn)
	}
	if err := s.stopped(node); err != nil {
		return nil, err
	}
	if f.and || f.or {
		// Arguments are evaluated until one decides; the pipeline's value,
		// if there is one, is returned without being tested.
		var v any
		for _, a := range args {
			var err error
			if v, err = s.evalArg(dot, valueParam, a); err != nil {
				return nil, err
			}
			if truth(v) == f.or {
				return v, nil
			}
		}
		if fin.ok {
			v = fin.v
		}
		return v, nil
	}
	argv := make([]any, numIn)
	i := 0
	for ; i < len(args); i++ {
		p := f.variadic
		if i < numFixed {
			p = f.params[i]
		}
		var err error
		if argv[i], err = s.evalArg(dot, p, args[i]); err != nil {
			return nil, err
		}
	}
	if fin.ok {
		p := f.variadic
		if numIn-1 < len(f.params) {
			p = f.params[numIn-1]
		}
		var err error
		if argv[i], err = s.validate(node, fin.v, p); err != nil {
			return nil, err
		}
	}
	v, err := f.call(s, argv)
	if err != nil {
		return nil, s.wrap(cmd, err, "error calling %s", name)
	}
	return v, nil
}

// validate checks that v can be passed as an argument of kind p.
func (s *state) validate(node parse.Node, v any, p param) (any, error) {
	if p != stringParam {
		return v, nil
	}
	switch v.(type) {
	case string:
		return v, nil
	case nil:
		return nil, s.errorf(node, "invalid value; expected string")
	}
	return nil, s.errorf(node, "wrong type for value; expected string; got %s", typeName(v))
}

// evalArg evaluates an argument of kind p.
func (s *state) evalArg(dot any, p param, n parse.Node) (any, error) {
	var (
		v   any
		err error
	)
	switch n := n.(type) {
	case *parse.DotNode:
		v = dot
	case *parse.NilNode:
		if p == stringParam || p == none {
			return nil, s.errorf(n, "cannot assign nil to %s", p)
		}
		return nil, nil
	case *parse.FieldNode:
		v, err = s.evalFieldChain(dot, dot, n, n.Ident, nil, final{})
	case *parse.VariableNode:
		v, err = s.evalVariable(dot, n, nil, final{})
	case *parse.PipeNode:
		v, err = s.evalPipeline(dot, n)
	case *parse.IdentifierNode:
		v, err = s.evalFunction(dot, n, n, nil, final{})
	case *parse.ChainNode:
		v, err = s.evalChain(dot, n, nil, final{})
	default:
		return s.evalConstant(p, n)
	}
	if err != nil {
		return nil, err
	}
	return s.validate(n, v, p)
}

// evalConstant evaluates a constant argument of kind p.
func (s *state) evalConstant(p param, n parse.Node) (any, error) {
	switch p {
	case stringParam:
		if n, ok := n.(*parse.StringNode); ok {
			return n.Text, nil
		}
		return nil, s.errorf(n, "expected string; found %s", n)
	case anyParam, valueParam:
		switch n := n.(type) {
		case *parse.BoolNode:
			return n.True, nil
		case *parse.StringNode:
			return n.Text, nil
		case *parse.NumberNode:
			v, ok, err := s.idealConstant(n)
			if err == nil && !ok && p == anyParam {
				// text/template passes an invalid value, and the call fails.
				err = s.errorf(n, "%s is not a valid constant here", n)
			}
			return v, err
		}
	}
	return nil, s.errorf(n, "can't handle %s for arg of type %s", n, p)
}

// print writes a value as an action does.
func (s *state) print(node parse.Node, v any) error {
	if v == nil {
		return s.write(node, []byte("<no value>"))
	}
	if err := s.stopped(node); err != nil {
		return err
	}
	if _, err := fmt.Fprint(s.out, v); err != nil {
		return s.wrap(node, err, "output")
	}
	return nil
}

func (s *state) write(node parse.Node, p []byte) error {
	if err := s.stopped(node); err != nil {
		return err
	}
	if _, err := s.out.Write(p); err != nil {
		return s.wrap(node, err, "output")
	}
	return nil
}

// output collects the output up to its limit. fmt.Fprint writes each value
// in one call, so a value that does not fit is not written at all.
type output struct {
	buf bytes.Buffer
	max int64
}

func (o *output) Write(p []byte) (int, error) {
	if int64(o.buf.Len())+int64(len(p)) > o.max {
		return 0, &LimitError{What: "output", Max: o.max}
	}
	return o.buf.Write(p)
}

// typeName is the Go type of a value, for error messages.
func typeName(v any) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprintf("%T", v)
}

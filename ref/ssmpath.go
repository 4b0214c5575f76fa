package ref

import (
	"errors"
	"strings"
)

// parsePath parses an SSM path, a parameter name that ends in "/": it
// names every parameter below it. From an ARN the path comes without its
// leading slash ("parameter/app/prod/"), which is put back.
func parsePath(name string, fromARN, hasSelector bool, opts ...option) (Ref, error) {
	if hasSelector {
		return Ref{}, errors.New("a parameter path takes no :version or :label selector")
	}
	if fromARN {
		name = "/" + name
	}
	if !strings.HasPrefix(name, "/") {
		return Ref{}, errors.New("a parameter path must start with / (ssm:/app/prod/)")
	}
	if strings.Contains(name, "//") {
		return Ref{}, errors.New("a parameter path must not hold an empty element (//)")
	}
	r := Ref{Target: Target{Source: SSMPath, ID: name}}
	for _, o := range opts {
		o(&r)
	}
	return r, nil
}

package config

import "reflect"

// Prefix is the prefix of every setting's variable.
const Prefix = "INJECTOR"

// Variable is one setting: its environment variable, default and meaning.
type Variable struct {
	Name, Default, Doc string
	Required           bool
}

// Variables lists every setting from Settings' tags, in the order of the
// table in docs/configuration.md: the required ones first, then the others
// as Settings declares them.
func Variables() []Variable {
	t := reflect.TypeFor[Settings]()
	var required, others []Variable
	for i := range t.NumField() {
		tag := t.Field(i).Tag
		name := tag.Get("envconfig")
		if name == "" {
			continue
		}
		v := Variable{Name: name, Default: tag.Get("default"), Doc: tag.Get("desc"), Required: tag.Get("required") == "true"}
		if v.Required {
			required = append(required, v)
		} else {
			others = append(others, v)
		}
	}
	return append(required, others...)
}

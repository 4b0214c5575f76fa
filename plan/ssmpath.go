package plan

import (
	"fmt"

	"github.com/ecs-secret-injector/injector/formats"
	"github.com/ecs-secret-injector/injector/ref"
)

// checkPath checks what an item may do with an SSM path (ssm:/app/prod/)
// or a secret prefix (secretsmanager:app/prod/*), whose value is a JSON
// object of parameters or secrets: raw, explode, dotenv and
// template take it; the registry formats, which want one login, do not.
// allowEmpty is for items that read paths only.
func checkPath(r ref.Ref, it Item) error {
	if !r.Source.Many() {
		if it.AllowEmpty && !itemReadsPath(it) {
			return fmt.Errorf("allowEmpty applies to SSM paths (ssm:/PATH/) and secret prefixes (secretsmanager:PREFIX/*) only, not %s", r.Raw)
		}
		return nil
	}
	if f, ok := formats.Lookup(it.Format); ok && f.Fields().Login {
		what := "an SSM path"
		if r.Source == ref.SecretsPrefix {
			what = "a secret prefix"
		}
		return fmt.Errorf("%s is %s, which format %s cannot take (it wants one login)", r.Raw, what, it.Format)
	}
	return nil
}

// itemReadsPath reports whether any reference of it is an SSM path, so that
// allowEmpty on a template with a path among other inputs is accepted.
func itemReadsPath(it Item) bool {
	refs := []string{it.From}
	for _, v := range it.Inputs {
		refs = append(refs, v)
	}
	for _, s := range refs {
		if r, err := ref.Parse(s); err == nil && r.Source.Many() {
			return true
		}
	}
	return false
}

package plan

import (
	"errors"
	"strings"
	"testing"
)

// An item's mode, uid and gid are checked by the settings' rules, and
// errors name the item and the field.
func TestItemPerm(t *testing.T) {
	tests := []struct {
		name, item string
		wantErr    []string
	}{
		{"all three", `{"from":"ssm:/a","path":"a","mode":"0600","uid":999,"gid":999}`, nil},
		{"mode only, without a leading zero", `{"from":"ssm:/a","path":"a","mode":"640"}`, nil},
		{"-1 keeps the process's", `{"from":"ssm:/a","path":"a","uid":-1,"gid":-1}`, nil},
		{"largest id", `{"from":"ssm:/a","path":"a","uid":4294967294}`, nil},
		{"group write", `{"from":"ssm:/a","path":"a","mode":"0660"}`, []string{`item 1: field "mode"`, `file mode "0660": group or other write permission is not allowed`}},
		{"other write", `{"from":"ssm:/a","path":"a","mode":"0602"}`, []string{`field "mode"`, "group or other write"}},
		{"not owner-readable", `{"from":"ssm:/a","path":"a","mode":"0200"}`, []string{`field "mode"`, "the owner must be able to read"}},
		{"no bits", `{"from":"ssm:/a","path":"a","mode":"0000"}`, []string{`field "mode"`, "the owner must be able to read"}},
		{"setuid", `{"from":"ssm:/a","path":"a","mode":"4400"}`, []string{`field "mode"`, "setuid"}},
		{"not octal", `{"from":"ssm:/a","path":"a","mode":"0800"}`, []string{`field "mode"`, "want octal"}},
		{"a number", `{"from":"ssm:/a","path":"a","mode":600}`, []string{`item 1: field "mode" must be a string of octal digits`}},
		{"uid too large", `{"from":"ssm:/a","path":"a","uid":4294967295}`, []string{`item 1: field "uid"`, `"4294967295": must be -1 (leave as is) or an id from 0 to 4294967294`}},
		{"gid below -1", `{"from":"ssm:/a","path":"a","gid":-2}`, []string{`item 1: field "gid"`, "must be -1"}},
		{"uid not an integer", `{"from":"ssm:/a","path":"a","uid":1.5}`, []string{`field "uid"`, "must be -1"}},
		{"uid exponent", `{"from":"ssm:/a","path":"a","uid":1e3}`, []string{`field "uid"`, "must be -1"}},
		{"uid a string", `{"from":"ssm:/a","path":"a","uid":"999"}`, []string{`item 1: field "uid" must be a number`}},
		{"every error at once", `{"from":"ssm:/a","path":"a","mode":"0666","uid":-5,"gid":true}`, []string{`field "mode"`, `field "uid"`, `field "gid" must be a number`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := ParseSpec([]byte(`[{"from":"ssm:/ok","path":"ok"},` + tt.item + `]`))
			if err == nil {
				_, err = Build(items)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrSpec) {
				t.Fatalf("err = %v, want ErrSpec", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestItemPermPlanned(t *testing.T) {
	uid := 999
	p, err := Build([]Item{
		{From: "ssm:/a", Path: "a", Mode: "0600", UID: &uid},
		{From: "ssm:/b", Path: "b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if o := p.Outputs[0].Perm; o.Mode == nil || *o.Mode != 0o600 || o.UID == nil || *o.UID != 999 || o.GID != nil {
		t.Errorf("output 0 perm: %+v", o)
	}
	if !p.Outputs[1].Perm.IsZero() {
		t.Errorf("output 1 perm: %+v", p.Outputs[1].Perm)
	}
	// An Item built in code is checked as a parsed one.
	bad := -7
	for _, it := range []Item{{From: "ssm:/a", Path: "a", Mode: "0666"}, {From: "ssm:/a", Path: "a", GID: &bad}} {
		if _, err := Build([]Item{it}); !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), `item 0 (path "a")`) {
			t.Errorf("Build(%+v) err = %v", it, err)
		}
	}
	// Items merged into one registry document must agree.
	_, err = Build([]Item{
		{From: "ssm:/r1", Path: "config.json", Format: "dockerconfigjson", Registry: "ghcr.io", Mode: "0440"},
		{From: "ssm:/r2", Path: "config.json", Format: "dockerconfigjson", Registry: "quay.io"},
	})
	if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), "must give the same mode, uid and gid") {
		t.Errorf("merged registries with different modes: %v", err)
	}
}

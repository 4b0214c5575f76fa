package main

import (
	"slices"
	"testing"
)

// TestWarnings: which settings warn that an app of another uid may not read
// the files.
func TestWarnings(t *testing.T) {
	tests := []struct {
		mode, uid, gid string
		want           []string
	}{
		{"", "", "", []string{warnOwnerOnlyProcess}}, // the default, 0400
		{"0600", "", "", []string{warnOwnerOnlyProcess}},
		{"0400", "1000", "", []string{warnOwnerOnlyUID}},
		{"0400", "", "1000", []string{warnOwnerOnlyProcess}},
		{"0440", "", "", []string{warnGroupProcess}},
		{"0640", "0", "", []string{warnGroupProcess}},
		{"0440", "", "65532", nil},
		{"0440", "0", "65532", nil},
		{"0444", "", "", []string{warnOtherRead}},
		{"0644", "", "65532", []string{warnOtherRead}},
	}
	for _, tc := range tests {
		env := map[string]string{"INJECTOR_DIR": "/secrets", "INJECTOR_SPEC": "[]"}
		for name, v := range map[string]string{"INJECTOR_FILE_MODE": tc.mode, "INJECTOR_UID": tc.uid, "INJECTOR_GID": tc.gid} {
			if v != "" {
				env[name] = v
			}
		}
		if got := warnings(parseSettings(t, env)); !slices.Equal(got, tc.want) {
			t.Errorf("mode %q uid %q gid %q: warnings %q, want %q", tc.mode, tc.uid, tc.gid, got, tc.want)
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

const permSpec = `[
 {"from":"secretsmanager:db/key","path":"pg/server.key","mode":"0600","uid":999,"gid":999},
 {"from":"secretsmanager:web/key","path":"tls/nginx.key","mode":"0440","uid":0,"gid":101},
 {"from":"secretsmanager:web/chain","path":"tls/chain.pem","mode":"0444"},
 {"from":"secretsmanager:app/token","path":"token"}
]`

// validate shows each file's mode and owner when an item gives its own,
// and warns per item by the settings' rules.
func TestWritePerItemPerm(t *testing.T) {
	run, env := planned(t, permSpec, map[string]string{"INJECTOR_UID": "1000", "INJECTOR_GID": "1000"})
	got := planText(t, run, env)
	for _, want := range []string{
		"  PATH           MODE  OWNER      FORMAT  FROM\n",
		"  pg/server.key  0600  999:999    raw     secretsmanager:db/key\n",
		"  tls/nginx.key  0440  0:101      raw     secretsmanager:web/key\n",
		"  tls/chain.pem  0444  1000:1000  raw     secretsmanager:web/chain\n",
		"  token          0400  1000:1000  raw     secretsmanager:app/token\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("text does not hold %q:\n%s", want, got)
		}
	}
	wantWarnings := []string{
		warnOwnerOnlyUID,
		`1 item at "pg/server.key": ` + fmt.Sprintf(warnItemOwnerOnlyUID, 0o600, 999),
		`1 item at "tls/chain.pem": ` + fmt.Sprintf(warnItemOtherRead, 0o444),
	}
	if w := planWarnings(env.Settings, run.Plan); !slices.Equal(w, wantWarnings) {
		t.Errorf("warnings\n%q\nwant\n%q", w, wantWarnings)
	}
	var b bytes.Buffer
	if err := writePlanJSON(&b, run, env); err != nil {
		t.Fatal(err)
	}
	var v view
	if err := json.Unmarshal(b.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if f := v.Files[0]; f.Mode != "0600" || f.UID != 999 || f.GID != 999 || !f.Own {
		t.Errorf("file 0: %+v", f)
	}
	if f := v.Files[3]; f.Mode != "0400" || f.UID != 1000 || f.GID != 1000 || f.Own {
		t.Errorf("file 3: %+v", f)
	}

	// Every item with its own: the settings' warning is left out, and
	// items with the same mode and owner share one.
	run, env = planned(t, `[{"from":"ssm:/a","path":"a","mode":"0440"},{"from":"ssm:/b","path":"b","mode":"0440"}]`, nil)
	want := []string{`2 items at "a", "b": ` + fmt.Sprintf(warnItemGroupProcess, 0o440)}
	if w := planWarnings(env.Settings, run.Plan); !slices.Equal(w, want) {
		t.Errorf("warnings %q, want %q", w, want)
	}
	// No item with its own: the text is as before, without the columns.
	run, env = planned(t, planSpec, nil)
	if got := planText(t, run, env); strings.Contains(got, "OWNER") {
		t.Errorf("columns without an item's own mode:\n%s", got)
	}
}

package sources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestSSMPath(t *testing.T) {
	f := newFake()
	f.sloppyPath = true
	for i := range 23 {
		f.addParam(fmt.Sprintf("/app/prod/svc%02d/key", i), fmt.Sprintf("v<%02d>", i), 1)
	}
	f.addParam("/app/prod/db/url", "postgres://db", 3)
	f.addParam("/app/production/x", secretValue, 1) // shares the text, not the path
	f.addParam("/app/prodx", secretValue, 1)
	f.addParam("/app/other", secretValue, 1)
	reqs := requests(t, "ssm:/app/prod/", "ssm:/app/prod/db/url")
	vals, err := fetcher(f, Options{Concurrency: 4}).Fetch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(vals[reqs[0].Target].Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 24 || got["db/url"] != "postgres://db" || got["svc07/key"] != "v<07>" {
		t.Errorf("path value has %d names: %v", len(got), got)
	}
	if strings.Contains(string(vals[reqs[0].Target].Bytes()), secretValue) {
		t.Error("a parameter outside the path is in its value")
	}
	if !strings.Contains(string(vals[reqs[0].Target].Bytes()), `"v<07>"`) {
		t.Error("values are HTML-escaped")
	}
	if v := vals[reqs[0].Target].Version().ID; len(v) != 32 {
		t.Errorf("version %q", v)
	}
	counts := map[string]int{}
	for _, c := range f.callList() {
		counts[c]++
	}
	// 26 names answered (24 + the two that only share the text): 3 pages.
	if counts["us-east-1 GetParametersByPath"] != 3 || counts["us-east-1 GetParameters"] != 1 {
		t.Errorf("calls %v", counts)
	}
}

func TestSSMPathVersionChanges(t *testing.T) {
	version := func(f *fakeAWS) string {
		t.Helper()
		r := requests(t, "ssm:/a/")
		v, err := fetcher(f, Options{}).Fetch(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		return v[r[0].Target].Version().ID
	}
	f := newFake()
	f.addParam("/a/x", "1", 1)
	v1 := version(f)
	f.addParam("/a/x", "2", 2)
	v2 := version(f)
	f.addParam("/a/y", "3", 1)
	if v3 := version(f); v1 == v2 || v2 == v3 {
		t.Errorf("versions %s %s %s", v1, v2, v3)
	}
}

func TestSSMPathErrors(t *testing.T) {
	tests := []struct {
		name    string
		params  int
		opts    Options
		allow   bool
		fail    error
		wantErr string // "" for success
		wantLen int
	}{
		{name: "empty", wantErr: "no parameter under the path"},
		{name: "empty allowed", allow: true, wantLen: 0},
		{name: "at the default limit", params: 1000, wantLen: 1000},
		{name: "over the default limit", params: 1001, wantErr: "more than 1000 parameters under the path"},
		{name: "raised limit", params: 1001, opts: Options{MaxPathParameters: 2000}, wantLen: 1001},
		{name: "lowered limit", params: 11, opts: Options{MaxPathParameters: 10}, wantErr: "more than 10 parameters"},
		{name: "too large", params: 20, opts: Options{MaxValueBytes: 50}, wantErr: "larger than 50 bytes"},
		{name: "denied", params: 1, fail: apiError("AccessDeniedException", "not authorized"), wantErr: "AccessDeniedException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			for i := range tt.params {
				f.addParam(fmt.Sprintf("/p/%04d", i), secretValue, 1)
			}
			if tt.fail != nil {
				f.fail = func(string, string) error { return tt.fail }
			}
			r := Request{Target: target(t, "ssm:/p/"), AllowEmpty: tt.allow}
			vals, err := fetcher(f, tt.opts).Fetch(context.Background(), []Request{r})
			assertNoValue(t, err)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrFetch) || !strings.Contains(fmt.Sprint(err), tt.wantErr) || !strings.Contains(fmt.Sprint(err), "ssm:/p/") {
					t.Fatalf("err = %v, want %q naming the path", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]string
			if err := json.Unmarshal(vals[r.Target].Bytes(), &got); err != nil || len(got) != tt.wantLen {
				t.Fatalf("%d names, %v", len(got), err)
			}
		})
	}
}

func TestSSMPathRoot(t *testing.T) {
	f := newFake()
	f.addParam("/a/b", "1", 1)
	f.addParam("/c", "2", 1)
	r := requests(t, "ssm:/")
	vals, err := fetcher(f, Options{}).Fetch(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(vals[r[0].Target].Bytes()); got != `{"a/b":"1","c":"2"}` {
		t.Errorf("root = %s", got)
	}
}

// Refresh mode: a path's check (no decryption) reports the version its
// fetch reported, and a change below the path changes it; env: targets
// are fixed and never checked.
func TestSSMPathAndEnvVersions(t *testing.T) {
	f := newFake()
	f.addParam("/a/x", "1", 1)
	f.addParam("/a/y/z", "2", 4)
	fe := newFetcher(f, "us-east-1", Options{LookupEnv: environ(map[string]string{"E": "v"})})
	reqs := requests(t, "ssm:/a/", "env:E")
	vals, err := fe.Fetch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	before := len(f.callList())
	vers, err := fe.Versions(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if vers[reqs[0].Target] != vals[reqs[0].Target].Version() {
		t.Errorf("check %+v, fetch %+v", vers[reqs[0].Target], vals[reqs[0].Target].Version())
	}
	if _, checked := vers[reqs[1].Target]; checked || !Fixed(reqs[1].Target) {
		t.Error("env: target checked")
	}
	if n := len(f.callList()) - before; n != 1 {
		t.Errorf("%d calls for the check, want 1", n)
	}
	f.addParam("/a/y/z", "3", 5)
	after, err := fe.Versions(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if after[reqs[0].Target] == vers[reqs[0].Target] {
		t.Error("a changed parameter below the path left its version as it was")
	}
}

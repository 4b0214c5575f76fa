package sources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestSecretPrefix(t *testing.T) {
	f := newFake()
	f.pageAt = 20
	for i := range 23 {
		f.addSecret(fmt.Sprintf("app/prod/svc%02d/key", i), fmt.Sprintf("v<%02d>", i))
	}
	f.addSecret("app/prod/db/url", "postgres://db")
	f.addSecret("APP/PROD/upper", secretValue)   // the service's filter ignores case
	f.addSecret("app/production/x", secretValue) // shares the text, not the prefix
	f.addSecret("app/prod", secretValue)
	reqs := requests(t, "secretsmanager:app/prod/*")
	fe := fetcher(f, Options{Concurrency: 4, MaxPathParameters: 1000})
	vals, err := fe.Fetch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(vals[reqs[0].Target].Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 24 || got["db/url"] != "postgres://db" || got["svc07/key"] != "v<07>" {
		t.Errorf("prefix value has %d names: %v", len(got), got)
	}
	if strings.Contains(string(vals[reqs[0].Target].Bytes()), secretValue) {
		t.Error("a secret outside the prefix is in its value")
	}
	// 25 names answered (24 and the upper-case one): 2 pages.
	if calls := f.callList(); len(calls) != 2 || calls[0] != "us-east-1 BatchGetSecretValue" {
		t.Errorf("calls %v", calls)
	}

	// The check's version is the fetch's, and moves when the set or a
	// current version does.
	version := func() string {
		t.Helper()
		v, err := fe.Versions(context.Background(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		return v[reqs[0].Target].ID
	}
	v0 := version()
	if v0 != vals[reqs[0].Target].Version().ID {
		t.Fatalf("check version %s, fetch version %s", v0, vals[reqs[0].Target].Version().ID)
	}
	f.addSecret("APP/PROD/other", secretValue)
	if version() != v0 {
		t.Error("a secret outside the prefix changed its version")
	}
	f.addSecret("app/prod/new", "n")
	v1 := version()
	if v1 == v0 {
		t.Error("an added secret left the version")
	}
	s := f.secrets["app/prod/db/url"]
	s.versionID, s.others = "v-new", map[string][]string{"v-app/prod/db/url": {"AWSPREVIOUS"}}
	f.secrets["app/prod/db/url"] = s
	v2 := version()
	if v2 == v1 {
		t.Error("a new current version left the version")
	}
	delete(f.secrets, "app/prod/new")
	if v := version(); v == v2 || v == v1 {
		t.Error("a removed secret left the version")
	}
}

func TestSecretPrefixErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fakeAWS)
		req   Request
		opts  Options
		want  string
	}{
		{"empty", func(*fakeAWS) {}, Request{}, Options{}, "no secret under the prefix"},
		{"over the maximum", func(f *fakeAWS) {
			for i := range 3 {
				f.addSecret(fmt.Sprintf("p/s%d", i), "v")
			}
		}, Request{}, Options{MaxPathParameters: 2}, "more than 2 secrets under the prefix"},
		{"binary", func(f *fakeAWS) {
			f.secrets["p/bin"] = fakeSecret{arn: "arn:aws:secretsmanager:us-east-1:111122223333:secret:p/bin-AbCdEf",
				versionID: "v", stages: []string{"AWSCURRENT"}, bin: []byte{0, 0xff}}
		}, Request{}, Options{}, "secret p/bin has no string value"},
		{"refused", func(f *fakeAWS) {
			f.addSecret("p/a", secretValue)
			s := f.secrets["p/a"]
			s.batchError = "DecryptionFailure"
			f.secrets["p/a"] = s
		}, Request{}, Options{}, "DecryptionFailure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			tt.setup(f)
			tt.req.Target = target(t, "secretsmanager:p/*")
			if tt.opts.MaxPathParameters == 0 {
				tt.opts.MaxPathParameters = 1000
			}
			_, err := fetcher(f, tt.opts).Fetch(context.Background(), []Request{tt.req})
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a fetch error saying %q", err, tt.want)
			}
			assertNoValue(t, err)
		})
	}
	// allowEmpty: an empty object.
	f := newFake()
	r := Request{Target: target(t, "secretsmanager:p/*"), AllowEmpty: true}
	vals, err := fetcher(f, Options{MaxPathParameters: 10}).Fetch(context.Background(), []Request{r})
	if err != nil || string(vals[r.Target].Bytes()) != "{}" {
		t.Fatalf("allowEmpty: %q, %v", vals[r.Target].Bytes(), err)
	}
}

package plan

import (
	"errors"
	"strings"
	"testing"
)

func TestAccessFields(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/reader"
	tests := []struct {
		name  string
		items []Item
		d     Defaults
		want  string // "" for no error; else a part of the error
		check func(t *testing.T, p Plan)
	}{
		{name: "role and external id", items: []Item{{From: "secretsmanager:a", Path: "a", RoleARN: role, ExternalID: "ext-1"}},
			check: func(t *testing.T, p Plan) {
				if f := p.Fetches[0]; f.RoleARN != role || f.ExternalID != "ext-1" {
					t.Errorf("fetch %+v", f)
				}
			}},
		{name: "default role and failover", items: []Item{{From: "secretsmanager:a", Path: "a"}, {From: "ssm:/b", Path: "b", FailoverRegion: "eu-west-1"}},
			d: Defaults{RoleARN: role, FailoverRegion: "us-west-2"},
			check: func(t *testing.T, p Plan) {
				if f := p.Fetches[0]; f.RoleARN != role || f.FailoverRegion != "us-west-2" {
					t.Errorf("fetch 0 %+v", f)
				}
				if f := p.Fetches[1]; f.RoleARN != role || f.FailoverRegion != "eu-west-1" {
					t.Errorf("fetch 1 %+v", f)
				}
			}},
		{name: "sse key read as the item's role", items: []Item{{From: "s3://b/k", Path: "k", SSECustomerKey: "secretsmanager:key", RoleARN: role}},
			check: func(t *testing.T, p Plan) {
				for _, f := range p.Fetches {
					if f.RoleARN != role {
						t.Errorf("fetch %s read as %q", f.Target, f.RoleARN)
					}
				}
			}},
		{name: "not a role", items: []Item{{From: "secretsmanager:a", Path: "a", RoleARN: "arn:aws:iam::111122223333:user/bob"}}, want: `item 0 (path "a"): field "roleArn"`},
		{name: "not an arn", items: []Item{{From: "secretsmanager:a", Path: "a", RoleARN: "reader"}}, want: `field "roleArn": "reader" is not an IAM role ARN`},
		{name: "short account", items: []Item{{From: "secretsmanager:a", Path: "a", RoleARN: "arn:aws:iam::1111:role/r"}}, want: `field "roleArn"`},
		{name: "external id without role", items: []Item{{From: "secretsmanager:a", Path: "a", ExternalID: "ext-1"}}, want: `field "externalId": needs roleArn`},
		{name: "bad external id", items: []Item{{From: "secretsmanager:a", Path: "a", RoleARN: role, ExternalID: "a b"}}, want: `field "externalId"`},
		{name: "bad region", items: []Item{{From: "secretsmanager:a", Path: "a", FailoverRegion: "mars"}}, want: `field "failoverRegion": "mars" is not a region name`},
		{name: "one target two roles", items: []Item{{From: "secretsmanager:a", Path: "a", RoleARN: role}, {From: "secretsmanager:a", Path: "b"}}, want: "different roleArn"},
		{name: "one target two failovers", items: []Item{{From: "secretsmanager:a", Path: "a", FailoverRegion: "us-west-2"}, {From: "secretsmanager:a", Path: "b"}}, want: "different failoverRegion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := BuildWith(tt.items, tt.d)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, p)
				return
			}
			if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrSpec with %q", err, tt.want)
			}
		})
	}
}

func TestParseAccessFields(t *testing.T) {
	items, err := ParseSpec([]byte(`[{"from":"secretsmanager:a","path":"a","roleArn":"arn:aws:iam::111122223333:role/r","externalId":"x1","failoverRegion":"us-west-2"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if it := items[0]; it.RoleARN != "arn:aws:iam::111122223333:role/r" || it.ExternalID != "x1" || it.FailoverRegion != "us-west-2" {
		t.Errorf("%+v", it)
	}
	if _, err := ParseSpec([]byte(`[{"from":"secretsmanager:a","path":"a","roleArn":7}]`)); err == nil || !strings.Contains(err.Error(), `item 0: field "roleArn" must be a string`) {
		t.Errorf("err = %v", err)
	}
}

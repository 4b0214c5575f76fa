package sources

import (
	"context"
	"slices"
	"testing"

	"github.com/ecs-secret-injector/injector/secret"
)

// TestServed: each value says which region served it (its own or the
// default, none for env:) and a secret the stages its version carried,
// one call per secret or batched.
func TestServed(t *testing.T) {
	for _, batch := range []Batching{BatchNever, BatchAlways} {
		f := newFake()
		f.addSecret("db", "v")
		db := f.secrets["db"]
		db.stages = []string{"AWSCURRENT", "mine"}
		f.secrets["db"] = db
		f.addParam("/api", "p", 3)
		f.addSecret("other", "o")
		other := f.secrets["other"]
		other.arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:other-AbCdEf"
		f.secrets["other"] = other
		fe := newFetcher(f, "us-east-1", Options{Batch: batch, LookupEnv: environ(map[string]string{"E": "x"})})
		vals, err := fe.Fetch(context.Background(), requests(t, "secretsmanager:db", "ssm:/api",
			"arn:aws:secretsmanager:eu-west-1:111122223333:secret:other-AbCdEf", "env:E"))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]secret.Served{
			"secretsmanager:db": {Region: "us-east-1", Stages: []string{"AWSCURRENT", "mine"}},
			"ssm:/api":          {Region: "us-east-1"},
			"arn:aws:secretsmanager:eu-west-1:111122223333:secret:other-AbCdEf": {Region: "eu-west-1", Stages: []string{"AWSCURRENT"}},
			"env:E": {},
		}
		for ref, w := range want {
			got := vals[target(t, ref)].Served()
			if got.Region != w.Region || !slices.Equal(got.Stages, w.Stages) {
				t.Errorf("%s (batch %s): served %+v, want %+v", ref, batch, got, w)
			}
		}
	}
}

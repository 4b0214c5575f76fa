package taskdefs_test

import (
	"testing"

	"github.com/ecs-secret-injector/injector/ref"
)

func TestTargetAccessSSMPathAndEnv(t *testing.T) {
	w := wiring{region: "us-east-1", account: "111122223333", partition: "aws"}
	for s, want := range map[string][]access{
		"ssm:/app/prod/": {{actGetParametersByPath, "arn:aws:ssm:us-east-1:111122223333:parameter/app/prod"}},
		"arn:aws:ssm:eu-west-1:111122223333:parameter/app/prod/": {{actGetParametersByPath, "arn:aws:ssm:eu-west-1:111122223333:parameter/app/prod"}},
		"env:DB_PASSWORD": nil,
	} {
		r, err := ref.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := targetAccess(r.Target, w)
		if err != nil || len(got) != len(want) || (len(want) == 1 && got[0] != want[0]) {
			t.Errorf("targetAccess(%s) = %+v, %v; want %+v", s, got, err, want)
		}
	}
}

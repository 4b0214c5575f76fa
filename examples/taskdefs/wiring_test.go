package taskdefs_test

// How the injector sidecar is wired into a task definition, and the tests
// that the wiring check rejects what it must.

import (
	"errors"
	"fmt"
	"github.com/ecs-secret-injector/injector/internal/image"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-secret-injector/injector/internal/testsupport/testplan"
	"github.com/ecs-secret-injector/injector/plan"
)

// wiring is what checkWiring learns about a task definition.
type wiring struct {
	volume    string    // the task volume the injector writes
	plan      plan.Plan // the injector's own plan of INJECTOR_SPEC
	region    string    // AWS_REGION of the injector, else its awslogs-region
	role      string    // the task role (the execution role without one)
	account   string    // account of the task role
	partition string    // partition of the task role
	refresh   bool      // INJECTOR_REFRESH_INTERVAL is set: the injector keeps running
	// INJECTOR_CONCURRENCY (0: not set) and INJECTOR_SECRETS_BATCH ("":
	// not set), which decide whether a run batches (runBatches).
	concurrency  int
	secretsBatch string
}

// checkHealthCheck wants the injector's health subcommand, run by the
// image's own entrypoint (the image has no shell), as its healthCheck.
func checkHealthCheck(inj ecstypes.ContainerDefinition) error {
	want := append(append([]string{"CMD"}, image.Entrypoint()...), "health")
	if inj.HealthCheck == nil || !slices.Equal(inj.HealthCheck.Command, want) {
		return fmt.Errorf("the injector needs healthCheck.command %q", want)
	}
	return nil
}

func containerName(c ecstypes.ContainerDefinition) string { return aws.ToString(c.Name) }

// isEssential applies the ECS default: a container is essential unless it
// says otherwise.
func isEssential(c ecstypes.ContainerDefinition) bool {
	return c.Essential == nil || *c.Essential
}

func envMap(c ecstypes.ContainerDefinition) (map[string]string, error) {
	env := make(map[string]string, len(c.Environment))
	for _, kv := range c.Environment {
		name := aws.ToString(kv.Name)
		if _, dup := env[name]; dup {
			return nil, fmt.Errorf("container %q: environment variable %s set twice", containerName(c), name)
		}
		env[name] = aws.ToString(kv.Value)
	}
	return env, nil
}

func isRootUser(user string) bool {
	uid, _, _ := strings.Cut(user, ":")
	return uid == "" || uid == "0" || uid == "root"
}

// checkWiring verifies how the injector sidecar is placed in the task.
func checkWiring(td *ecs.RegisterTaskDefinitionInput) (wiring, error) {
	var w wiring
	var injectors []ecstypes.ContainerDefinition
	for _, c := range td.ContainerDefinitions {
		if containerName(c) == injectorName {
			injectors = append(injectors, c)
		}
	}
	if len(injectors) != 1 {
		return w, fmt.Errorf("want exactly one container named %q, found %d", injectorName, len(injectors))
	}
	inj := injectors[0]

	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if isEssential(inj) {
		fail("injector must be essential=false (dependsOn SUCCESS cannot target an essential container)")
	}
	if !aws.ToBool(inj.ReadonlyRootFilesystem) {
		fail("injector must set readonlyRootFilesystem=true")
	}
	if user := aws.ToString(inj.User); isRootUser(user) {
		fail("injector user %q: must be set to a non-root user", user)
	}
	if inj.LogConfiguration == nil {
		fail("injector has no logConfiguration; a failed injection would leave no trace")
	}

	volumes := make(map[string]ecstypes.Volume, len(td.Volumes))
	for _, v := range td.Volumes {
		volumes[aws.ToString(v.Name)] = v
	}

	var rw []ecstypes.MountPoint
	for _, m := range inj.MountPoints {
		if !aws.ToBool(m.ReadOnly) {
			rw = append(rw, m)
		}
	}
	if len(rw) != 1 {
		return w, errors.Join(append(errs, fmt.Errorf("injector must mount exactly one volume read-write, found %d", len(rw)))...)
	}
	w.volume = aws.ToString(rw[0].SourceVolume)
	dir := aws.ToString(rw[0].ContainerPath)
	if vol, ok := volumes[w.volume]; !ok {
		fail("volume %q mounted by the injector is not declared in volumes", w.volume)
	} else if err := checkTaskScoped(vol); err != nil {
		fail("volume %q: %w", w.volume, err)
	}

	env, err := envMap(inj)
	if err != nil {
		return w, errors.Join(append(errs, err)...)
	}
	if got := env["INJECTOR_DIR"]; got != dir {
		fail("INJECTOR_DIR=%q, want the injector's mount containerPath %q", got, dir)
	}
	spec, ok := env["INJECTOR_SPEC"]
	if !ok {
		fail("injector has no INJECTOR_SPEC")
	} else if w.plan, err = testplan.Build(spec); err != nil {
		fail("INJECTOR_SPEC: %w", err)
	}

	if v, ok := env["INJECTOR_CONCURRENCY"]; ok {
		if w.concurrency, err = strconv.Atoi(v); err != nil {
			fail("INJECTOR_CONCURRENCY %q: %w", v, err)
		}
	}
	w.secretsBatch = env["INJECTOR_SECRETS_BATCH"]

	w.region = env["AWS_REGION"]
	if w.region == "" && inj.LogConfiguration != nil {
		w.region = inj.LogConfiguration.Options["awslogs-region"]
	}
	if w.region == "" {
		fail("cannot tell the task's region: set AWS_REGION on the injector or awslogs-region")
	}
	// A task whose injector reads only env: items needs no task role
	// (envsecrets_test.go); its account is then the execution role's.
	roleARN := aws.ToString(td.TaskRoleArn)
	if roleARN == "" && envOnly(w.plan) {
		roleARN = aws.ToString(td.ExecutionRoleArn)
	}
	role, err := parseARN(roleARN)
	if err != nil {
		fail("taskRoleArn: %w", err)
	} else {
		w.role, w.account, w.partition = roleARN, role.account, role.partition
	}
	if exec := aws.ToString(td.ExecutionRoleArn); exec != "" {
		if a, err := parseARN(exec); err != nil {
			fail("executionRoleArn: %w", err)
		} else if a.account != w.account {
			fail("executionRoleArn account %s differs from taskRoleArn account %s", a.account, w.account)
		}
	}

	// Refresh mode keeps the injector running and reports through its
	// health check, so the app waits for HEALTHY instead of SUCCESS.
	_, w.refresh = env["INJECTOR_REFRESH_INTERVAL"]
	condition := ecstypes.ContainerConditionSuccess
	if w.refresh {
		condition = ecstypes.ContainerConditionHealthy
		if err := checkHealthCheck(inj); err != nil {
			fail("refresh mode: %w", err)
		}
	}
	dependents := 0
	for _, c := range td.ContainerDefinitions {
		name := containerName(c)
		if name == injectorName || !isEssential(c) {
			continue
		}
		dependents++
		if !slices.ContainsFunc(c.DependsOn, func(d ecstypes.ContainerDependency) bool {
			return aws.ToString(d.ContainerName) == injectorName && d.Condition == condition
		}) {
			fail("container %q must dependsOn %s with condition %s", name, injectorName, condition)
		}
		mounted := false
		for _, m := range c.MountPoints {
			if aws.ToString(m.SourceVolume) != w.volume {
				continue
			}
			mounted = true
			if !aws.ToBool(m.ReadOnly) {
				fail("container %q mounts %q read-write; want readOnly=true", name, w.volume)
			}
		}
		if !mounted {
			fail("container %q does not mount the secrets volume %q", name, w.volume)
		}
	}
	if dependents == 0 {
		fail("no essential container consumes the injector's output")
	}
	return w, errors.Join(errs...)
}

// checkTaskScoped accepts volumes whose data lives and dies with the task:
// a bind mount without a host path, a volume configured at launch (Amazon
// EBS, deleted with the task by default) or a task-scoped Docker volume.
func checkTaskScoped(v ecstypes.Volume) error {
	switch {
	case aws.ToBool(v.ConfiguredAtLaunch):
		return nil
	case v.DockerVolumeConfiguration != nil:
		if v.DockerVolumeConfiguration.Scope != ecstypes.ScopeTask {
			return errors.New("docker volume must have scope task")
		}
		return nil
	case v.EfsVolumeConfiguration != nil, v.FsxWindowsFileServerVolumeConfiguration != nil, v.S3filesVolumeConfiguration != nil:
		return errors.New("shared file systems outlive the task; use a task-scoped volume")
	case v.Host != nil && aws.ToString(v.Host.SourcePath) != "":
		return errors.New("host sourcePath outlives the task; omit host")
	default:
		return nil
	}
}

// baseTaskDef returns a minimal, correctly wired task definition.
func baseTaskDef() *ecs.RegisterTaskDefinitionInput {
	spec := `[{"from":"ssm:/app/key","path":"key"}]`
	return &ecs.RegisterTaskDefinitionInput{
		Family:      aws.String("f"),
		TaskRoleArn: aws.String("arn:aws:iam::111122223333:role/task"),
		Volumes:     []ecstypes.Volume{{Name: aws.String("secrets")}},
		ContainerDefinitions: []ecstypes.ContainerDefinition{
			{
				Name:                   aws.String(injectorName),
				Image:                  aws.String("injector"),
				Essential:              aws.Bool(false),
				User:                   aws.String("65532:65532"),
				ReadonlyRootFilesystem: aws.Bool(true),
				LogConfiguration:       &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs},
				Environment: []ecstypes.KeyValuePair{
					{Name: aws.String("AWS_REGION"), Value: aws.String("us-east-1")},
					{Name: aws.String("INJECTOR_DIR"), Value: aws.String("/secrets")},
					{Name: aws.String("INJECTOR_SPEC"), Value: aws.String(spec)},
				},
				MountPoints: []ecstypes.MountPoint{{SourceVolume: aws.String("secrets"), ContainerPath: aws.String("/secrets"), ReadOnly: aws.Bool(false)}},
			},
			{
				Name:        aws.String("app"),
				Image:       aws.String("app"),
				DependsOn:   []ecstypes.ContainerDependency{{ContainerName: aws.String(injectorName), Condition: ecstypes.ContainerConditionSuccess}},
				MountPoints: []ecstypes.MountPoint{{SourceVolume: aws.String("secrets"), ContainerPath: aws.String("/run/secrets"), ReadOnly: aws.Bool(true)}},
			},
		},
	}
}

func setEnv(c *ecstypes.ContainerDefinition, name, value string) {
	for i := range c.Environment {
		if aws.ToString(c.Environment[i].Name) == name {
			c.Environment[i].Value = aws.String(value)
			return
		}
	}
	c.Environment = append(c.Environment, ecstypes.KeyValuePair{Name: aws.String(name), Value: aws.String(value)})
}

func TestCheckWiring(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(td *ecs.RegisterTaskDefinitionInput)
		wantErr string // empty: must pass
	}{
		{name: "base is valid", mutate: func(*ecs.RegisterTaskDefinitionInput) {}},
		{
			name:    "injector essential",
			mutate:  func(td *ecs.RegisterTaskDefinitionInput) { td.ContainerDefinitions[0].Essential = nil },
			wantErr: "essential=false",
		},
		{
			name: "two injectors",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				td.ContainerDefinitions = append(td.ContainerDefinitions, td.ContainerDefinitions[0])
			},
			wantErr: "exactly one container",
		},
		{
			name:    "writable root filesystem",
			mutate:  func(td *ecs.RegisterTaskDefinitionInput) { td.ContainerDefinitions[0].ReadonlyRootFilesystem = nil },
			wantErr: "readonlyRootFilesystem",
		},
		{
			name:    "root user",
			mutate:  func(td *ecs.RegisterTaskDefinitionInput) { td.ContainerDefinitions[0].User = aws.String("0:0") },
			wantErr: "non-root",
		},
		{
			name:    "no user",
			mutate:  func(td *ecs.RegisterTaskDefinitionInput) { td.ContainerDefinitions[0].User = nil },
			wantErr: "non-root",
		},
		{
			name:    "app without dependsOn",
			mutate:  func(td *ecs.RegisterTaskDefinitionInput) { td.ContainerDefinitions[1].DependsOn = nil },
			wantErr: "dependsOn",
		},
		{
			name: "app depends on START only",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				td.ContainerDefinitions[1].DependsOn[0].Condition = ecstypes.ContainerConditionStart
			},
			wantErr: "dependsOn",
		},
		{
			name:    "app mounts read-write",
			mutate:  func(td *ecs.RegisterTaskDefinitionInput) { td.ContainerDefinitions[1].MountPoints[0].ReadOnly = nil },
			wantErr: "readOnly=true",
		},
		{
			name:    "app does not mount the volume",
			mutate:  func(td *ecs.RegisterTaskDefinitionInput) { td.ContainerDefinitions[1].MountPoints = nil },
			wantErr: "does not mount",
		},
		{
			name:    "volume not declared",
			mutate:  func(td *ecs.RegisterTaskDefinitionInput) { td.Volumes = nil },
			wantErr: "not declared",
		},
		{
			name: "host path volume",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				td.Volumes[0].Host = &ecstypes.HostVolumeProperties{SourcePath: aws.String("/var/secrets")}
			},
			wantErr: "outlives the task",
		},
		{
			name: "INJECTOR_DIR differs from mount",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_DIR", "/other")
			},
			wantErr: "INJECTOR_DIR",
		},
		{
			name: "spec not a list",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_SPEC", `{"from":"x"}`)
			},
			wantErr: "invalid spec",
		},
		{
			name: "spec path escapes",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_SPEC", `[{"from":"ssm:/a","path":"x/../../etc/passwd"}]`)
			},
			wantErr: "stay inside",
		},
		{
			name: "spec path with dot-dot that stays inside is cleaned",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_SPEC", `[{"from":"ssm:/a","path":"a/../b"}]`)
			},
			wantErr: "",
		},
		{
			name: "spec absolute path",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_SPEC", `[{"from":"ssm:/a","path":"/etc/passwd"}]`)
			},
			wantErr: "relative",
		},
		{
			name: "spec item without source",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_SPEC", `[{"path":"a"}]`)
			},
			wantErr: "from is required",
		},
		{
			name: "refresh mode wants HEALTHY",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_REFRESH_INTERVAL", "5m")
				td.ContainerDefinitions[0].HealthCheck = &ecstypes.HealthCheck{Command: []string{"CMD", "/no/such/injector", "health"}}
			},
			wantErr: "condition HEALTHY",
		},
		{
			name: "refresh mode needs the health check",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_REFRESH_INTERVAL", "5m")
				td.ContainerDefinitions[1].DependsOn[0].Condition = ecstypes.ContainerConditionHealthy
			},
			wantErr: "healthCheck.command",
		},
		{
			name: "spec registry format without registry",
			mutate: func(td *ecs.RegisterTaskDefinitionInput) {
				setEnv(&td.ContainerDefinitions[0], "INJECTOR_SPEC", `[{"from":"secretsmanager:r","path":"config.json","format":"dockerconfigjson"}]`)
			},
			wantErr: "needs registry",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			td := baseTaskDef()
			tc.mutate(td)
			_, err := checkWiring(td)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

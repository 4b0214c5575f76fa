package plan

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecs-secret-injector/injector/formats"
	"github.com/ecs-secret-injector/injector/internal/regfile"
)

// Load reads the spec and plans it: spec is its JSON text (INJECTOR_SPEC)
// or, when it is "", file names a file holding it (INJECTOR_SPEC_FILE).
// Each rendered file is bounded by maxFileBytes (INJECTOR_MAX_VALUE_BYTES).
// Reading the file counts against ctx (the run's timeout). d gives every
// item its default role and failover region. Its errors are the user's to
// fix: the caller reports them as configuration errors.
func Load(ctx context.Context, spec, file string, maxFileBytes int64, d Defaults) (Plan, error) {
	data := []byte(spec)
	if file != "" {
		var err error
		if data, err = readSpecFile(ctx, file); err != nil {
			return Plan{}, fmt.Errorf("reading INJECTOR_SPEC_FILE %q: %w", file, err)
		}
	}
	items, err := ParseSpec(data)
	if err != nil {
		return Plan{}, err
	}
	p, err := BuildWith(items, d)
	if err != nil {
		return Plan{}, err
	}
	p.MaxFileBytes = maxFileBytes
	return p, nil
}

// readSpecFile reads a regular file of at most MaxSpecBytes with
// regfile.Read, in its words. A FIFO, a device or a directory is refused
// without waiting on it; a file system that does not answer is given up on
// when ctx ends.
func readSpecFile(ctx context.Context, name string) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := regfile.Read(name, MaxSpecBytes)
		done <- result{data, specFileError(err)}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("not read within INJECTOR_TIMEOUT: %w", context.Cause(ctx))
	}
}

// specFileError words regfile's refusals as the spec file's own errors
// (the message names the file already); others pass unchanged.
func specFileError(err error) error {
	var (
		notRegular *regfile.NotRegularError
		tooLarge   *regfile.TooLargeError
	)
	switch {
	case errors.As(err, &notRegular):
		kind := notRegular.Kind
		if kind == "" {
			kind = "not a regular file"
		}
		return fmt.Errorf("is %s: want a regular file", kind)
	case errors.As(err, &tooLarge) && tooLarge.Size < 0:
		return fmt.Errorf("is more than the limit of %d bytes", tooLarge.Limit)
	case errors.As(err, &tooLarge):
		return fmt.Errorf("is %d bytes, more than the limit of %d", tooLarge.Size, tooLarge.Limit)
	}
	return err
}

// CheckRefresh refuses what refresh mode cannot keep up to date.
func (p Plan) CheckRefresh() error {
	for _, o := range p.Outputs {
		if o.Format == formats.ECSConfig {
			return fmt.Errorf("%s: format ecs-config is read by the ECS agent when it starts; refresh mode cannot update it (run the injector once)", o.Path)
		}
	}
	return nil
}

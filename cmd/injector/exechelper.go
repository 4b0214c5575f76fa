package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ecs-secret-injector/injector/config"
	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/writer"
)

// execHelperName is the exec helper's file name: beside the injector in the
// image (internal/image.Helper), and below writer.BinDir in the output
// root, where app containers start it (docs/exec.md).
const execHelperName = "with-env"

// execHelperPath is where the helper is in the output root.
const execHelperPath = writer.BinDir + "/" + execHelperName

// checkExecHelper refuses INJECTOR_EXEC_HELPER for a plan written in place
// (an ecs-config item), which has no generation to hold the helper.
func checkExecHelper(s config.Settings, p plan.Plan) error {
	if s.ExecHelper.On && len(p.Outputs) == 1 && p.Outputs[0].Format.InPlace() {
		return fmt.Errorf("%w: INJECTOR_EXEC_HELPER: an ecs-config item is merged into its file in place, with no generation to hold the exec helper", config.ErrConfig)
	}
	return nil
}

// execHelper reads the exec helper beside the injector's own executable, as
// the file every generation holds. Its errors are configuration errors: the
// image lacks what the settings ask for.
func execHelper() (writer.File, error) {
	self, err := os.Executable()
	if err != nil {
		return writer.File{}, fmt.Errorf("%w: INJECTOR_EXEC_HELPER: finding the injector's executable: %w", config.ErrConfig, err)
	}
	p := filepath.Join(filepath.Dir(self), execHelperName)
	data, err := os.ReadFile(p)
	if err == nil && len(data) == 0 {
		err = fmt.Errorf("%s is empty", p)
	}
	if err != nil {
		return writer.File{}, fmt.Errorf("%w: INJECTOR_EXEC_HELPER: the exec helper beside the injector cannot be read (the image ships it as %s): %w", config.ErrConfig, p, err)
	}
	return writer.File{Path: execHelperPath, Data: data, Exec: true}, nil
}

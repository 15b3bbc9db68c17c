package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/slrt/slrt/runtime/spec"
)

var specCommand = &command{
	name:  "spec",
	args:  "",
	short: "create a new specification file",
	nargs: 0,
	setup: func(flags *flag.FlagSet, g *globals) func([]string) error {
		var bundle string
		var rootless bool
		stringFlag(flags, &bundle, "bundle,b", "", "path to the root of the bundle directory")
		boolFlag(flags, &rootless, "rootless", "generate a configuration for a rootless container")
		return func(args []string) error {
			s := spec.Default()
			if rootless {
				s = spec.DefaultRootless()
			}
			path := filepath.Join(bundle, "config.json")
			// runc's message, which scripts that run `runc spec` know.
			if _, err := os.Stat(path); err == nil {
				return errors.New("File config.json exists. Remove it first")
			} else if !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("spec: %w", err)
			}
			b, err := json.MarshalIndent(s, "", "\t")
			if err != nil {
				return fmt.Errorf("spec: %w", err)
			}
			if err := os.WriteFile(path, b, 0o666); err != nil {
				return fmt.Errorf("spec: %w", err)
			}
			return nil
		}
	},
}

var featuresCommand = &command{
	name:  "features",
	args:  "",
	short: "show the enabled features",
	nargs: 0,
	setup: func(flags *flag.FlagSet, g *globals) func([]string) error {
		return func(args []string) error {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "    ")
			return enc.Encode(spec.Features())
		}
	},
}

package main

import (
	"flag"
	"fmt"

	"github.com/slrt/slrt/runtime/container"
	"github.com/slrt/slrt/runtime/signals"
)

var killCommand = &command{
	name:    "kill",
	args:    "<container-id> [signal]",
	short:   "kill sends the specified signal (default: SIGTERM) to the container's init process",
	nargs:   -1,
	minArgs: 1,
	setup: func(fs *flag.FlagSet, g *globals) func([]string) error {
		var all bool
		boolFlag(fs, &all, "all,a", "send the specified signal to all processes inside the container")
		return func(args []string) error {
			if len(args) > 2 {
				return fmt.Errorf("slrt: %q requires a maximum of 2 argument(s)", "kill")
			}
			sigName := "SIGTERM"
			if len(args) == 2 {
				sigName = args[1]
			}
			sig, err := signals.Parse(sigName)
			if err != nil {
				return err
			}
			c, err := load(g, args[0])
			if err != nil {
				return err
			}
			// A created container's init is parked but alive: runc lets
			// it be killed, and so does the engine.
			if s := status(c); !all && s != container.Running && s != container.Created && s != container.Paused {
				return fmt.Errorf(msgNotRunning)
			}
			if err := c.Kill(sig, all); err != nil {
				return describe(err)
			}
			return nil
		}
	},
}

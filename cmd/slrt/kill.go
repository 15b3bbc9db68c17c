package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/container"
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
			sig, err := parseSignal(sigName)
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

// parseSignal accepts what runc accepts: a number, or a name with or
// without the SIG prefix, in any case.
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("unknown signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

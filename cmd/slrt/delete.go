package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/slrt/slrt/runtime/container"
)

var deleteCommand = &command{
	name:  "delete",
	args:  "<container-id>",
	short: "delete any resources held by the container often used with detached container",
	nargs: 1,
	setup: func(fs *flag.FlagSet, g *globals) func([]string) error {
		var force bool
		boolFlag(fs, &force, "force,f", "Forcibly deletes the container if it is still running (uses SIGKILL)")
		return func(args []string) error {
			id := args[0]
			c, err := container.Load(g.root, id)
			if err != nil {
				// `delete -f` of a container that is gone is success: the
				// caller wanted it gone (containerd relies on this).
				if force && errors.Is(err, container.ErrNotExist) {
					return nil
				}
				return describe(err)
			}
			// A created container has nothing running yet: runc deletes it
			// without --force, and so do we.
			if s := status(c); !force && s != container.Stopped && s != container.Created {
				return fmt.Errorf("cannot delete container %s that is not stopped: %s", id, s)
			}
			if err := c.Delete(force); err != nil {
				if errors.Is(err, container.ErrRunning) || errors.Is(err, container.ErrPaused) {
					return fmt.Errorf("cannot delete container %s that is not stopped: %s", id, status(c))
				}
				return describe(err)
			}
			return nil
		}
	},
}

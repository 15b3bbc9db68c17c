package main

import (
	"flag"

	"github.com/slrt/slrt/runtime/container"
)

var pauseCommand = &command{
	name:  "pause",
	args:  "<container-id>",
	short: "pause suspends all processes inside the container",
	nargs: 1,
	setup: func(fs *flag.FlagSet, g *globals) func([]string) error {
		return func(args []string) error {
			return withContainer(g, args[0], func(c *container.Container) error {
				if status(c) != container.Running {
					return errorText(msgNotRunning)
				}
				return c.Pause()
			})
		}
	},
}

var resumeCommand = &command{
	name:  "resume",
	args:  "<container-id>",
	short: "resumes all processes that have been previously paused",
	nargs: 1,
	setup: func(fs *flag.FlagSet, g *globals) func([]string) error {
		return func(args []string) error {
			return withContainer(g, args[0], func(c *container.Container) error {
				if status(c) != container.Paused {
					return errorText(msgNotPaused)
				}
				return c.Resume()
			})
		}
	},
}

// withContainer loads id and runs f on it, reporting errors in runc's words.
func withContainer(g *globals, id string, f func(*container.Container) error) error {
	c, err := load(g, id)
	if err != nil {
		return err
	}
	if err := f(c); err != nil {
		return describe(err)
	}
	return nil
}

type errorText string

func (e errorText) Error() string { return string(e) }

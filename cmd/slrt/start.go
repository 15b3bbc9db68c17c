package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/slrt/slrt/runtime/container"
)

var startCommand = &command{
	name:  "start",
	args:  "<container-id>",
	short: "executes the user defined process in a created container",
	nargs: 1,
	setup: func(fs *flag.FlagSet, g *globals) func([]string) error {
		var processFile string
		stringFlag(fs, &processFile, "process", "", "JSON file replacing the process to start: {\"args\":[...],\"env\":[...],\"cwd\":...,\"cpus\":\"2-3\"}")
		return func(args []string) error {
			var p *container.StartProcess
			if processFile != "" {
				var err error
				if p, err = readStartProcess(processFile); err != nil {
					return err
				}
			}
			c, err := load(g, args[0])
			if err != nil {
				return err
			}
			if s := status(c); s != container.Created {
				return startError(s)
			}
			if err := c.Start(p); err != nil {
				if errors.Is(err, container.ErrNotCreated) {
					return startError(status(c))
				}
				return describe(err)
			}
			return nil
		}
	},
}

// startProcessFile is what `start --process` reads: the engine's
// StartProcess, plus the seed's single-CPU form {"cpu": 3}.
type startProcessFile struct {
	container.StartProcess
	CPU *int `json:"cpu,omitempty"`
}

func readStartProcess(path string) (*container.StartProcess, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read start process: %w", err)
	}
	return parseStartProcess(b)
}

func parseStartProcess(b []byte) (*container.StartProcess, error) {
	var f startProcessFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("parse start process: %w", err)
	}
	if f.CPU != nil {
		if f.CPUs != "" {
			return nil, errors.New("parse start process: both \"cpu\" and \"cpus\" given")
		}
		if *f.CPU < 0 {
			return nil, fmt.Errorf("parse start process: invalid cpu %d", *f.CPU)
		}
		f.CPUs = fmt.Sprint(*f.CPU)
	}
	return &f.StartProcess, nil
}

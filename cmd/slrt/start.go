package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/slrt/slrt/runtime/container"
	"github.com/slrt/slrt/runtime/process"
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
	if err := checkStartProcess(&f.StartProcess); err != nil {
		return nil, fmt.Errorf("parse start process: %w", err)
	}
	return &f.StartProcess, nil
}

// checkStartProcess refuses what the init could only fail on after the
// start request reached it, when the container is lost: the caller gets
// the reason now, and the container stays created.
func checkStartProcess(p *container.StartProcess) error {
	if len(p.Args) > 0 && p.Args[0] == "" {
		return errors.New("args[0] is empty")
	}
	for i, a := range p.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("args[%d] contains a NUL byte", i)
		}
	}
	for i, e := range p.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" || strings.IndexByte(e, 0) >= 0 {
			return fmt.Errorf("env[%d] %q is not KEY=VALUE", i, e)
		}
	}
	if p.Cwd != "" && (!path.IsAbs(p.Cwd) || strings.IndexByte(p.Cwd, 0) >= 0) {
		return fmt.Errorf("cwd %q is not an absolute path", p.Cwd)
	}
	if p.CPUs != "" {
		if _, err := process.ParseCPUs(p.CPUs); err != nil {
			return fmt.Errorf("cpus: %w", err)
		}
	}
	return nil
}

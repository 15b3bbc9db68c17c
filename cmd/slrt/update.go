package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// updateFlags holds update's options as text: only the flags given change
// anything, and fs.Visit tells which those are.
var updateFlagNames = []struct{ name, usage string }{
	{"blkio-weight", "Specifies per cgroup weight, range is from 10 to 1000"},
	{"cpu-period", "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default"},
	{"cpu-quota", "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period"},
	{"cpu-share", "CPU shares (relative weight vs. other containers)"},
	{"cpu-shares", "CPU shares (relative weight vs. other containers)"},
	{"cpu-rt-period", "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default"},
	{"cpu-rt-runtime", "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period"},
	{"cpuset-cpus", "CPU(s) to use"},
	{"cpuset-mems", "Memory node(s) to use"},
	{"memory", "Memory limit (in bytes)"},
	{"memory-reservation", "Memory reservation or soft_limit (in bytes)"},
	{"memory-swap", "Total memory usage (memory + swap); set '-1' to enable unlimited swap"},
	{"pids-limit", "Maximum number of pids allowed in the container"},
}

var updateCommand = &command{
	name:  "update",
	args:  "<container-id>",
	short: "update container resource constraints",
	nargs: 1,
	setup: func(fs *flag.FlagSet, g *globals) func([]string) error {
		var resources string
		stringFlag(fs, &resources, "resources,r", "", "path to the file containing the resources to update or '-' to read from the standard input")
		for _, f := range updateFlagNames {
			fs.String(f.name, "", f.usage)
		}
		return func(args []string) error {
			var r *specs.LinuxResources
			var err error
			if resources != "" {
				// As with runc, a resources file overrides every other flag.
				r, err = readResources(resources)
			} else {
				set := map[string]string{}
				fs.Visit(func(f *flag.Flag) { set[f.Name] = f.Value.String() })
				r, err = resourcesFromFlags(set)
			}
			if err != nil {
				return err
			}
			return withContainerUpdate(g, args[0], r)
		}
	},
}

func withContainerUpdate(g *globals, id string, r *specs.LinuxResources) error {
	c, err := load(g, id)
	if err != nil {
		return err
	}
	if err := c.Update(r); err != nil {
		return describe(err)
	}
	return nil
}

func readResources(path string) (*specs.LinuxResources, error) {
	var rd io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open resources file: %w", err)
		}
		defer f.Close()
		rd = f
	}
	var r specs.LinuxResources
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("decode resources: %w", err)
	}
	return &r, nil
}

// resourcesFromFlags turns the given update flags into resources; fields of
// flags not given stay nil (unchanged).
func resourcesFromFlags(set map[string]string) (*specs.LinuxResources, error) {
	r := &specs.LinuxResources{}
	cpu := func() *specs.LinuxCPU {
		if r.CPU == nil {
			r.CPU = &specs.LinuxCPU{}
		}
		return r.CPU
	}
	mem := func() *specs.LinuxMemory {
		if r.Memory == nil {
			r.Memory = &specs.LinuxMemory{}
		}
		return r.Memory
	}
	for name, v := range set {
		var err error
		switch name {
		case "blkio-weight":
			var n uint64
			if n, err = strconv.ParseUint(v, 10, 16); err == nil {
				w := uint16(n)
				r.BlockIO = &specs.LinuxBlockIO{Weight: &w}
			}
		case "cpu-period":
			cpu().Period, err = parseUint(v)
		case "cpu-quota":
			cpu().Quota, err = parseInt(v)
		case "cpu-share", "cpu-shares":
			cpu().Shares, err = parseUint(v)
		case "cpu-rt-period":
			cpu().RealtimePeriod, err = parseUint(v)
		case "cpu-rt-runtime":
			cpu().RealtimeRuntime, err = parseInt(v)
		case "cpuset-cpus":
			cpu().Cpus = v
		case "cpuset-mems":
			cpu().Mems = v
		case "memory":
			mem().Limit, err = parseBytes(v)
		case "memory-reservation":
			mem().Reservation, err = parseBytes(v)
		case "memory-swap":
			mem().Swap, err = parseBytes(v)
		case "pids-limit":
			var n *int64
			if n, err = parseInt(v); err == nil {
				r.Pids = &specs.LinuxPids{Limit: n}
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("invalid value for %s: %w", name, err)
		}
	}
	return r, nil
}

func parseUint(s string) (*uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	return &n, err
}

func parseInt(s string) (*int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	return &n, err
}

// parseBytes reads a size with an optional binary unit (512m, 1g, 64KiB),
// as runc's memory flags do; "-1" means unlimited.
func parseBytes(s string) (*int64, error) {
	if s == "-1" {
		n := int64(-1)
		return &n, nil
	}
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "ib"), "b")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("invalid size %q", s)
	}
	n *= mult
	return &n, nil
}

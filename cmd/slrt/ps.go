package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

var psCommand = &command{
	name:    "ps",
	args:    "<container-id> [ps options]",
	short:   "ps displays the processes running inside a container",
	nargs:   -1,
	minArgs: 1,
	setup: func(flags *flag.FlagSet, g *globals) func([]string) error {
		var format string
		stringFlag(flags, &format, "format,f", "table", "select one of: table or json")
		return func(args []string) error {
			c, err := load(g, args[0])
			if err != nil {
				return err
			}
			pids, err := c.Pids()
			if err != nil {
				return describe(err)
			}
			switch format {
			case "json":
				if pids == nil {
					pids = []int{}
				}
				return writeJSON(os.Stdout, pids, "", true)
			case "table":
				return psTable(pids, args[1:])
			}
			return errors.New("invalid format option")
		}
	},
}

// psTable runs the host's ps (with -ef unless options are given, as runc
// does) and keeps the header and the lines of the container's processes.
func psTable(pids []int, psArgs []string) error {
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	out, err := exec.Command("ps", psArgs...).Output()
	if err != nil {
		return fmt.Errorf("ps %s: %w", strings.Join(psArgs, " "), err)
	}
	lines := strings.Split(string(bytes.TrimRight(out, "\n")), "\n")
	col := -1
	for i, f := range strings.Fields(lines[0]) {
		if f == "PID" {
			col = i
			break
		}
	}
	if col < 0 {
		return errors.New("couldn't find PID field in ps output")
	}
	want := make(map[int]bool, len(pids))
	for _, p := range pids {
		want[p] = true
	}
	var b strings.Builder
	b.WriteString(lines[0] + "\n")
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= col {
			continue
		}
		if pid, err := strconv.Atoi(f[col]); err == nil && want[pid] {
			b.WriteString(l + "\n")
		}
	}
	_, err = os.Stdout.WriteString(b.String())
	return err
}

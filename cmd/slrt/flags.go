package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The helpers below register one variable under several names ("bundle,b"),
// which is how urfave/cli spells aliases; the standard flag package then
// accepts -b, --b, -bundle and --bundle alike.

func stringFlag(fs *flag.FlagSet, p *string, names, def, usage string) {
	for _, n := range strings.Split(names, ",") {
		fs.StringVar(p, n, def, usage)
	}
}

func boolFlag(fs *flag.FlagSet, p *bool, names, usage string) {
	for _, n := range strings.Split(names, ",") {
		fs.BoolVar(p, n, false, usage)
	}
}

func intFlag(fs *flag.FlagSet, p *int, names string, usage string) {
	for _, n := range strings.Split(names, ",") {
		fs.IntVar(p, n, 0, usage)
	}
}

// listValue collects a repeatable flag (--env A=1 --env B=2).
type listValue []string

func (l *listValue) String() string     { return strings.Join(*l, ",") }
func (l *listValue) Set(v string) error { *l = append(*l, v); return nil }

func listFlag(fs *flag.FlagSet, p *listValue, names, usage string) {
	for _, n := range strings.Split(names, ",") {
		fs.Var(p, n, usage)
	}
}

// writePidFile writes pid the way runc does: the number without a newline,
// through a temporary file and a rename, so a reader never sees it half
// written.
func writePidFile(path string, pid int) error {
	if path == "" {
		return nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	tmp := filepath.Join(filepath.Dir(abs), "."+filepath.Base(abs))
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

package main

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

func globalUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "NAME:\n   slrt - secure lightweight OCI container runtime\n\n")
	fmt.Fprintf(w, "USAGE:\n   slrt [global options] command [command options] [arguments...]\n\n")
	fmt.Fprintf(w, "VERSION:\n   %s\n\nCOMMANDS:\n", version)
	for _, c := range commands {
		fmt.Fprintf(w, "   %-10s %s\n", c.name, c.short)
	}
	fmt.Fprintf(w, "\nGLOBAL OPTIONS:\n")
	printFlags(w, fs)
}

func commandUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "NAME:\n   slrt %s - %s\n\nUSAGE:\n   slrt %s [command options] %s\n", c.name, c.short, c.name, c.args)
	if hasFlags(fs) {
		fmt.Fprintf(w, "\nOPTIONS:\n")
		printFlags(w, fs)
	}
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// printFlags lists flags the way urfave/cli does: aliases (flags sharing
// a usage string) on one line, long name first.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	type entry struct {
		names []string
		usage string
		value bool
	}
	var order []string
	byUsage := map[string]*entry{}
	fs.VisitAll(func(f *flag.Flag) {
		e := byUsage[f.Usage]
		if e == nil {
			_, isBool := f.Value.(interface{ IsBoolFlag() bool })
			e = &entry{usage: f.Usage, value: !isBool}
			byUsage[f.Usage] = e
			order = append(order, f.Usage)
		}
		e.names = append(e.names, f.Name)
	})
	for _, u := range order {
		e := byUsage[u]
		sort.Slice(e.names, func(i, j int) bool { return len(e.names[i]) > len(e.names[j]) })
		parts := make([]string, len(e.names))
		for i, n := range e.names {
			dash := "--"
			if len(n) == 1 {
				dash = "-"
			}
			parts[i] = dash + n
			if e.value {
				parts[i] += " value"
			}
		}
		fmt.Fprintf(w, "   %-30s %s\n", strings.Join(parts, ", "), e.usage)
	}
}

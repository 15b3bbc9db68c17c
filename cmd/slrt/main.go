// Command slrt is a runc-compatible command line over the slrt engine
// (runtime/container): containerd's runc shim, podman, docker and scripts can
// use it wherever they use runc.
//
// Every `slrt run` pays this program's start-up (DESIGN.md §4), so main does
// no work before it knows the command, and nothing here has package-level
// initialisation beyond constant tables.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/slrt/slrt/runtime/container"
)

// Set at link time (-ldflags "-X main.version=... -X main.gitCommit=...").
var (
	version   = "0.1.0-dev"
	gitCommit = ""
)

// globals are the options before the command, as runc takes them.
type globals struct {
	root          string
	logPath       string
	logFormat     string
	systemdCgroup bool
	debug         bool
	rootless      string
	log           *logger
}

// command is one subcommand: its flags are declared by setup, which returns
// the function that runs it with the remaining arguments.
type command struct {
	name  string
	args  string // usage of the positional arguments
	short string
	// nargs is the exact number of positional arguments, or -1 for "at
	// least minArgs".
	nargs   int
	minArgs int
	setup   func(fs *flag.FlagSet, g *globals) func(args []string) error
}

// commands in the order `slrt --help` lists them (runc's order).
var commands = []*command{
	createCommand, deleteCommand, eventsCommand, execCommand, featuresCommand,
	killCommand, listCommand, pauseCommand, psCommand, resumeCommand,
	runCommand, specCommand, startCommand, stateCommand, updateCommand,
	fgacCommand,
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run parses the command line and runs one command; it returns the exit
// code, so main stays the only place that exits (deferred cleanups run).
func run(argv []string, stdout, stderr io.Writer) int {
	g := &globals{}
	fs := flag.NewFlagSet("slrt", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&g.root, "root", container.DefaultRoot, "root directory for storage of container state (this should be located in tmpfs)")
	fs.StringVar(&g.logPath, "log", "", "set the log file to write slrt logs to (default is stderr)")
	fs.StringVar(&g.logFormat, "log-format", "text", "set the log format ('text' (default), or 'json')")
	fs.BoolVar(&g.systemdCgroup, "systemd-cgroup", false, "enable systemd cgroup support, expects cgroupsPath to be of form \"slice:prefix:name\"")
	fs.BoolVar(&g.debug, "debug", false, "enable debug logging")
	// Accepted for runc compatibility; slrt needs neither.
	fs.StringVar(&g.rootless, "rootless", "auto", "ignore cgroup permission errors ('true', 'false', or 'auto')")
	fs.String("criu", "criu", "ignored (slrt does not checkpoint)")
	var showVersion, help bool
	fs.BoolVar(&showVersion, "version", false, "print the version")
	fs.BoolVar(&showVersion, "v", false, "print the version")
	fs.BoolVar(&help, "help", false, "show help")
	fs.BoolVar(&help, "h", false, "show help")

	if err := fs.Parse(argv); err != nil {
		fmt.Fprintf(stderr, "Incorrect Usage: %v\n\n", err)
		globalUsage(stderr, fs)
		return 1
	}
	if showVersion {
		printVersion(stdout)
		return 0
	}
	rootSet := false
	fs.Visit(func(f *flag.Flag) { rootSet = rootSet || f.Name == "root" })
	if !rootSet {
		g.root = defaultRoot(os.Geteuid(), os.Getenv("XDG_RUNTIME_DIR"))
	}
	rest := fs.Args()
	if help || len(rest) == 0 || rest[0] == "help" {
		if len(rest) > 1 && rest[0] == "help" {
			if cmd := lookup(rest[1]); cmd != nil {
				commandUsage(stdout, cmd, cmd.flags(g))
				return 0
			}
		}
		globalUsage(stdout, fs)
		return 0
	}
	log, err := openLog(g.logPath, g.logFormat, g.debug, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer log.close()
	g.log = log
	// The engine's warnings (cgroups skipped when rootless, seccomp
	// syscalls unknown here, a failed poststop hook) go to the log.
	container.Warnf = log.warnf

	cmd := lookup(rest[0])
	if cmd == nil {
		// urfave/cli's answer and exit code, which runc's callers see.
		log.fatal(fmt.Sprintf("No help topic for '%s'", rest[0]))
		return 3
	}
	return cmd.run(g, rest[1:], stdout, stderr)
}

// defaultRoot is where state lives without --root: /run/slrt for root,
// as runc's /run/runc; for anyone else $XDG_RUNTIME_DIR/slrt (a tmpfs the
// user owns, as runc does for rootless use), since /run is root's.
func defaultRoot(euid int, xdgRuntimeDir string) string {
	if euid != 0 && xdgRuntimeDir != "" {
		return filepath.Join(xdgRuntimeDir, "slrt")
	}
	return container.DefaultRoot
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// flags builds the command's flag set (without running anything).
func (c *command) flags(g *globals) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.setup(fs, g)
	return fs
}

func (c *command) run(g *globals, argv []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var help bool
	fs.BoolVar(&help, "help", false, "show help")
	fs.BoolVar(&help, "h", false, "show help")
	do := c.setup(fs, g)
	if err := fs.Parse(argv); err != nil {
		fmt.Fprintf(stderr, "Incorrect Usage: %v\n\n", err)
		commandUsage(stderr, c, fs)
		g.log.logOnly(err.Error())
		return 1
	}
	if help {
		commandUsage(stdout, c, fs)
		return 0
	}
	args := fs.Args()
	if msg := c.checkArgs(args); msg != "" {
		commandUsage(stderr, c, fs)
		g.log.fatal("slrt: " + msg)
		return 1
	}
	g.log.debugf("%s %s", c.name, strings.Join(argv, " "))
	if err := do(args); err != nil {
		var ec *exitCode
		if errors.As(err, &ec) {
			if ec.err != nil {
				g.log.fatal(ec.err.Error())
			}
			return ec.code
		}
		g.log.fatal(err.Error())
		return 1
	}
	return 0
}

// checkArgs reproduces urfave/cli's argument count messages.
func (c *command) checkArgs(args []string) string {
	switch {
	case c.nargs >= 0 && len(args) != c.nargs:
		return fmt.Sprintf("%q requires exactly %d argument(s)", c.name, c.nargs)
	case c.nargs < 0 && len(args) < c.minArgs:
		return fmt.Sprintf("%q requires a minimum of %d argument(s)", c.name, c.minArgs)
	}
	return ""
}

// exitCode makes a command exit with a code other than 1 (run and exec pass
// the workload's status on); err, when set, is reported first.
type exitCode struct {
	code int
	err  error
}

func (e *exitCode) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("exit status %d", e.code)
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "slrt version %s\n", version)
	commit := gitCommit
	if commit == "" {
		commit = "unknown"
	}
	fmt.Fprintf(w, "commit: %s\n", commit)
	fmt.Fprintf(w, "spec: %s\n", specVersion)
}

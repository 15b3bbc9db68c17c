// Command slrt-installer puts slrt on a Kubernetes node and takes it off
// again (k8s/installer): it copies slrt and containerd-shim-slrt-v2 into the
// host's bin dir, registers runtime handler sl with containerd or k3s, and
// labels the node. The chart's DaemonSet runs
// `slrt-installer install --host-root /host ... --wait`, its pre-delete Job
// `slrt-installer uninstall --host-root /host ...`; an admin can run either
// on the node.
//
// It is a program of its own, not a command of slrt, because labelling the
// node needs an HTTPS client (net/http, crypto/tls, x509) and the config
// patching a TOML parser: ~3 MB that the node's slrt and the shim never
// use. hack/check-deps.sh keeps them out of cmd/slrt. The installer does
// not copy itself to the host: it is needed only in the image.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/k8s/installer"
	"github.com/slrt/slrt/k8s/nodelabel"
)

const name = "slrt-installer"

// Set at link time (-ldflags "-X main.version=...").
var version = "0.1.0-dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, waitForSignal)) }

// usageError is a command line that is wrong as written: exit status 2,
// as flag.ExitOnError gives, so a chart with a typo is told apart from a
// node that refused the install (1).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// run runs one command and returns the exit status. wait is what --wait
// blocks on (a signal in main; tests pass their own).
func run(argv []string, stdout, stderr io.Writer, wait func()) int {
	if len(argv) == 0 {
		usage(stderr)
		return 2
	}
	switch argv[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	case "-v", "-version", "--version", "version":
		fmt.Fprintf(stdout, "%s version %s\n", name, version)
		return 0
	}
	cmd := argv[0]
	if cmd != "install" && cmd != "uninstall" {
		fmt.Fprintf(stderr, "%s: unknown command %q: want install or uninstall\n\n", name, cmd)
		usage(stderr)
		return 2
	}
	err := runCommand(cmd, argv[1:], stdout, stderr, wait)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(*usageError)):
		fmt.Fprintf(stderr, "%s %s: %v\n", name, cmd, err)
		return 2
	default:
		fmt.Fprintf(stderr, "%s %s: %v\n", name, cmd, err)
		return 1
	}
}

func runCommand(cmd string, argv []string, stdout, stderr io.Writer, wait func()) error {
	fs := flag.NewFlagSet(name+" "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := nodeFlags(fs)
	var waitFlag *bool
	if cmd == "install" {
		waitFlag = fs.Bool("wait", false, "after installing, wait for SIGTERM (a DaemonSet's container must keep running)")
	}
	if err := fs.Parse(argv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			commandUsage(stdout, cmd, fs)
			return err
		}
		return &usageError{fmt.Sprintf("%v (%s %s --help lists the flags)", err, name, cmd)}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q: %s takes only flags", fs.Arg(0), cmd)}
	}
	opts, err := o.options()
	if err != nil {
		return err
	}
	keepWritingOnEPIPE()
	if cmd == "uninstall" {
		// Unlabelled first: no new pod is sent here while it goes.
		if err := o.setLabel(stdout, false); err != nil {
			return err
		}
		res, err := installer.Uninstall(opts)
		if err != nil {
			return err
		}
		report(stdout, res, "uninstalled")
		return nil
	}
	res, err := installer.Install(opts)
	if err != nil {
		return err
	}
	report(stdout, res, "installed")
	// Labelled last: pods are sent here only once it can run them.
	if err := o.setLabel(stdout, true); err != nil {
		return err
	}
	if *waitFlag {
		wait()
	}
	return nil
}

func waitForSignal() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, unix.SIGTERM, unix.SIGINT)
	<-sig
}

type nodeOpts struct {
	hostRoot, dist, config, binDir, source, restart *string
	labelNode, label                                *string
	noBinaries                                      *bool
}

func nodeFlags(fs *flag.FlagSet) nodeOpts {
	return nodeOpts{
		hostRoot: fs.String("host-root", "/", "where the node's filesystem is mounted (the DaemonSet mounts it at /host)"),
		dist:     fs.String("distribution", installer.Containerd, "containerd or k3s"),
		config: fs.String("config", "", "containerd's config (default "+installer.DefaultContainerdConfig+
			"), or for k3s the config k3s renders (default "+installer.DefaultK3sConfig+"); a host path"),
		binDir:     fs.String("bin-dir", installer.DefaultBinDir, "host directory for containerd-shim-slrt-v2 and slrt"),
		source:     fs.String("source-dir", "", "directory holding the binaries to copy (default: this program's directory)"),
		noBinaries: fs.Bool("no-binaries", false, "leave the bin dir alone: register (or remove) the runtime only"),
		restart: fs.String("restart", "none", "how containerd (k3s) reads the new config: none, command:CMD "+
			"(sh -c CMD on the host), or signal:PIDFILE:SIGNAL; run only when the config changed"),
		labelNode: fs.String("label-node", "", "label this node (by name) once installed, unlabel it before uninstalling; uses the pod's service account"),
		label:     fs.String("label", "slrt.io/installed=true", "the label --label-node sets"),
	}
}

// setLabel sets (or removes) --label on --label-node, when given.
func (n nodeOpts) setLabel(stdout io.Writer, set bool) error {
	if *n.labelNode == "" {
		return nil
	}
	key, value, ok := strings.Cut(*n.label, "=")
	if !ok || key == "" || value == "" {
		return fmt.Errorf("--label %q: want key=value", *n.label)
	}
	c, err := nodelabel.InCluster()
	if err != nil {
		return fmt.Errorf("--label-node: %w", err)
	}
	if !set {
		value = ""
	}
	if err := c.Set(*n.labelNode, key, value); err != nil {
		return err
	}
	if set {
		fmt.Fprintf(stdout, "node %s: labelled %s\n", *n.labelNode, *n.label)
	} else {
		fmt.Fprintf(stdout, "node %s: label %s removed\n", *n.labelNode, key)
	}
	return nil
}

func (n nodeOpts) options() (installer.Options, error) {
	r, err := installer.ParseRestart(*n.restart)
	if err != nil {
		return installer.Options{}, err
	}
	// Checked before anything is written, so a bad label does not leave a
	// node installed but unlabelled.
	if *n.labelNode != "" {
		if key, value, ok := strings.Cut(*n.label, "="); !ok || key == "" || value == "" {
			return installer.Options{}, fmt.Errorf("--label %q: want key=value", *n.label)
		}
	}
	o := installer.Options{
		HostRoot:     *n.hostRoot,
		Distribution: *n.dist,
		Config:       *n.config,
		BinDir:       *n.binDir,
		SourceDir:    *n.source,
		Restart:      r,
	}
	if *n.noBinaries {
		o.SourceDir = ""
	} else if o.SourceDir == "" {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("find the binaries to install: %w (pass --source-dir)", err)
		}
		o.SourceDir = filepath.Dir(exe)
	}
	return o, nil
}

func report(w io.Writer, res installer.Result, done string) {
	for _, c := range res.Changes {
		fmt.Fprintf(w, "%s: %s\n", c.Path, c.What)
	}
	switch {
	case len(res.Changes) == 0:
		fmt.Fprintf(w, "slrt %s: nothing to change\n", done)
	case res.Restarted:
		fmt.Fprintf(w, "slrt %s; containerd restarted\n", done)
	case res.NeedsRestart:
		fmt.Fprintf(w, "slrt %s; restart containerd (or k3s) for it to take effect\n", done)
	default:
		fmt.Fprintf(w, "slrt %s\n", done)
	}
}

// keepWritingOnEPIPE: in a pod, stdout is a fifo containerd reads; while
// the restart we caused has containerd down, a write there raises SIGPIPE,
// which by default kills a Go program writing to fd 1 or 2 (seen in make
// e2e-k8s: the installer died right after restarting containerd). Asking
// for the signal turns it into an EPIPE the report ignores.
func keepWritingOnEPIPE() {
	signal.Notify(make(chan os.Signal, 1), unix.SIGPIPE)
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `%[1]s puts slrt on this node as containerd runtime handler sl, and takes it off.

Usage:
  %[1]s install [flags]
        copy slrt and containerd-shim-slrt-v2 into the bin dir, register runtime
        handler sl with containerd or k3s, restart it if asked, label the node
  %[1]s uninstall [flags]
        remove exactly what install added
  %[1]s COMMAND --help
        the command's flags
`, name)
}

func commandUsage(w io.Writer, cmd string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s %s [flags]\n\nFlags:\n", name, cmd)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/k8s/installer"
	"github.com/slrt/slrt/k8s/nodelabel"
)

// installCommand and uninstallCommand put slrt on a Kubernetes node and take
// it off again (k8s/installer): the chart's DaemonSet runs
// `slrt install --host-root /host ... --wait`, its pre-delete Job
// `slrt uninstall --host-root /host ...`; an admin can run either on the node.
var installCommand = &command{
	name:  "install",
	short: "install slrt on this node: copy the binaries, register runtime handler sl with containerd or k3s",
	nargs: 0,
	setup: func(fs *flag.FlagSet, g *globals) func([]string) error {
		o := nodeFlags(fs)
		wait := fs.Bool("wait", false, "after installing, wait for SIGTERM (a DaemonSet's container must keep running)")
		return func([]string) error {
			opts, err := o.options()
			if err != nil {
				return err
			}
			keepWritingOnEPIPE()
			res, err := installer.Install(opts)
			if err != nil {
				return err
			}
			report(res, "installed")
			// Labelled last: pods are sent here only once it can run them.
			if err := o.setLabel(true); err != nil {
				return err
			}
			if *wait {
				sig := make(chan os.Signal, 1)
				signal.Notify(sig, unix.SIGTERM, unix.SIGINT)
				<-sig
			}
			return nil
		}
	},
}

var uninstallCommand = &command{
	name:  "uninstall",
	short: "take slrt off this node: remove exactly what install added",
	nargs: 0,
	setup: func(fs *flag.FlagSet, g *globals) func([]string) error {
		o := nodeFlags(fs)
		return func([]string) error {
			opts, err := o.options()
			if err != nil {
				return err
			}
			keepWritingOnEPIPE()
			// Unlabelled first: no new pod is sent here while it goes.
			if err := o.setLabel(false); err != nil {
				return err
			}
			res, err := installer.Uninstall(opts)
			if err != nil {
				return err
			}
			report(res, "uninstalled")
			return nil
		}
	},
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
func (n nodeOpts) setLabel(set bool) error {
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
		fmt.Printf("node %s: labelled %s\n", *n.labelNode, *n.label)
	} else {
		fmt.Printf("node %s: label %s removed\n", *n.labelNode, key)
	}
	return nil
}

func (n nodeOpts) options() (installer.Options, error) {
	r, err := installer.ParseRestart(*n.restart)
	if err != nil {
		return installer.Options{}, err
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

func report(res installer.Result, done string) {
	for _, c := range res.Changes {
		fmt.Printf("%s: %s\n", c.Path, c.What)
	}
	switch {
	case len(res.Changes) == 0:
		fmt.Printf("slrt %s: nothing to change\n", done)
	case res.Restarted:
		fmt.Printf("slrt %s; containerd restarted\n", done)
	case res.NeedsRestart:
		fmt.Printf("slrt %s; restart containerd (or k3s) for it to take effect\n", done)
	default:
		fmt.Printf("slrt %s\n", done)
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

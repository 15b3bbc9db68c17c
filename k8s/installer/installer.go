package installer

import (
	"fmt"
	"os"
	"path/filepath"
)

// Distributions the installer knows.
const (
	Containerd = "containerd"
	K3s        = "k3s"
)

// DefaultContainerdConfig is containerd's config path.
const DefaultContainerdConfig = "/etc/containerd/config.toml"

// DefaultBinDir is where the binaries go on the host.
const DefaultBinDir = "/usr/local/bin"

// Options say what to install where. Paths other than HostRoot and
// SourceDir are the node's own paths.
type Options struct {
	// HostRoot is where the node's paths are seen ("/" on the node itself;
	// the DaemonSet mounts them under /host).
	HostRoot string
	// Distribution is Containerd or K3s.
	Distribution string
	// Config is containerd's config (Containerd), or the config k3s renders
	// (K3s); empty means the distribution's default.
	Config string
	// BinDir is the host directory for the binaries.
	BinDir string
	// SourceDir holds the binaries to copy (Binaries); empty skips copying
	// (and uninstall then leaves the bin dir alone too).
	SourceDir string
	Restart   Restart
	// Runtime is what gets registered; the zero value means
	// DefaultRuntime(BinDir).
	Runtime Runtime
}

func (o *Options) defaults() error {
	if o.HostRoot == "" {
		o.HostRoot = "/"
	}
	if o.BinDir == "" {
		o.BinDir = DefaultBinDir
	}
	if o.Restart.Kind == "" {
		o.Restart.Kind = "none"
	}
	switch o.Distribution {
	case "", Containerd:
		o.Distribution = Containerd
		if o.Config == "" {
			o.Config = DefaultContainerdConfig
		}
	case K3s:
		if o.Config == "" {
			o.Config = DefaultK3sConfig
		}
	default:
		return fmt.Errorf("distribution %q: want %s or %s", o.Distribution, Containerd, K3s)
	}
	for _, p := range []string{o.Config, o.BinDir} {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("%s: a host path must be absolute", p)
		}
	}
	if o.Runtime.Handler == "" {
		o.Runtime = DefaultRuntime(o.BinDir)
	}
	return nil
}

// Change is one file the installer changed.
type Change struct {
	Path string // host path
	What string
}

// Result says what Install or Uninstall did.
type Result struct {
	Changes []Change
	// Restarted is true when the config changed and Restart ran (false
	// for the "none" method: the admin must restart).
	Restarted bool
	// NeedsRestart is true when the config changed.
	NeedsRestart bool
}

// Install copies the binaries and registers the runtime; it changes nothing
// that is already as wanted, and restarts only when the config changed.
func Install(o Options) (Result, error) {
	if err := o.defaults(); err != nil {
		return Result{}, err
	}
	h := host{root: o.HostRoot}
	var changes []change
	if o.SourceDir != "" {
		bins, err := planBinaries(h, o.SourceDir, o.BinDir)
		if err != nil {
			return Result{}, err
		}
		changes = append(changes, bins...)
	}
	var cfg []change
	var err error
	if o.Distribution == K3s {
		cfg, err = planK3sInstall(h, o.Config, o.Runtime)
	} else {
		cfg, err = planContainerdInstall(h, o.Config, o.Runtime)
	}
	if err != nil {
		return Result{}, err
	}
	// Config after binaries: containerd must never be pointed at a shim
	// that is not there yet.
	return finish(h, o, append(changes, cfg...))
}

// Uninstall removes what Install added: our block or imports entry, our
// drop-in, and (with SourceDir set) the binaries.
func Uninstall(o Options) (Result, error) {
	if err := o.defaults(); err != nil {
		return Result{}, err
	}
	h := host{root: o.HostRoot}
	var changes []change
	var err error
	if o.Distribution == K3s {
		changes, err = planK3sUninstall(h, o.Config)
	} else {
		changes, err = planContainerdUninstall(h, o.Config)
	}
	if err != nil {
		return Result{}, err
	}
	if o.SourceDir != "" {
		bins, err := planBinariesRemoval(h, o.BinDir)
		if err != nil {
			return Result{}, err
		}
		changes = append(changes, bins...)
	}
	return finish(h, o, changes)
}

func finish(h host, o Options, changes []change) (Result, error) {
	var res Result
	if err := h.apply(changes); err != nil {
		return res, err
	}
	for _, c := range changes {
		res.Changes = append(res.Changes, Change{Path: c.path, What: c.why})
		res.NeedsRestart = res.NeedsRestart || c.restartFor
	}
	if res.NeedsRestart && o.Restart.Kind != "none" {
		if err := o.Restart.run(h, os.Stderr); err != nil {
			return res, err
		}
		res.Restarted = true
	}
	return res, nil
}

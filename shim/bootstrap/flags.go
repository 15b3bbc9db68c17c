package bootstrap

import (
	"flag"
	"fmt"
	"io"
)

// Flags are what containerd passes on the shim's command line (the same for
// every version 1.6–2.4), plus the action: start, delete, or none (serve:
// the re-exec'd daemon).
type Flags struct {
	Namespace     string
	Address       string // containerd's gRPC address
	PublishBinary string
	ID            string
	Bundle        string
	Socket        string // the daemon's listen address (set by start for serve)
	Debug         bool
	Version       bool
	Info          bool
	Action        string
}

// Parse reads args (without argv[0]). Unknown flags are an error, as with
// containerd's own shims, so a typo never silently changes behaviour.
func Parse(args []string, stderr io.Writer) (*Flags, error) {
	f := &Flags{}
	fs := flag.NewFlagSet("containerd-shim-slrt-v2", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.Namespace, "namespace", "", "namespace that owns the shim")
	fs.StringVar(&f.Address, "address", "", "grpc address back to main containerd")
	fs.StringVar(&f.PublishBinary, "publish-binary", "", "path to publish binary (unused: events go over ttrpc)")
	fs.StringVar(&f.ID, "id", "", "id of the task")
	fs.StringVar(&f.Bundle, "bundle", "", "path to the bundle if not workdir")
	fs.StringVar(&f.Socket, "socket", "", "address the daemon serves on (set by start)")
	fs.BoolVar(&f.Debug, "debug", false, "enable debug output in logs")
	fs.BoolVar(&f.Version, "v", false, "show the shim version and exit")
	fs.BoolVar(&f.Version, "version", false, "show the shim version and exit")
	fs.BoolVar(&f.Info, "info", false, "print a protobuf RuntimeInfo and exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch rest := fs.Args(); len(rest) {
	case 0:
	case 1:
		f.Action = rest[0]
	default:
		return nil, fmt.Errorf("unexpected arguments %q", rest[1:])
	}
	switch f.Action {
	case "", "start", "delete":
	default:
		return nil, fmt.Errorf("unknown action %q (want start or delete)", f.Action)
	}
	if !f.Version && !f.Info && f.Namespace == "" {
		return nil, fmt.Errorf("shim namespace cannot be empty")
	}
	return f, nil
}

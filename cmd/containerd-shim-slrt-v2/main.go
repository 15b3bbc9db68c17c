// Command containerd-shim-slrt-v2 is the containerd runtime
// io.containerd.slrt.v2: containerd runs it with `start` once per pod, then
// drives the pod's containers over ttrpc; the engine runs in this process.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/slrt/slrt/shim/bootstrap"
)

const name = "containerd-shim-slrt-v2"

func main() {
	f, err := bootstrap.Parse(os.Args[1:], os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	var out []byte
	switch {
	case f.Version:
		bootstrap.PrintVersion(os.Stdout, name)
		return
	case f.Info:
		out, err = bootstrap.Info()
	case f.Action == "start":
		out, err = bootstrap.Start(f, stdin(), os.Getenv)
	case f.Action == "delete":
		out, err = bootstrap.Delete(f)
	default:
		err = bootstrap.Serve(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}

// stdin is containerd's pipe; nil when a person runs start at a terminal.
func stdin() io.Reader {
	if st, err := os.Stdin.Stat(); err != nil || st.Mode()&os.ModeCharDevice != 0 {
		return nil
	}
	return os.Stdin
}

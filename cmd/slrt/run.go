package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/container"
	"github.com/slrt/slrt/runtime/spec"
)

var runCommand = &command{
	name:  "run",
	args:  "<container-id>",
	short: "create and run a container",
	nargs: 1,
	setup: func(fs *flag.FlagSet, g *globals) func([]string) error {
		var f createFlags
		var detach, keep bool
		f.register(fs)
		boolFlag(fs, &detach, "detach,d", "detach from the container's process")
		boolFlag(fs, &keep, "keep", "do not delete the container after it exits")
		var noSubreaper bool
		boolFlag(fs, &noSubreaper, "no-subreaper", "accepted for runc compatibility; slrt reaps its own children only")
		return func(args []string) error {
			return runContainer(g, &f, args[0], detach, keep)
		}
	},
}

// runContainer is create + start. In the foreground it stays as the
// container's supervisor the way runc does: signals it receives go to the
// init, its exit status becomes ours, and the container is deleted after.
func runContainer(g *globals, f *createFlags, id string, detach, keep bool) error {
	opts, err := f.opts(g, id, false)
	if err != nil {
		return err
	}
	if opts.Spec == nil {
		// Parsed once here for process.terminal and handed to Create:
		// reading it twice cost a second decode of the spec per run.
		if opts.Spec, err = loadSpec(opts.Bundle); err != nil {
			return fmt.Errorf("slrt run failed: %w", describe(err))
		}
	}
	var pair *consolePair
	if f.consoleSocket == "" && opts.Spec.Process != nil && opts.Spec.Process.Terminal {
		if detach {
			return fmt.Errorf("cannot allocate tty if slrt will detach without setting console socket")
		}
		if pair, err = newConsolePair(); err != nil {
			return err
		}
		defer pair.close()
		opts.ConsoleFD = int(pair.remote.Fd())
	}
	// Catch signals before the container exists, so none is lost between
	// its start and our first wait.
	sigs := make(chan os.Signal, 128)
	if !detach {
		signal.Notify(sigs)
		defer signal.Stop(sigs)
	}
	c, err := container.Create(g.root, opts)
	if err != nil {
		return fmt.Errorf("slrt run failed: %w", describe(err))
	}
	if err := writeInitPid(c, f.pidFile); err != nil {
		return err
	}
	var relay *ttyRelay
	if pair != nil {
		master, err := pair.master(c.Init().Terminal)
		if err != nil {
			c.Delete(true)
			return fmt.Errorf("slrt run failed: %w", err)
		}
		relay = startRelay(master)
	}
	if err := c.Start(nil); err != nil {
		relay.finish()
		c.Delete(true)
		return fmt.Errorf("slrt run failed: %w", describe(err))
	}
	if detach {
		return nil
	}
	st := supervise(c.Init(), sigs, func(sig unix.Signal) error { return c.Kill(sig, false) }, relay)
	relay.finish()
	if !keep {
		if err := c.Delete(true); err != nil {
			g.log.warnf("delete container %s: %v", id, err)
		}
	}
	return &exitCode{code: st.Code}
}

// supervise forwards signals to a process until it exits and returns its
// status. SIGCHLD is ours, SIGURG is the Go runtime's preemption signal, and
// SIGWINCH resizes the pty instead of being forwarded (as runc does).
func supervise(p *container.Process, sigs chan os.Signal, kill func(unix.Signal) error, relay *ttyRelay) container.ExitStatus {
	exited := make(chan container.ExitStatus, 1)
	go func() { exited <- p.Wait() }()
	for {
		select {
		case st := <-exited:
			return st
		case s := <-sigs:
			sig, ok := s.(unix.Signal)
			if !ok {
				continue
			}
			switch sig {
			case unix.SIGCHLD, unix.SIGURG:
			case unix.SIGWINCH:
				relay.resize()
			default:
				kill(sig)
			}
		}
	}
}

// loadSpec reads the bundle's config.json as Create would (the same checks
// and messages, with the bundle's absolute path).
func loadSpec(bundle string) (*specs.Spec, error) {
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return nil, fmt.Errorf("bundle %q: %w", bundle, err)
	}
	return spec.Load(abs)
}

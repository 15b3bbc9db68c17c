package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/container"
)

// execFlags are exec's options (runc's names and aliases).
type execFlags struct {
	tty, detach, noNewPrivs   bool
	pidFile, consoleSocket    string
	cwd, user, processFile    string
	apparmor, processLabel    string
	env, caps, additionalGids listValue
	preserveFDs               int
	ignorePaused              bool
}

var execCommand = &command{
	name:    "exec",
	args:    "<container-id> <command> [command options]  || -p process.json <container-id>",
	short:   "execute new process inside the container",
	nargs:   -1,
	minArgs: 1,
	setup: func(fs *flag.FlagSet, g *globals) func([]string) error {
		var f execFlags
		stringFlag(fs, &f.consoleSocket, "console-socket", "", "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal")
		stringFlag(fs, &f.cwd, "cwd", "", "current working directory in the container")
		listFlag(fs, &f.env, "env,e", "set environment variables")
		boolFlag(fs, &f.tty, "tty,t", "allocate a pseudo-TTY")
		stringFlag(fs, &f.user, "user,u", "", "UID (format: <uid>[:<gid>])")
		listFlag(fs, &f.additionalGids, "additional-gids,g", "additional gids")
		stringFlag(fs, &f.processFile, "process,p", "", "path to the process.json")
		boolFlag(fs, &f.detach, "detach,d", "detach from the container's process")
		stringFlag(fs, &f.pidFile, "pid-file", "", "specify the file to write the process id to")
		stringFlag(fs, &f.processLabel, "process-label", "", "set the asm process label for the process commonly used with selinux")
		stringFlag(fs, &f.apparmor, "apparmor", "", "set the apparmor profile for the process")
		boolFlag(fs, &f.noNewPrivs, "no-new-privs", "set the no new privileges value for the process")
		listFlag(fs, &f.caps, "cap,c", "add a capability to the bounding set for the process")
		intFlag(fs, &f.preserveFDs, "preserve-fds", "Pass N additional file descriptors to the container")
		boolFlag(fs, &f.ignorePaused, "ignore-paused", "allow exec in a paused container")
		return func(args []string) error {
			code, err := execProcess(g, &f, args)
			if err != nil {
				// runc exits 255 when the process could not be started, so
				// callers can tell that from the process's own exit 1.
				return &exitCode{code: 255, err: err}
			}
			return &exitCode{code: code}
		}
	},
}

func execProcess(g *globals, f *execFlags, args []string) (int, error) {
	extra, err := preservedFiles(f.preserveFDs)
	if err != nil {
		return 0, err
	}
	c, err := load(g, args[0])
	if err != nil {
		return 0, err
	}
	switch status(c) {
	case container.Running:
	case container.Paused:
		if !f.ignorePaused {
			return 0, errors.New("cannot exec in a paused container (use --ignore-paused to override)")
		}
	default:
		return 0, errors.New("cannot exec in a stopped container")
	}
	s, err := c.Spec()
	if err != nil {
		return 0, err
	}
	p, err := f.process(s, args[1:])
	if err != nil {
		return 0, err
	}
	opts := container.ExecOpts{Process: p, ConsoleSocket: f.consoleSocket, ExtraFiles: extra}
	var pair *consolePair
	if p.Terminal && f.consoleSocket == "" {
		if f.detach {
			return 0, errors.New("cannot allocate tty if slrt will detach without setting console socket")
		}
		if pair, err = newConsolePair(); err != nil {
			return 0, err
		}
		defer pair.close()
		opts.ConsoleFD = int(pair.remote.Fd())
	}
	sigs := make(chan os.Signal, 128)
	if !f.detach {
		signal.Notify(sigs)
		defer signal.Stop(sigs)
	}
	proc, err := c.Exec(opts)
	if err != nil {
		return 0, fmt.Errorf("exec failed: %w", describe(err))
	}
	if err := writePidFile(f.pidFile, proc.Pid); err != nil {
		unix.Kill(proc.Pid, unix.SIGKILL)
		return 0, err
	}
	if f.detach {
		return 0, nil
	}
	var relay *ttyRelay
	if pair != nil {
		master, err := pair.master(proc.Terminal)
		if err != nil {
			unix.Kill(proc.Pid, unix.SIGKILL)
			return 0, fmt.Errorf("exec failed: %w", err)
		}
		relay = startRelay(master)
	}
	kill := func(sig unix.Signal) error { return unix.Kill(proc.Pid, sig) }
	st := supervise(proc, sigs, kill, relay)
	relay.finish()
	return st.Code, nil
}

// process builds the process to exec: process.json as given, or (runc's
// way) the container's own process with the command line and flags applied.
func (f *execFlags) process(base *specs.Spec, argv []string) (*specs.Process, error) {
	if f.processFile != "" {
		b, err := os.ReadFile(f.processFile)
		if err != nil {
			return nil, fmt.Errorf("read process file: %w", err)
		}
		var p specs.Process
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("parse process file %s: %w", f.processFile, err)
		}
		return &p, nil
	}
	if len(argv) == 0 {
		return nil, errors.New("exec args cannot be empty")
	}
	var p specs.Process
	if base != nil && base.Process != nil {
		p = *base.Process
		p.Env = append([]string(nil), p.Env...)
		if p.Capabilities != nil {
			cp := *p.Capabilities
			p.Capabilities = &cp
		}
	}
	p.Args = argv
	p.Terminal = f.tty
	p.ConsoleSize = nil
	p.Env = append(p.Env, f.env...)
	if f.cwd != "" {
		p.Cwd = f.cwd
	}
	if f.user != "" {
		uid, gid, err := parseUser(f.user)
		if err != nil {
			return nil, err
		}
		p.User.UID = uid
		if gid >= 0 {
			p.User.GID = uint32(gid)
		}
	}
	for _, s := range f.additionalGids {
		gid, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("parse additional gid %q: %w", s, err)
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(gid))
	}
	if len(f.caps) > 0 {
		if p.Capabilities == nil {
			p.Capabilities = &specs.LinuxCapabilities{}
		}
		for _, c := range f.caps {
			c = strings.ToUpper(c)
			if !strings.HasPrefix(c, "CAP_") {
				c = "CAP_" + c
			}
			caps := p.Capabilities
			caps.Bounding = append(append([]string(nil), caps.Bounding...), c)
			caps.Effective = append(append([]string(nil), caps.Effective...), c)
			caps.Permitted = append(append([]string(nil), caps.Permitted...), c)
		}
	}
	if f.noNewPrivs {
		p.NoNewPrivileges = true
	}
	if f.apparmor != "" {
		p.ApparmorProfile = f.apparmor
	}
	if f.processLabel != "" {
		p.SelinuxLabel = f.processLabel
	}
	return &p, nil
}

// parseUser parses "uid[:gid]"; gid is -1 when not given.
func parseUser(s string) (uint32, int64, error) {
	u, g, hasGID := strings.Cut(s, ":")
	uid, err := strconv.ParseUint(u, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("parsing %s as UID: %w", u, err)
	}
	if !hasGID {
		return uint32(uid), -1, nil
	}
	gid, err := strconv.ParseUint(g, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("parsing %s as GID: %w", g, err)
	}
	return uint32(uid), int64(gid), nil
}

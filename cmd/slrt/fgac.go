package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/fgac/agent"
	"github.com/slrt/slrt/fgac/policy"
	fgacspec "github.com/slrt/slrt/fgac/spec"
)

// fgacCommand runs the FGAC agent and its helpers (README.md,
// "Fine-grained access control"):
//
//	slrt fgac serve --policy FILE --socket PATH [--publish-policy FILE]
//	                                              the agent (root, once per node)
//	slrt fgac check --policy FILE                 validate a policy file
//	slrt fgac apply --policy FILE --socket PATH --bundle DIR [--profile NAME]
//	                                              add a profile's notify rules to a bundle's config.json
var fgacCommand = &command{
	name:    "fgac",
	args:    "serve|check|apply",
	short:   "fine-grained access control: the seccomp agent that performs allowed privileged syscalls for containers",
	nargs:   -1,
	minArgs: 1,
	setup: func(fs *flag.FlagSet, g *globals) func([]string) error {
		var o fgacOpts
		o.register(fs)
		return func(args []string) error {
			// Flags may also follow the subcommand.
			sub := flag.NewFlagSet("fgac "+args[0], flag.ContinueOnError)
			sub.SetOutput(io.Discard)
			o.register(sub)
			if err := sub.Parse(args[1:]); err != nil {
				return fmt.Errorf("slrt fgac %s: %w", args[0], err)
			}
			if sub.NArg() > 0 {
				return fmt.Errorf("slrt fgac %s: unexpected arguments %q", args[0], sub.Args())
			}
			switch args[0] {
			case "serve":
				return fgacServe(o, os.Stderr)
			case "check":
				p, err := policy.Load(o.policy)
				if err != nil {
					return err
				}
				fmt.Printf("%s: %d profiles, valid\n", o.policy, len(p.Profiles))
				return nil
			case "apply":
				return fgacApply(o)
			}
			return fmt.Errorf("slrt fgac: unknown subcommand %q (serve, check or apply)", args[0])
		}
	},
}

type fgacOpts struct {
	policy, socket, bundle, profile string
	publish                         string
}

func (o *fgacOpts) register(fs *flag.FlagSet) {
	stringFlag(fs, &o.policy, "policy", fgacspec.DefaultPolicy, "the FGAC policy file (JSON)")
	stringFlag(fs, &o.socket, "socket", fgacspec.DefaultSocket, "the agent's unix socket (linux.seccomp.listenerPath)")
	stringFlag(fs, &o.bundle, "bundle,b", ".", "apply: the bundle whose config.json gets the profile")
	stringFlag(fs, &o.profile, "profile", "", "apply: the profile (default: the annotation "+policy.ProfileAnnotation+")")
	stringFlag(fs, &o.publish, "publish-policy", "", "serve: also write the policy in force to this file (removed on exit), for the runtimes on the host")
}

// fgacServe runs the agent until SIGTERM or SIGINT; SIGHUP reloads the
// policy (a bad file keeps the old policy, and the log says why).
func fgacServe(o fgacOpts, stderr io.Writer) error {
	a, err := agent.New(o.policy)
	if err != nil {
		return err
	}
	logger := log.New(stderr, "slrt fgac: ", log.LstdFlags)
	a.Logf = logger.Printf
	if err := os.MkdirAll(filepath.Dir(o.socket), 0o711); err != nil {
		return err
	}
	l, err := agent.Listen(o.socket)
	if err != nil {
		return err
	}
	defer os.Remove(o.socket)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	defer signal.Stop(sigs)
	if o.publish != "" {
		if err := publishPolicy(o.policy, o.publish); err != nil {
			return err
		}
		defer os.Remove(o.publish)
	}
	go func() {
		for s := range sigs {
			if s == unix.SIGHUP {
				if a.Reload() == nil && o.publish != "" {
					if err := publishPolicy(o.policy, o.publish); err != nil {
						logger.Printf("reload: %v", err)
					}
				}
				continue
			}
			logger.Printf("%v: answering pending notifications and exiting", s)
			a.Shutdown()
			return
		}
	}()
	logger.Printf("serving policy %s (%d profiles) on %s", o.policy, len(a.Policy().Profiles), o.socket)
	return a.Serve(l)
}

// publishPolicy copies the policy file the agent serves to dst (temp file
// and rename, so a reader sees the old policy or the new one), where the
// runtimes read it when they merge a profile into a spec (the shim and
// slrt create read /etc/slrt/fgac.json). In Kubernetes the policy comes
// from a ConfigMap mounted in the agent's pod, which the host cannot see.
// The copy is validated again: the file may have changed since the load.
func publishPolicy(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("publish policy: %w", err)
	}
	if _, err := policy.Parse(src, data); err != nil {
		return fmt.Errorf("publish policy: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("publish policy: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".fgac-*.json")
	if err != nil {
		return fmt.Errorf("publish policy: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		return fmt.Errorf("publish policy to %s: %w", dst, err)
	}
	return nil
}

// fgacApply edits a bundle's config.json for runtimes that do not read the
// annotation themselves (runc, crun, an embedded supervisor).
func fgacApply(o fgacOpts) error {
	p, err := policy.Load(o.policy)
	if err != nil {
		return err
	}
	path := filepath.Join(o.bundle, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if o.profile != "" {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[policy.ProfileAnnotation] = o.profile
	}
	ok, err := fgacspec.FromAnnotations(&s, p, o.socket)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s asks for no profile: give --profile or the annotation %s", path, policy.ProfileAnnotation)
	}
	out, err := json.MarshalIndent(&s, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

// fgacSpec is the bundle's spec with the FGAC profile its annotation
// slrt.io/fgac-profile asks for merged in, from the node's policy file and
// with the agent at its default socket; nil when the spec asks for none,
// and then the engine reads config.json itself as always. The shim calls
// the same function (fgac/spec.ForBundle).
func fgacSpec(bundle string) (*specs.Spec, error) {
	return fgacspec.ForBundle(bundle, fgacspec.DefaultPolicy, fgacspec.DefaultSocket)
}

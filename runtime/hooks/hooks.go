// Package hooks runs OCI lifecycle hooks: the hook's binary with its args
// and env, the container state JSON on stdin, and the hook's timeout.
//
// The parent runs prestart, createRuntime, poststart and poststop in the
// runtime's namespaces; slrt-init runs createContainer and startContainer
// inside the container's, with the same code.
package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/channel"
)

// FromSpec converts spec hooks to the plan form, checking each path is
// absolute (runtime-spec: "path ... MUST be absolute").
func FromSpec(name string, list []specs.Hook) ([]channel.Hook, error) {
	out := make([]channel.Hook, 0, len(list))
	for i, h := range list {
		if !strings.HasPrefix(h.Path, "/") {
			return nil, fmt.Errorf("hooks.%s[%d].path: %q is not absolute", name, i, h.Path)
		}
		if h.Timeout != nil && *h.Timeout <= 0 {
			return nil, fmt.Errorf("hooks.%s[%d].timeout: must be positive, got %d", name, i, *h.Timeout)
		}
		c := channel.Hook{Path: h.Path, Args: h.Args, Env: h.Env}
		if h.Timeout != nil {
			c.Timeout = *h.Timeout
		}
		out = append(out, c)
	}
	return out, nil
}

// Run runs each hook in order with state on its stdin and stops at the
// first failure, whose error names the hook and carries its stderr.
func Run(name string, list []channel.Hook, state []byte) error {
	for i, h := range list {
		if err := run(h, state); err != nil {
			return fmt.Errorf("%s hook #%d (%s): %w", name, i, h.Path, err)
		}
	}
	return nil
}

func run(h channel.Hook, state []byte) error {
	ctx := context.Background()
	if h.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	// runtime-spec: args has the same semantics as IEEE Std 1003.1-2008
	// execv's argv, so args[0] is argv[0], not an extra argument.
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	} else {
		cmd.Args = []string{h.Path}
	}
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdin = bytes.NewReader(state)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("timed out after %ds", h.Timeout)
	}
	if err != nil {
		var ee *exec.ExitError
		msg := strings.TrimSpace(out.String())
		if errors.As(err, &ee) && msg != "" {
			return fmt.Errorf("%w: %s", err, msg)
		}
		return err
	}
	return nil
}

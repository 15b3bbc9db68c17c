package task

import (
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/fgac/policy"
	fgacspec "github.com/slrt/slrt/fgac/spec"
)

// fgacSpec is the spec of a container whose annotation slrt.io/fgac-profile
// asks for an FGAC profile, with that profile merged in (package
// fgac/spec, the same merge `slrt create` does), or nil when it asks for
// none and the engine reads config.json itself. The policy file and the
// agent's socket are the node's defaults; $SLRT_FGAC_POLICY and
// $SLRT_FGAC_SOCKET in the shim's environment (containerd passes its own
// on) move them, for tests and hosts that keep them elsewhere.
//
// A profile the pod's namespace may not use is PermissionDenied; a node
// without a valid policy, FailedPrecondition. Either way nothing has been
// made yet: the hook runs before the rootfs is mounted.
func fgacSpec(bundle string) (*specs.Spec, error) {
	s, err := fgacspec.ForBundle(bundle, envOr("SLRT_FGAC_POLICY", fgacspec.DefaultPolicy), envOr("SLRT_FGAC_SOCKET", fgacspec.DefaultSocket))
	switch {
	case err == nil:
		return s, nil
	case errors.Is(err, policy.ErrDenied):
		return nil, fmt.Errorf("%w: %w", err, errPermissionDenied)
	case errors.Is(err, fgacspec.ErrNoPolicy):
		return nil, fmt.Errorf("%w: %w", err, errPrecondition)
	}
	return nil, fmt.Errorf("%w: %w", err, errInvalid) // the spec's own seccomp section conflicts
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

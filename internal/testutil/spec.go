package testutil

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/spec"
)

// DefaultSpec is the engine's default spec (runtime/spec.Default, which is
// `runc spec`'s) with process.args = args and terminal=false, so no console
// socket is needed. images/busybox/config.sh writes the same spec
// (TestDefaultSpecMatchesImage checks).
//
// runtime/spec's own in-package tests cannot use this package (an import
// cycle); they have no need for bundles.
func DefaultSpec(args ...string) *specs.Spec {
	s := spec.Default()
	s.Process.Terminal = false
	s.Process.Args = append([]string(nil), args...)
	return s
}

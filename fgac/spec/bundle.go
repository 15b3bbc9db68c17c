package spec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/fgac/policy"
	rspec "github.com/slrt/slrt/runtime/spec"
)

// ErrNoPolicy wraps the errors of a container that asks for a profile on
// a node whose policy file is missing or invalid: the node is not ready,
// the request may be fine.
var ErrNoPolicy = errors.New("no valid FGAC policy on this node")

// ForBundle is what a runtime calls before creating the container of
// bundle: the bundle's spec with the profile its annotation
// slrt.io/fgac-profile asks for merged in (the profile's syscalls from
// the policy file at policyPath, the agent at socket), or nil when the
// spec asks for none. Only a config.json that mentions the annotation is
// decoded here, so containers without FGAC pay one file read; a
// config.json that cannot be read or decoded is left to the engine, which
// reports it. A profile the container may not use is an error wrapping
// policy.ErrDenied; a policy that cannot be loaded, one wrapping
// ErrNoPolicy.
func ForBundle(bundle, policyPath, socket string) (*specs.Spec, error) {
	file := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(file)
	if err != nil || !bytes.Contains(data, []byte(policy.ProfileAnnotation)) {
		return nil, nil
	}
	// The engine's own parser, so a spec it would refuse (bad JSON, an
	// ociVersion it does not implement) is refused by it here too, not
	// handed to Create already parsed.
	s, err := rspec.Parse(file, data)
	if err != nil || s.Annotations[policy.ProfileAnnotation] == "" {
		return nil, nil
	}
	p, err := policy.Load(policyPath)
	if err != nil {
		return nil, fmt.Errorf("the container asks for FGAC profile %q: %w: %w", s.Annotations[policy.ProfileAnnotation], ErrNoPolicy, err)
	}
	if _, err := FromAnnotations(s, p, socket); err != nil {
		return nil, err
	}
	return s, nil
}

package spec

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/fgac/policy"
)

// TestForBundle: what a runtime gets for each kind of bundle before
// Create: nothing to do (nil, no error) unless config.json asks for a
// profile; then the merged spec, or an error wrapping policy.ErrDenied
// (the request) or ErrNoPolicy (the node).
func TestForBundle(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "fgac.json")
	if err := os.WriteFile(good, []byte(pol), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"profiles": [}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ask := func(profile, ns string) map[string]string {
		return map[string]string{policy.ProfileAnnotation: profile, policy.NamespaceAnnotation: ns}
	}
	for _, tc := range []struct {
		name    string
		config  any    // nil: no config.json; a string is written as is
		policy  string // the policy file
		want    bool   // a spec comes back
		wantErr error
		msg     string
	}{
		{name: "no config.json", policy: good},
		{name: "config.json that is not JSON but mentions the annotation", config: `{"annotations": {"slrt.io/fgac-profile": `, policy: good},
		{name: "no annotation", config: &specs.Spec{Annotations: map[string]string{"other": "x"}}, policy: good},
		{name: "an ociVersion the engine refuses", config: &specs.Spec{Version: "2.0.0", Annotations: ask("scratch", "edge")}, policy: good},
		{name: "empty profile name", config: &specs.Spec{Annotations: ask("", "edge")}, policy: good},
		{name: "allowed", config: &specs.Spec{Annotations: ask("scratch", "edge")}, policy: good, want: true},
		{name: "namespace not listed", config: &specs.Spec{Annotations: ask("scratch", "default")}, policy: good,
			wantErr: policy.ErrDenied, msg: `namespace "default" may not use profile "scratch"`},
		{name: "no such profile", config: &specs.Spec{Annotations: ask("other", "edge")}, policy: good,
			wantErr: policy.ErrDenied, msg: `no profile "other"`},
		{name: "policy file missing", config: &specs.Spec{Annotations: ask("scratch", "edge")}, policy: filepath.Join(dir, "missing.json"),
			wantErr: ErrNoPolicy, msg: `asks for FGAC profile "scratch"`},
		{name: "policy file invalid", config: &specs.Spec{Annotations: ask("scratch", "edge")}, policy: bad,
			wantErr: ErrNoPolicy, msg: "bad.json:1"},
		{name: "listener of its own", config: &specs.Spec{Annotations: ask("scratch", "edge"),
			Linux: &specs.Linux{Seccomp: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/other.sock"}}},
			policy: good, msg: "listenerPath is /run/other.sock already"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bundle := t.TempDir()
			if tc.config != nil {
				data, ok := tc.config.(string)
				if !ok {
					b, err := json.Marshal(versioned(tc.config.(*specs.Spec)))
					if err != nil {
						t.Fatal(err)
					}
					data = string(b)
				}
				if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(data), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := ForBundle(bundle, tc.policy, "/run/slrt/fgac.sock")
			if (s != nil) != tc.want {
				t.Errorf("spec %v, want one: %v", s, tc.want)
			}
			if tc.msg == "" {
				if err != nil {
					t.Errorf("error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.msg) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Errorf("error %v, want one wrapping %v saying %q", err, tc.wantErr, tc.msg)
			}
			if tc.wantErr != ErrNoPolicy && errors.Is(err, ErrNoPolicy) {
				t.Errorf("error %v blames the node's policy", err)
			}
		})
	}
	s, _ := ForBundle(writeBundle(t, &specs.Spec{Annotations: ask("scratch", "edge")}), good, "/run/x.sock")
	if s == nil || s.Linux.Seccomp.ListenerPath != "/run/x.sock" || s.Linux.Seccomp.ListenerMetadata != "scratch" {
		t.Errorf("merged spec's seccomp: %+v", s)
	}
}

// versioned gives s the ociVersion every real bundle carries, unless the
// case sets its own.
func versioned(s *specs.Spec) *specs.Spec {
	if s.Version == "" {
		c := *s
		c.Version = specs.Version
		return &c
	}
	return s
}

func writeBundle(t *testing.T, s *specs.Spec) string {
	dir := t.TempDir()
	b, _ := json.Marshal(versioned(s))
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

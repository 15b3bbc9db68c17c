package spec

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestDefaultRoundTrip(t *testing.T) {
	for name, s := range map[string]*specs.Spec{"default": Default(), "rootless": DefaultRootless()} {
		b, err := json.MarshalIndent(s, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		back, err := Load(dir)
		if err != nil {
			t.Fatalf("%s: Load of the printed spec: %v", name, err)
		}
		if !reflect.DeepEqual(back, s) {
			t.Errorf("%s: round trip changed the spec:\n got %+v\nwant %+v", name, back, s)
		}
	}
}

// Default must stay what `runc spec` writes, but for the hostname and the
// runtime-spec version. runc is on the build machine; elsewhere this skips.
func TestDefaultMatchesRunc(t *testing.T) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc not installed")
	}
	for _, tt := range []struct {
		name string
		args []string
		ours *specs.Spec
	}{
		{"default", []string{"spec"}, Default()},
		{"rootless", []string{"spec", "--rootless"}, DefaultRootless()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(runc, tt.args...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("runc %v: %v: %s", tt.args, err, out)
			}
			theirs := readGeneric(t, filepath.Join(dir, "config.json"))
			b, err := json.Marshal(tt.ours)
			if err != nil {
				t.Fatal(err)
			}
			var ours map[string]any
			if err := json.Unmarshal(b, &ours); err != nil {
				t.Fatal(err)
			}
			if ours["hostname"] != "slrt" || ours["ociVersion"] != specs.Version {
				t.Errorf("hostname %v, ociVersion %v", ours["hostname"], ours["ociVersion"])
			}
			for _, m := range []map[string]any{ours, theirs} {
				delete(m, "hostname")
				delete(m, "ociVersion")
			}
			if !reflect.DeepEqual(ours, theirs) {
				a, _ := json.MarshalIndent(ours, "", " ")
				b, _ := json.MarshalIndent(theirs, "", " ")
				t.Errorf("differs from runc %v:\nours:\n%s\nrunc:\n%s", tt.args, a, b)
			}
		})
	}
}

func readGeneric(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Default hands out fresh values: a caller editing one spec must not change
// the next.
func TestDefaultIsFresh(t *testing.T) {
	a := Default()
	a.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	a.Mounts[1].Options[0] = "x"
	a.Linux.MaskedPaths[0] = "x"
	if b := Default(); b.Process.Capabilities.Bounding[0] != "CAP_AUDIT_WRITE" || b.Mounts[1].Options[0] != "nosuid" || b.Linux.MaskedPaths[0] != "/proc/acpi" {
		t.Error("Default shares slices between calls")
	}
}

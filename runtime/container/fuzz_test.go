package container

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/slrt/slrt/internal/testutil"
	"github.com/slrt/slrt/runtime/namespaces"
	"github.com/slrt/slrt/runtime/spec"
)

// FuzzConfig feeds config.json files through what create does before it
// touches the system: spec.Load (parse and version check),
// namespaces.Parse and buildPlan (rootfs.Plan, process.Plan, sysctls,
// hooks, time namespace). None may panic, and an accepted spec must give a
// plan the parent can send to the init. Seeds: the default and rootless
// specs, and testdata/fuzz.
func FuzzConfig(f *testing.F) {
	for _, s := range []any{testutil.DefaultSpec("sh"), spec.Default(), spec.DefaultRootless()} {
		b, err := json.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	bundle := f.TempDir()
	for _, d := range []string{"rootfs", "data"} {
		if err := os.Mkdir(filepath.Join(bundle, d), 0o755); err != nil {
			f.Fatal(err)
		}
	}
	config := filepath.Join(bundle, "config.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(config, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := spec.Load(bundle)
		if err != nil || s.Linux == nil {
			return
		}
		ns, err := namespaces.Parse(s.Linux.Namespaces)
		if err != nil {
			return
		}
		plan, err := buildPlan(s, bundle, ns, &CreateOpts{}, false)
		if err != nil {
			return
		}
		if _, err := json.Marshal(plan); err != nil {
			t.Fatalf("accepted spec gives a plan that does not encode: %v", err)
		}
		if len(plan.Proc.Args) == 0 || plan.Rootfs.Path == "" {
			t.Fatalf("accepted spec gives a plan without args or root: %+v", plan)
		}
	})
}

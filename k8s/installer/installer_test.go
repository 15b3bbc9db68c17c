package installer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"text/template"
)

const (
	cdConfig  = "/etc/containerd/config.toml"
	k3sDir    = "/var/lib/rancher/k3s/agent/etc/containerd"
	k3sConfig = k3sDir + "/config.toml"
)

// A fixture puts a testdata file at a host path.
type fixture struct{ path, file string }

// caseTree lays out fixtures under a fresh root. Host paths inside the files
// (imports) are moved under the root too, so the installer runs with
// HostRoot "/" and a real containerd can load the result as it is.
func caseTree(t *testing.T, files []fixture) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join("testdata", f.file))
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		for _, q := range []string{`"`, `'`} {
			s = strings.ReplaceAll(s, q+"/var/lib/rancher/", q+root+"/var/lib/rancher/")
			s = strings.ReplaceAll(s, q+"/etc/containerd/", q+root+"/etc/containerd/")
		}
		p := filepath.Join(root, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// snapshot is every file and directory under root with its content.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			m[p] = "<dir>"
			return nil
		}
		data, err := os.ReadFile(p)
		m[p] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func changedPaths(root string, res Result) []string {
	var out []string
	for _, c := range res.Changes {
		out = append(out, strings.TrimPrefix(c.Path, root))
	}
	return out
}

var installCases = []struct {
	name   string
	dist   string
	files  []fixture
	want   []string // host paths install changes
	daemon []string // containerd versions that must load the result
}{
	{
		name:   "containerd 2.4 default (version 4, imports conf.d/*.toml)",
		files:  []fixture{{cdConfig, "containerd-2.4-default.toml"}},
		want:   []string{"/etc/containerd/conf.d/slrt.toml"},
		daemon: []string{"2.4.2"},
	},
	{
		name:   "containerd 2.x version 3 with runtimes, no imports",
		files:  []fixture{{cdConfig, "containerd-2-v3-runtimes.toml"}},
		want:   []string{"/etc/containerd/conf.d/slrt.toml", cdConfig},
		daemon: []string{"2.4.2", "2.2.9"},
	},
	{
		name: "containerd 2.x version 3 importing an explicit file",
		files: []fixture{{cdConfig, "containerd-2-v3-imports.toml"},
			{"/etc/containerd/registry.toml", "containerd-2-registry.toml"}},
		want:   []string{"/etc/containerd/conf.d/slrt.toml", cdConfig},
		daemon: []string{"2.4.2", "2.2.9"},
	},
	{
		name:   "containerd 2.x version 3 with empty imports",
		files:  []fixture{{cdConfig, "containerd-2-v3-empty-imports.toml"}},
		want:   []string{"/etc/containerd/conf.d/slrt.toml", cdConfig},
		daemon: []string{"2.4.2", "2.2.9"},
	},
	{
		name:   "containerd 1.7 default (version 2)",
		files:  []fixture{{cdConfig, "containerd-1.7-default.toml"}},
		want:   []string{cdConfig},
		daemon: []string{"1.7.35", "2.4.2", "2.2.9"},
	},
	{
		name: "containerd 1.7 with kata and crun, importing a file",
		files: []fixture{{cdConfig, "containerd-1.7-runtimes.toml"},
			{"/etc/containerd/debug.toml", "containerd-1.7-debug.toml"}},
		want:   []string{cdConfig},
		daemon: []string{"1.7.35", "2.4.2", "2.2.9"},
	},
	{
		name: "version 2 without a final newline",
		files: []fixture{{cdConfig, "containerd-1.7-runtimes-no-newline.toml"},
			{"/etc/containerd/debug.toml", "containerd-1.7-debug.toml"}},
		want:   []string{cdConfig},
		daemon: []string{"1.7.35"},
	},
	{
		name:   "k3s containerd 2.x without template",
		dist:   K3s,
		files:  []fixture{{k3sConfig, "k3s-v3-rendered.toml"}},
		want:   []string{k3sDir + "/config-v3.toml.tmpl"},
		daemon: []string{"2.4.2", "2.2.9"},
	},
	{
		name:   "k3s containerd 2.x importing config-v3.toml.d",
		dist:   K3s,
		files:  []fixture{{k3sConfig, "k3s-v3-rendered-imports.toml"}},
		want:   []string{k3sDir + "/config-v3.toml.d/slrt.toml"},
		daemon: []string{"2.4.2", "2.2.9"},
	},
	{
		name: "k3s containerd 2.x with a template adding nvidia",
		dist: K3s,
		files: []fixture{{k3sConfig, "k3s-v3-rendered.toml"},
			{k3sDir + "/config-v3.toml.tmpl", "k3s-v3-tmpl-nvidia.tmpl"}},
		want:   []string{k3sDir + "/config-v3.toml.tmpl"},
		daemon: []string{"2.4.2", "2.2.9"},
	},
	{
		name: "k3s containerd 2.x using config.toml.tmpl",
		dist: K3s,
		files: []fixture{{k3sConfig, "k3s-v3-rendered.toml"},
			{k3sDir + "/config.toml.tmpl", "k3s-v3-tmpl-nvidia.tmpl"}},
		want:   []string{k3sDir + "/config.toml.tmpl"},
		daemon: []string{"2.4.2", "2.2.9"},
	},
	{
		name: "k3s containerd 2.x with a conditional template",
		dist: K3s,
		files: []fixture{{k3sConfig, "k3s-v3-rendered.toml"},
			{k3sDir + "/config-v3.toml.tmpl", "k3s-v3-tmpl-conditional.tmpl"}},
		want:   []string{k3sDir + "/config-v3.toml.tmpl"},
		daemon: []string{"2.4.2", "2.2.9"},
	},
	{
		name:   "k3s containerd 1.7 without template",
		dist:   K3s,
		files:  []fixture{{k3sConfig, "k3s-v2-rendered.toml"}},
		want:   []string{k3sDir + "/config.toml.tmpl"},
		daemon: []string{"1.7.35"},
	},
	{
		name: "k3s containerd 1.7 with a template adding kata",
		dist: K3s,
		files: []fixture{{k3sConfig, "k3s-v2-rendered.toml"},
			{k3sDir + "/config.toml.tmpl", "k3s-v2-tmpl-kata.tmpl"}},
		want:   []string{k3sDir + "/config.toml.tmpl"},
		daemon: []string{"1.7.35"},
	},
}

func options(root, dist string) Options {
	cfg := cdConfig
	if dist == K3s {
		cfg = k3sConfig
	}
	return Options{HostRoot: "/", Distribution: dist, Config: root + cfg}
}

// TestInstallUninstall: install changes what it should, a second install
// nothing, the result loads in real containerd with the runtime and is
// otherwise the same config, and uninstall gives back every byte.
func TestInstallUninstall(t *testing.T) {
	for _, tc := range installCases {
		t.Run(tc.name, func(t *testing.T) {
			root := caseTree(t, tc.files)
			before := snapshot(t, root)
			o := options(root, tc.dist)
			dumps := map[string]map[string]any{}
			for _, v := range tc.daemon {
				if bin := containerdBinary(v); bin != "" {
					dumps[v] = dump(t, bin, root, tc.dist, o.Config)
				}
			}

			res, err := Install(o)
			if err != nil {
				t.Fatalf("install: %v", err)
			}
			if got := changedPaths(root, res); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("install changed %q, want %q", got, tc.want)
			}
			if !res.NeedsRestart || res.Restarted {
				t.Errorf("install: NeedsRestart %v Restarted %v, want true false (method none)", res.NeedsRestart, res.Restarted)
			}
			installed := snapshot(t, root)
			if res, err := Install(o); err != nil || len(res.Changes) != 0 || res.NeedsRestart {
				t.Fatalf("second install: %+v, %v; want no change", res, err)
			}

			for _, v := range tc.daemon {
				t.Run("containerd "+v, func(t *testing.T) {
					bin := containerdBinary(v)
					if bin == "" {
						t.Skipf("containerd %s not built (test/e2e/tools.sh %s builds it)", v, v)
					}
					checkDump(t, dumps[v], dump(t, bin, root, tc.dist, o.Config), DefaultRuntime(DefaultBinDir))
				})
			}
			if !reflect.DeepEqual(snapshot(t, root), installed) {
				t.Fatal("loading the config changed files")
			}

			res, err = Uninstall(o)
			if err != nil {
				t.Fatalf("uninstall: %v", err)
			}
			if len(res.Changes) == 0 || !res.NeedsRestart {
				t.Errorf("uninstall: %+v, want changes and a restart", res)
			}
			diffSnapshots(t, before, snapshot(t, root))
			if res, err := Uninstall(o); err != nil || len(res.Changes) != 0 {
				t.Fatalf("second uninstall: %+v, %v; want no change", res, err)
			}
		})
	}
}

func diffSnapshots(t *testing.T, want, got map[string]string) {
	t.Helper()
	for p, w := range want {
		if g, ok := got[p]; !ok {
			t.Errorf("%s is gone", p)
		} else if g != w {
			t.Errorf("%s differs from before install:\n--- got\n%s\n--- want\n%s", p, g, w)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s is left behind", p)
		}
	}
}

// containerdBinary is the containerd test/e2e/tools.sh built, or "".
func containerdBinary(v string) string {
	dir := os.Getenv("SLRT_TOOLS")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "slrt", "tools")
	}
	dir = filepath.Join(dir, "containerd-"+v)
	if _, err := os.Stat(filepath.Join(dir, ".done")); err != nil {
		return ""
	}
	return filepath.Join(dir, "containerd")
}

// dump is `containerd config dump` of the node's effective config, decoded.
// For k3s that is the rendered config: the template (when there is one) is
// rendered here with the fixture's rendered config as k3s's base.
func dump(t *testing.T, bin, root, dist, config string) map[string]any {
	t.Helper()
	if dist == K3s {
		config = renderK3s(t, config)
	}
	out, err := exec.Command(bin, "--config", config, "config", "dump").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%s config dump: %v\n%s", bin, err, ee.Stderr)
		}
		t.Fatal(err)
	}
	m, err := decode("dump", out)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func renderK3s(t *testing.T, rendered string) string {
	t.Helper()
	base, err := os.ReadFile(rendered)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(rendered)
	var tmplData []byte
	for _, name := range []string{k3sTemplateV3, k3sTemplateV2} {
		if data, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			tmplData = data
			break
		}
	}
	if tmplData == nil {
		return rendered
	}
	tm := template.Must(template.New("config").Parse(string(tmplData)))
	template.Must(tm.New("base").Parse(string(base)))
	f, err := os.CreateTemp(t.TempDir(), "rendered-*.toml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := tm.Execute(f, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// checkDump: after has our runtime, and without it is exactly before.
func checkDump(t *testing.T, before, after map[string]any, r Runtime) {
	t.Helper()
	for _, v := range []int64{3, 2} {
		tbl, ok := lookup(after, r.tablePath(v))
		if !ok {
			continue
		}
		if tbl["runtime_type"] != r.Type || tbl["runtime_path"] != r.Path ||
			!reflect.DeepEqual(tbl["pod_annotations"], []any{"slrt.io/*"}) {
			t.Fatalf("dumped runtime %v, want %+v", tbl, r)
		}
		deleteTable(after, before, r.tablePath(v))
		// imports differ when install added one (and containerd 1.7 lists
		// the config file itself there); what they import is compared.
		delete(before, "imports")
		delete(after, "imports")
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("config dump changed beyond the runtime table: %s", mapDiff(before, after, ""))
		}
		return
	}
	t.Fatalf("config dump has no runtime %q", r.Handler)
}

// mapDiff names the first key where two decoded documents differ.
func mapDiff(a, b any, at string) string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if !aok || !bok {
		if !reflect.DeepEqual(a, b) {
			return fmt.Sprintf("%s: %v != %v", at, a, b)
		}
		return ""
	}
	for k := range am {
		if d := mapDiff(am[k], bm[k], at+"."+k); d != "" {
			return d
		}
	}
	for k := range bm {
		if _, ok := am[k]; !ok {
			return fmt.Sprintf("%s.%s only after: %v", at, k, bm[k])
		}
	}
	return ""
}

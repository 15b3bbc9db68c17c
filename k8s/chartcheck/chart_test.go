// Package chartcheck tests charts/slrt offline: helm lint, then helm
// template with several values sets, each rendered manifest checked for
// what the API server and the chart's purpose need (known apiVersion/kind,
// valid names, namespaces, selectors matching labels, every volume mount
// backed by a hostPath volume and only the host paths the installer
// touches, hostPID only for a restart that needs it, the RuntimeClass's
// handler, overhead and node selector, the pre-delete hook).
//
// helm comes from test/e2e/k8s-tools.sh (built from the Go module proxy into
// the tools cache); the tests skip, saying so, when it is not built.
package chartcheck

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/slrt/slrt/fgac/policy"
	fgacspec "github.com/slrt/slrt/fgac/spec"
)

// helm as built from the module proxy assumes Kubernetes v1.20; the chart
// needs 1.25+, and is tested against the version make e2e-k8s runs.
const (
	helmVersion = "v3.22.0"
	kubeVersion = "v1.34.4"
)

func helm(t *testing.T) (bin, chart string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	chart = filepath.Join(filepath.Dir(file), "..", "..", "charts", "slrt")
	bin = os.Getenv("SLRT_HELM")
	if bin == "" {
		dir := os.Getenv("SLRT_TOOLS")
		if dir == "" {
			home, _ := os.UserHomeDir()
			dir = filepath.Join(home, ".cache", "slrt", "tools")
		}
		dir = filepath.Join(dir, "helm-"+helmVersion)
		if _, err := os.Stat(filepath.Join(dir, ".done")); err != nil {
			t.Skipf("helm %s not built (test/e2e/k8s-tools.sh helm builds it)", helmVersion)
		}
		bin = filepath.Join(dir, "helm")
	}
	home := t.TempDir()
	for _, v := range []string{"HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"} {
		t.Setenv(v, filepath.Join(home, v))
	}
	return bin, chart
}

func runHelm(bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), nil
}

// A values set and what its rendering must show.
type valuesCase struct {
	name     string
	set      []string
	setJSON  []string // helm --set-json
	fgac     bool     // the FGAC agent's ConfigMap and DaemonSet are rendered
	hostPID  bool
	hostDirs []string
	config   string
	restart  string
	overhead bool
	rcLabels map[string]string // RuntimeClass nodeSelector
}

var cases = []valuesCase{
	{
		name:     "defaults (k3s)",
		hostPID:  true,
		hostDirs: []string{"/var/lib/rancher/k3s/agent/etc/containerd", "/usr/local/bin"},
		config:   "/var/lib/rancher/k3s/agent/etc/containerd/config.toml",
		restart:  "command:systemctl restart k3s 2>/dev/null || systemctl restart k3s-agent",
		overhead: true,
		rcLabels: map[string]string{"slrt.io/installed": "true"},
	},
	{
		name:     "containerd",
		set:      []string{"k8sDistribution=containerd"},
		hostPID:  true,
		hostDirs: []string{"/etc/containerd", "/usr/local/bin"},
		config:   "/etc/containerd/config.toml",
		restart:  "command:systemctl restart containerd",
		overhead: true,
		rcLabels: map[string]string{"slrt.io/installed": "true"},
	},
	{
		name:     "containerd, no restart, own bin dir, no overhead, edge nodes only",
		set:      []string{"k8sDistribution=containerd", "installer.restart=none", "installer.binDir=/opt/slrt/bin", "runtimeClass.overhead=null", "runtimeClass.nodeSelector.edge=yes", "installer.nodeSelector.edge=yes"},
		hostPID:  false,
		hostDirs: []string{"/etc/containerd", "/opt/slrt/bin"},
		config:   "/etc/containerd/config.toml",
		restart:  "none",
		rcLabels: map[string]string{"slrt.io/installed": "true", "edge": "yes"},
	},
	{
		name:     "k3s restarted by a signal to a supervised pid",
		set:      []string{"installer.restart=signal:/run/k3s/k3s.pid:TERM", "installer.nodeLabel=example.com/slrt=ready"},
		hostPID:  true,
		hostDirs: []string{"/var/lib/rancher/k3s/agent/etc/containerd", "/usr/local/bin", "/run/k3s"},
		config:   "/var/lib/rancher/k3s/agent/etc/containerd/config.toml",
		restart:  "signal:/run/k3s/k3s.pid:TERM",
		overhead: true,
		rcLabels: map[string]string{"example.com/slrt": "ready"},
	},
	{
		name:     "containerd with the FGAC agent",
		set:      []string{"k8sDistribution=containerd", "fgac.enabled=true"},
		setJSON:  []string{`fgac.policy={"profiles":[{"name":"scratch","namespaces":["edge"],"rules":[{"mount":{"fstype":"tmpfs","targets":["/mnt/*"],"maxSize":"64M","maxMode":"1777","maxInodes":10000}},{"umount":{"targets":["/mnt/*"]}}]}]}`},
		fgac:     true,
		hostPID:  true,
		hostDirs: []string{"/etc/containerd", "/usr/local/bin"},
		config:   "/etc/containerd/config.toml",
		restart:  "command:systemctl restart containerd",
		overhead: true,
		rcLabels: map[string]string{"slrt.io/installed": "true"},
	},
}

func (c valuesCase) args() []string {
	var a []string
	for _, s := range c.set {
		a = append(a, "--set", s)
	}
	for _, s := range c.setJSON {
		a = append(a, "--set-json", s)
	}
	return a
}

func TestLint(t *testing.T) {
	bin, chart := helm(t)
	for _, c := range cases {
		if out, err := runHelm(bin, append([]string{"lint", "--strict", "--kube-version", kubeVersion, chart}, c.args()...)...); err != nil {
			t.Errorf("%s: %v", c.name, err)
		} else {
			t.Logf("%s: %s", c.name, strings.TrimSpace(out))
		}
	}
}

func TestTemplate(t *testing.T) {
	bin, chart := helm(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := runHelm(bin, append([]string{"template", "edge", chart, "--namespace", "slrt-system", "--kube-version", kubeVersion}, c.args()...)...)
			if err != nil {
				t.Fatal(err)
			}
			docs := decodeAll(t, out)
			// Keyed by kind, and kind/fgac for the FGAC agent's objects.
			kinds := map[string]map[string]any{}
			for _, d := range docs {
				checkObject(t, d)
				key := str(d, "kind")
				if get(d, "metadata", "labels", "app.kubernetes.io/component") == "fgac" {
					key += "/fgac"
				}
				if kinds[key] != nil {
					t.Errorf("two objects %s", key)
				}
				kinds[key] = d
			}
			if c.fgac {
				checkFGAC(t, kinds["ConfigMap/fgac"], kinds["DaemonSet/fgac"], c)
			} else if kinds["ConfigMap/fgac"] != nil || kinds["DaemonSet/fgac"] != nil || kinds["ConfigMap"] != nil {
				t.Error("FGAC objects rendered though fgac.enabled is off")
			}
			for _, k := range []string{"RuntimeClass", "DaemonSet", "Job", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"} {
				if kinds[k] == nil {
					t.Fatalf("no %s rendered", k)
				}
			}
			checkRuntimeClass(t, kinds["RuntimeClass"], c)
			checkPodSpec(t, "DaemonSet", kinds["DaemonSet"], c, "install")
			checkPodSpec(t, "Job", kinds["Job"], c, "uninstall")
			job := kinds["Job"]
			if get(job, "metadata", "annotations", "helm.sh/hook") != "pre-delete" {
				t.Error("Job is not a pre-delete hook")
			}
			if get(job, "spec", "completions") != 1 || get(job, "spec", "parallelism") != 1 {
				t.Errorf("Job completions/parallelism %v/%v, want uninstall.nodes (1) offline",
					get(job, "spec", "completions"), get(job, "spec", "parallelism"))
			}
		})
	}
}

// TestTemplateRefuses: bad values fail rendering with a message.
func TestTemplateRefuses(t *testing.T) {
	bin, chart := helm(t)
	for set, want := range map[string]string{
		"k8sDistribution=docker":      `k8sDistribution "docker": want k3s or containerd`,
		"installer.restart=systemd":   `installer.restart "systemd": want none`,
		"installer.nodeLabel=missing": `installer.nodeLabel "missing": want key=value`,
		"fgac.enabled=true":           `fgac.enabled needs fgac.policy with at least one profile`,
	} {
		_, err := runHelm(bin, "template", "edge", chart, "--kube-version", kubeVersion, "--set", set)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--set %s: %v, want an error saying %q", set, err, want)
		}
	}
}

func decodeAll(t *testing.T, out string) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(out))
	var docs []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, out)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
	return docs
}

// apiVersions of the kinds the chart may render (the versions served by
// every Kubernetes the chart's kubeVersion allows).
var apiVersions = map[string]string{
	"RuntimeClass":       "node.k8s.io/v1",
	"DaemonSet":          "apps/v1",
	"Job":                "batch/v1",
	"ServiceAccount":     "v1",
	"ConfigMap":          "v1",
	"ClusterRole":        "rbac.authorization.k8s.io/v1",
	"ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
}

var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func checkObject(t *testing.T, d map[string]any) {
	t.Helper()
	kind := str(d, "kind")
	want, ok := apiVersions[kind]
	if !ok {
		t.Errorf("unexpected kind %q", kind)
		return
	}
	if got := str(d, "apiVersion"); got != want {
		t.Errorf("%s apiVersion %q, want %q", kind, got, want)
	}
	name, _ := get(d, "metadata", "name").(string)
	if len(name) > 63 || !dns1123.MatchString(name) {
		t.Errorf("%s name %q is not a valid object name", kind, name)
	}
	namespaced := kind != "RuntimeClass" && kind != "ClusterRole" && kind != "ClusterRoleBinding"
	if ns, _ := get(d, "metadata", "namespace").(string); namespaced != (ns != "") {
		t.Errorf("%s %s: namespace %q (namespaced: %v)", kind, name, ns, namespaced)
	}
}

func checkRuntimeClass(t *testing.T, rc map[string]any, c valuesCase) {
	t.Helper()
	if str(rc, "handler") != "sl" || get(rc, "metadata", "name") != "sl" {
		t.Errorf("RuntimeClass %v handler %v, want sl/sl", get(rc, "metadata", "name"), rc["handler"])
	}
	if pf := get(rc, "overhead", "podFixed"); (pf != nil) != c.overhead {
		t.Errorf("overhead.podFixed %v, want present: %v", pf, c.overhead)
	}
	ns, _ := get(rc, "scheduling", "nodeSelector").(map[string]any)
	got := map[string]string{}
	for k, v := range ns {
		got[k], _ = v.(string)
	}
	if fmt.Sprint(got) != fmt.Sprint(c.rcLabels) {
		t.Errorf("scheduling.nodeSelector %v, want %v", got, c.rcLabels)
	}
}

func checkPodSpec(t *testing.T, kind string, obj map[string]any, c valuesCase, verb string) {
	t.Helper()
	tmpl, _ := get(obj, "spec", "template").(map[string]any)
	spec, _ := tmpl["spec"].(map[string]any)
	if kind == "DaemonSet" {
		sel, _ := get(obj, "spec", "selector", "matchLabels").(map[string]any)
		labels, _ := get(tmpl, "metadata", "labels").(map[string]any)
		if len(sel) == 0 {
			t.Error("DaemonSet has no selector")
		}
		for k, v := range sel {
			if labels[k] != v {
				t.Errorf("DaemonSet selector %s=%v does not match its pod labels", k, v)
			}
		}
	}
	if hp, _ := spec["hostPID"].(bool); hp != c.hostPID {
		t.Errorf("%s hostPID %v, want %v", kind, hp, c.hostPID)
	}
	if spec["serviceAccountName"] == nil {
		t.Errorf("%s has no service account (the node label needs one)", kind)
	}
	volumes := map[string]string{}
	var hostDirs []string
	for _, v := range list(spec["volumes"]) {
		name, _ := get(v, "name").(string)
		p, _ := get(v, "hostPath", "path").(string)
		if p == "" {
			t.Errorf("%s volume %s is not a hostPath", kind, name)
		}
		volumes[name] = p
		hostDirs = append(hostDirs, p)
	}
	slices.Sort(hostDirs)
	want := slices.Clone(c.hostDirs)
	slices.Sort(want)
	if !slices.Equal(hostDirs, want) {
		t.Errorf("%s mounts host paths %q, want exactly %q", kind, hostDirs, want)
	}
	containers := list(spec["containers"])
	if len(containers) != 1 {
		t.Fatalf("%s has %d containers, want 1", kind, len(containers))
	}
	ctr := containers[0]
	// The installer is a binary of its own (cmd/slrt-installer), the
	// image's entrypoint; /slrt beside it is what gets copied to the node.
	if cmd := fmt.Sprint(ctr["command"]); cmd != "[/slrt-installer]" {
		t.Errorf("%s command %s, want [/slrt-installer]", kind, cmd)
	}
	if img, _ := ctr["image"].(string); !strings.Contains(img, ":") {
		t.Errorf("%s image %q has no tag", kind, img)
	}
	if get(ctr, "securityContext", "privileged") != true {
		t.Errorf("%s container is not privileged", kind)
	}
	for _, m := range list(ctr["volumeMounts"]) {
		name, _ := m["name"].(string)
		host, ok := volumes[name]
		if !ok {
			t.Errorf("%s mount %s has no volume", kind, name)
		}
		if m["mountPath"] != "/host"+host {
			t.Errorf("%s mounts %s at %v, want /host%s", kind, host, m["mountPath"], host)
		}
	}
	var args []string
	for _, a := range ctr["args"].([]any) {
		args = append(args, a.(string))
	}
	for _, w := range []string{verb, "--host-root=/host", "--config=" + c.config, "--restart=" + c.restart, "--label-node=$(NODE_NAME)"} {
		if !slices.Contains(args, w) {
			t.Errorf("%s args %q lack %q", kind, args, w)
		}
	}
	if (verb == "install") != slices.Contains(args, "--wait") {
		t.Errorf("%s args %q: --wait only for the DaemonSet", kind, args)
	}
}

// checkFGAC: the ConfigMap holds a policy the agent accepts (fgac/policy
// parses it); the agent's DaemonSet runs `slrt fgac serve` with it on the
// nodes the installer labelled, privileged, in the host's pid namespace
// (notifications name host pids), with the host directories of its socket
// and of the published policy mounted at the same paths, nothing else of
// the host; its pods roll when the policy changes.
func checkFGAC(t *testing.T, cm, ds map[string]any, c valuesCase) {
	t.Helper()
	if cm == nil || ds == nil {
		t.Fatalf("FGAC ConfigMap %v, DaemonSet %v: want both", cm != nil, ds != nil)
	}
	data, _ := get(cm, "data", "fgac.json").(string)
	p, err := policy.Parse("fgac.json", []byte(data))
	if err != nil || len(p.Profiles) != 1 || p.Profiles[0].Name != "scratch" {
		t.Errorf("ConfigMap's fgac.json: %v %v\n%s", p, err, data)
	}
	tmpl, _ := get(ds, "spec", "template").(map[string]any)
	spec, _ := tmpl["spec"].(map[string]any)
	sel, _ := get(ds, "spec", "selector", "matchLabels").(map[string]any)
	labels, _ := get(tmpl, "metadata", "labels").(map[string]any)
	for k, v := range sel {
		if labels[k] != v {
			t.Errorf("agent selector %s=%v does not match its pod labels", k, v)
		}
	}
	sum := sha256.Sum256([]byte(strings.TrimSuffix(data, "\n")))
	if got := get(tmpl, "metadata", "annotations", "checksum/policy"); got != hex.EncodeToString(sum[:]) {
		t.Errorf("agent pod checksum/policy %v, want the policy's sha256 %x", got, sum)
	}
	if spec["hostPID"] != true {
		t.Error("the agent is not in the host's pid namespace")
	}
	key, value, _ := strings.Cut("slrt.io/installed=true", "=")
	if get(spec, "nodeSelector", key) != value {
		t.Errorf("agent nodeSelector %v, want the installer's label", spec["nodeSelector"])
	}
	containers := list(spec["containers"])
	if len(containers) != 1 {
		t.Fatalf("agent has %d containers, want 1", len(containers))
	}
	ctr := containers[0]
	if get(ctr, "securityContext", "privileged") != true {
		t.Error("agent container is not privileged")
	}
	if cmd := fmt.Sprint(ctr["command"]); cmd != "[/slrt]" {
		t.Errorf("agent command %s, want [/slrt] (the node's CLI serves FGAC)", cmd)
	}
	var args []string
	for _, a := range ctr["args"].([]any) {
		args = append(args, a.(string))
	}
	want := []string{"fgac", "serve", "--policy=/etc/slrt-policy/fgac.json", "--socket=" + fgacspec.DefaultSocket, "--publish-policy=" + fgacspec.DefaultPolicy}
	if !slices.Equal(args, want) {
		t.Errorf("agent args %q, want %q", args, want)
	}
	volumes := map[string]map[string]any{}
	var hostDirs []string
	for _, v := range list(spec["volumes"]) {
		name, _ := v["name"].(string)
		volumes[name] = v
		if p, _ := get(v, "hostPath", "path").(string); p != "" {
			hostDirs = append(hostDirs, p)
		} else if get(v, "configMap", "name") != get(cm, "metadata", "name") {
			t.Errorf("agent volume %s is neither a hostPath nor the policy ConfigMap", name)
		}
	}
	slices.Sort(hostDirs)
	if w := []string{filepath.Dir(fgacspec.DefaultPolicy), filepath.Dir(fgacspec.DefaultSocket)}; !slices.Equal(hostDirs, w) {
		t.Errorf("agent mounts host paths %q, want exactly %q", hostDirs, w)
	}
	for _, m := range list(ctr["volumeMounts"]) {
		name, _ := m["name"].(string)
		v, ok := volumes[name]
		switch {
		case !ok:
			t.Errorf("agent mount %s has no volume", name)
		case v["configMap"] != nil:
			if m["mountPath"] != "/etc/slrt-policy" || m["readOnly"] != true {
				t.Errorf("policy mounted at %v (read-only %v), want /etc/slrt-policy read-only", m["mountPath"], m["readOnly"])
			}
		case m["mountPath"] != get(v, "hostPath", "path"):
			t.Errorf("agent mounts host %v at %v: want the same path", get(v, "hostPath", "path"), m["mountPath"])
		}
	}
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func get(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func list(v any) []map[string]any {
	var out []map[string]any
	l, _ := v.([]any)
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

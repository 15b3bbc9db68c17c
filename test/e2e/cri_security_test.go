package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// capBit numbers the capabilities the tests name (linux/capability.h).
var capBit = map[string]uint{
	"CHOWN": 0, "DAC_OVERRIDE": 1, "FOWNER": 3, "FSETID": 4, "KILL": 5, "SETGID": 6, "SETUID": 7,
	"SETPCAP": 8, "NET_BIND_SERVICE": 10, "NET_ADMIN": 12, "NET_RAW": 13, "SYS_CHROOT": 18,
	"SYS_ADMIN": 21, "MKNOD": 27, "AUDIT_WRITE": 29, "SETFCAP": 31,
}

// defaultCaps is containerd's default capability set for CRI containers.
var defaultCaps = capMask("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID",
	"SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE")

func capMask(names ...string) uint64 {
	var m uint64
	for _, n := range names {
		b, ok := capBit[n]
		if !ok {
			panic("capMask: unknown capability " + n)
		}
		m |= 1 << b
	}
	return m
}

// allCaps is what a privileged container gets: every capability in the
// bounding set the daemon and the shim run with (here, root's own: this
// host's root lacks CAP_SYS_RESOURCE).
func allCaps(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("CapBnd %q: %v", v, err)
			}
			return m
		}
	}
	t.Fatal("no CapBnd in /proc/self/status")
	return 0
}

// procStatus is /proc/1/status of the container (its init) as a map.
func (c *criConn) procStatus(t *testing.T, id string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, l := range strings.Split(c.sh(t, id, "cat /proc/1/status"), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return m
}

func capEff(t *testing.T, st map[string]string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(st["CapEff"], 16, 64)
	if err != nil {
		t.Fatalf("CapEff %q: %v", st["CapEff"], err)
	}
	return v
}

// TestCRISecurityContext: each field of the container security context
// as the container's init ends up with it (/proc/1/status read by an exec)
// and as its effect shows.
func TestCRISecurityContext(t *testing.T) {
	c := criSetup(t)
	profile := filepath.Join(t.TempDir(), "deny-mkdir.json")
	// mkdir fails with EXDEV, an errno nothing else would give it here
	if err := os.WriteFile(profile, []byte(`{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}]}`), 0o644); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		pod   func(*runtimeapi.LinuxSandboxSecurityContext)
		sc    func(*runtimeapi.LinuxContainerSecurityContext)
		check func(t *testing.T, p *pod, id string, st map[string]string)
	}{
		{"default", nil, nil, func(t *testing.T, p *pod, id string, st map[string]string) {
			if st["Uid"] != "0 0 0 0" || st["NoNewPrivs"] != "0" || st["Seccomp"] != "0" {
				t.Errorf("Uid %q NoNewPrivs %q Seccomp %q", st["Uid"], st["NoNewPrivs"], st["Seccomp"])
			}
			if got := capEff(t, st); got != defaultCaps {
				t.Errorf("CapEff %#x, want containerd's default %#x", got, defaultCaps)
			}
			c.sh(t, id, "touch /rootfs-is-writable")
			// containerd's masked and read-only paths
			sp := criSpec(t, id)
			if !slices.Contains(sp.Linux.MaskedPaths, "/proc/keys") || !slices.Contains(sp.Linux.ReadonlyPaths, "/proc/sys") {
				t.Fatalf("spec: masked %q read-only %q", sp.Linux.MaskedPaths, sp.Linux.ReadonlyPaths)
			}
			// a masked file has /dev/null bound over it
			if out := c.sh(t, id, "stat -c '%F %t:%T' /proc/keys"); out != "character special file 1:3\n" {
				t.Errorf("masked /proc/keys: %q, want /dev/null (1:3)", out)
			}
			_, errOut, code := c.execSync(t, id, "sh", "-c", "echo 1 > /proc/sys/vm/overcommit_memory")
			if code == 0 || !strings.Contains(errOut, "Read-only file system") {
				t.Errorf("write to /proc/sys: exit %d %q, want a read-only file system", code, errOut)
			}
		}},
		{"runAsUser/Group", nil, func(sc *runtimeapi.LinuxContainerSecurityContext) {
			sc.RunAsUser = &runtimeapi.Int64Value{Value: 1000}
			sc.RunAsGroup = &runtimeapi.Int64Value{Value: 2000}
			sc.SupplementalGroups = []int64{3000}
		}, func(t *testing.T, p *pod, id string, st map[string]string) {
			if st["Uid"] != "1000 1000 1000 1000" || st["Gid"] != "2000 2000 2000 2000" || !strings.Contains(" "+st["Groups"]+" ", " 3000 ") {
				t.Errorf("Uid %q Gid %q Groups %q", st["Uid"], st["Gid"], st["Groups"])
			}
			if got := capEff(t, st); got != 0 {
				t.Errorf("CapEff %#x for a non-root user, want 0", got)
			}
			if out := c.sh(t, id, "id -u; id -g"); out != "1000\n2000\n" {
				t.Errorf("exec's id: %q", out)
			}
		}},
		{"readOnlyRootFilesystem", nil, func(sc *runtimeapi.LinuxContainerSecurityContext) { sc.ReadonlyRootfs = true },
			func(t *testing.T, p *pod, id string, st map[string]string) {
				_, errOut, code := c.execSync(t, id, "touch", "/x")
				if code == 0 || !strings.Contains(errOut, "Read-only file system") {
					t.Errorf("touch /x on a read-only root: exit %d %q", code, errOut)
				}
			}},
		{"capabilities add/drop", nil, func(sc *runtimeapi.LinuxContainerSecurityContext) {
			sc.Capabilities = &runtimeapi.Capability{AddCapabilities: []string{"NET_ADMIN"}, DropCapabilities: []string{"NET_RAW", "CHOWN"}}
		}, func(t *testing.T, p *pod, id string, st map[string]string) {
			want := (defaultCaps | capMask("NET_ADMIN")) &^ capMask("NET_RAW", "CHOWN")
			if got := capEff(t, st); got != want {
				t.Errorf("CapEff %#x, want %#x", got, want)
			}
			_, errOut, code := c.execSync(t, id, "chown", "1:1", "/tmp")
			if code == 0 {
				t.Errorf("chown without CAP_CHOWN worked: %q", errOut)
			}
		}},
		{"drop ALL", nil, func(sc *runtimeapi.LinuxContainerSecurityContext) {
			sc.Capabilities = &runtimeapi.Capability{DropCapabilities: []string{"ALL"}, AddCapabilities: []string{"KILL"}}
		}, func(t *testing.T, p *pod, id string, st map[string]string) {
			if got := capEff(t, st); got != capMask("KILL") {
				t.Errorf("CapEff %#x, want KILL only", got)
			}
		}},
		{"privileged", func(sc *runtimeapi.LinuxSandboxSecurityContext) { sc.Privileged = true },
			func(sc *runtimeapi.LinuxContainerSecurityContext) { sc.Privileged = true },
			func(t *testing.T, p *pod, id string, st map[string]string) {
				if got := capEff(t, st); got != allCaps(t) {
					t.Errorf("CapEff %#x, want all %#x", got, allCaps(t))
				}
				if st["Seccomp"] != "0" {
					t.Errorf("Seccomp %q, want 0", st["Seccomp"])
				}
				// The host's devices, and /sys writable when the specs say
				// so. A network namespace has one sysfs superblock: the
				// sandbox's mount comes first and a read-only one makes
				// every later one read-only (containerd 1.7 gives the pause
				// container sysfs ro, also in a privileged pod; runc shows
				// the same), so rw is due only if both specs ask for it.
				rw := func(id string) bool {
					for _, m := range criSpec(t, id).Mounts {
						if m.Destination == "/sys" {
							return !slices.Contains(m.Options, "ro")
						}
					}
					return false
				}
				out := c.sh(t, id, "test -c /dev/kmsg && echo kmsg; grep ' /sys ' /proc/mounts")
				if !strings.HasPrefix(out, "kmsg\nsysfs /sys sysfs ") {
					t.Errorf("privileged: /dev/kmsg and /sys: %q", out)
				}
				if rw(id) && rw(p.id) && !strings.HasPrefix(out, "kmsg\nsysfs /sys sysfs rw,") {
					t.Errorf("privileged: /sys %q, the container's and the sandbox's specs mount it rw", out)
				}
			}},
		{"seccomp RuntimeDefault", nil, func(sc *runtimeapi.LinuxContainerSecurityContext) {
			sc.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
		}, func(t *testing.T, p *pod, id string, st map[string]string) {
			if st["Seccomp"] != "2" || st["Seccomp_filters"] == "0" {
				t.Errorf("Seccomp %q filters %q, want 2 and a filter", st["Seccomp"], st["Seccomp_filters"])
			}
			c.sh(t, id, "mkdir /tmp/allowed")
		}},
		{"seccomp Localhost", nil, func(sc *runtimeapi.LinuxContainerSecurityContext) {
			sc.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: profile}
		}, func(t *testing.T, p *pod, id string, st map[string]string) {
			if st["Seccomp"] != "2" {
				t.Errorf("Seccomp %q, want 2", st["Seccomp"])
			}
			_, errOut, code := c.execSync(t, id, "mkdir", "/tmp/denied")
			if code == 0 || !strings.Contains(strings.ToLower(errOut), "cross-device") {
				t.Errorf("mkdir under the profile: exit %d %q, want EXDEV", code, errOut)
			}
			c.sh(t, id, "touch /tmp/file-allowed")
		}},
		{"no_new_privs", nil, func(sc *runtimeapi.LinuxContainerSecurityContext) { sc.NoNewPrivs = true },
			func(t *testing.T, p *pod, id string, st map[string]string) {
				if st["NoNewPrivs"] != "1" {
					t.Errorf("NoNewPrivs %q", st["NoNewPrivs"])
				}
			}},
	}
	for _, tc := range cases {
		t.Run(strings.NewReplacer(" ", "_", "/", "_").Replace(tc.name), func(t *testing.T) {
			cfg := criPodConfig(t, "sec")
			if tc.pod != nil {
				tc.pod(cfg.Linux.SecurityContext)
			}
			p := c.runPod(t, cfg)
			ccfg := c.containerConfig(p, "main", "sleep", "1000")
			if tc.sc != nil {
				tc.sc(ccfg.Linux.SecurityContext)
			}
			id := c.run(t, p, ccfg)
			tc.check(t, p, id, c.procStatus(t, id))
		})
	}

	// A Localhost profile that does not exist fails the create naming it.
	t.Run("seccomp_Localhost_missing", func(t *testing.T) {
		p := c.runPod(t, criPodConfig(t, "sec-missing"))
		ccfg := c.containerConfig(p, "main", "true")
		missing := filepath.Join(t.TempDir(), "no-such-profile.json")
		ccfg.Linux.SecurityContext.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: missing}
		if _, err := c.tryCreate(t, p, ccfg); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("create with a missing profile: %v", err)
		}
	})
}

// TestCRISysctls: the pod's namespaced sysctls are set in its namespaces,
// not on the host.
func TestCRISysctls(t *testing.T) {
	c := criSetup(t)
	want := map[string]string{"kernel.shm_rmid_forced": "1", "net.ipv4.ip_local_port_range": "40000 50000"}
	host := map[string]string{}
	for k := range want {
		b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(k, ".", "/"))
		if err != nil {
			t.Fatal(err)
		}
		host[k] = strings.Join(strings.Fields(string(b)), " ")
		if host[k] == want[k] {
			t.Fatalf("the host has %s = %q already: the test would prove nothing", k, want[k])
		}
	}
	cfg := criPodConfig(t, "sysctls")
	cfg.Linux.Sysctls = want
	p := c.runPod(t, cfg)
	id := c.run(t, p, c.containerConfig(p, "main", "sleep", "1000"))
	for k, v := range want {
		path := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
		if got := strings.Join(strings.Fields(c.sh(t, id, "cat "+path)), " "); got != v {
			t.Errorf("%s in the container: %q, want %q", k, got, v)
		}
		b, _ := os.ReadFile(path)
		if got := strings.Join(strings.Fields(string(b)), " "); got != host[k] {
			t.Errorf("%s on the host changed: %q, was %q", k, got, host[k])
		}
	}
}

// TestCRIHostNamespaces: hostNetwork, hostPID and hostIPC put the
// container in the host's namespace of that kind and only that one.
func TestCRIHostNamespaces(t *testing.T) {
	c := criSetup(t)
	host := map[string]string{}
	for _, ns := range []string{"net", "pid", "ipc"} {
		l, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			t.Fatal(err)
		}
		host[ns] = l
	}
	for _, tc := range []struct {
		ns  string
		set func(*runtimeapi.NamespaceOption)
	}{
		{"net", func(o *runtimeapi.NamespaceOption) { o.Network = runtimeapi.NamespaceMode_NODE }},
		{"pid", func(o *runtimeapi.NamespaceOption) { o.Pid = runtimeapi.NamespaceMode_NODE }},
		{"ipc", func(o *runtimeapi.NamespaceOption) { o.Ipc = runtimeapi.NamespaceMode_NODE }},
	} {
		t.Run("host"+tc.ns, func(t *testing.T) {
			cfg := criPodConfig(t, "host"+tc.ns)
			tc.set(cfg.Linux.SecurityContext.NamespaceOptions)
			if tc.ns == "net" {
				cfg.Hostname = "" // kubelet sends none for a host-network pod: the UTS namespace is the host's
			}
			p := c.runPod(t, cfg)
			id := c.run(t, p, c.containerConfig(p, "main", "sleep", "1000"))
			got := strings.Fields(c.sh(t, id, "for n in net pid ipc; do readlink /proc/self/ns/$n; done"))
			if len(got) != 3 {
				t.Fatalf("readlink: %q", got)
			}
			for i, ns := range []string{"net", "pid", "ipc"} {
				if same := got[i] == host[ns]; same != (ns == tc.ns) {
					t.Errorf("%s namespace %s, host's %s: shared=%v", ns, got[i], host[ns], same)
				}
			}
			switch tc.ns {
			case "pid":
				// pid 1 is the host's init, and the host sees the same pids
				if out := c.sh(t, id, "cat /proc/1/cmdline | tr '\\0' ' '"); strings.HasPrefix(out, "sleep") {
					t.Errorf("pid 1 in a host-pid container is %q", out)
				}
			case "net":
				ps, err := c.rt.PodSandboxStatus(criCtx(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: p.id})
				if err != nil {
					t.Fatal(err)
				}
				if ps.Status.Linux.Namespaces.Options.Network != runtimeapi.NamespaceMode_NODE {
					t.Errorf("pod status network mode %v", ps.Status.Linux.Namespaces.Options.Network)
				}
			}
		})
	}
}

// TestCRIUserNamespace: a pod with hostUsers: false (kubelet sends a
// user namespace mapping for the pod): the container's uid_map is that
// mapping, root inside is the mapped uid outside, and the image's files
// belong to root inside (idmapped or chowned rootfs).
func TestCRIUserNamespace(t *testing.T) {
	c := criSetup(t)
	st, err := c.rt.Status(criCtx(t), &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	for _, h := range st.RuntimeHandlers {
		if h.Name == criHandler && (h.Features == nil || !h.Features.UserNamespaces) {
			t.Errorf("handler %s does not report user namespace support (kubelet would refuse hostUsers: false pods): %v", criHandler, h.Features)
		}
	}
	const hostID = 65536 * 31 // kubelet hands out multiples of 65536
	userns := &runtimeapi.UserNamespace{
		Mode: runtimeapi.NamespaceMode_POD,
		Uids: []*runtimeapi.IDMapping{{HostId: hostID, ContainerId: 0, Length: 65536}},
		Gids: []*runtimeapi.IDMapping{{HostId: hostID, ContainerId: 0, Length: 65536}},
	}
	cfg := criPodConfig(t, "userns")
	cfg.Linux.SecurityContext.NamespaceOptions.UsernsOptions = userns
	// containerd 2.x makes the pod's user namespace itself (it owns the
	// pod's network namespace, pinned under its state dir) and gives the
	// sandbox its path to join; 1.7 lets the sandbox make it and gives the
	// containers the sandbox's. Both are joins of an existing user
	// namespace by the engine.
	p, err := c.tryRunPod(t, cfg)
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	if !slices.ContainsFunc(criSpec(t, p.id).Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.UserNamespace }) {
		t.Skipf("containerd %s ignores the pod's user namespace options (the sandbox spec has no user namespace)", c.version)
	}
	id, err := c.tryCreate(t, p, c.containerConfig(p, "main", "sleep", "1000"))
	if err == nil {
		_, err = c.rt.StartContainer(criCtx(t), &runtimeapi.StartContainerRequest{ContainerId: id})
	}
	if err != nil {
		t.Fatalf("container: %v", err)
	}

	want := fmt.Sprintf("0 %d 65536", hostID)
	for _, f := range []string{"uid_map", "gid_map"} {
		if got := strings.Join(strings.Fields(c.sh(t, id, "cat /proc/self/"+f)), " "); got != want {
			t.Errorf("%s inside: %q, want %q", f, got, want)
		}
	}
	if out := c.sh(t, id, "id -u; stat -c %u:%g /bin/busybox /etc/passwd; touch /etc/written && stat -c %u /etc/written"); out != "0\n0:0\n0:0\n0\n" {
		t.Errorf("inside: id, owners of the image's files, a new file's owner: %q", out)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.hostPid(t, id)))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Uid:") {
			if f := strings.Fields(l); len(f) < 2 || f[1] != strconv.Itoa(hostID) {
				t.Errorf("init on the host: %q, want uid %d", l, hostID)
			}
		}
	}
	// The pod's sandbox (pause) is in the same user namespace.
	ctrNS, err1 := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", c.hostPid(t, id)))
	podNS, err2 := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", c.sandboxPid(t, p.id)))
	self, _ := os.Readlink("/proc/self/ns/user")
	if err1 != nil || err2 != nil || ctrNS != podNS || ctrNS == self {
		t.Errorf("user namespaces: container %q (%v), sandbox %q (%v), host %q", ctrNS, err1, podNS, err2, self)
	}
}

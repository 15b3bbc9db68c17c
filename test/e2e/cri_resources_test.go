package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// cgroupFile reads one v1 cgroup file of the container on the host.
func cgroupFile(t *testing.T, p *pod, id, controller, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(criCgroupDir(p, controller, id), file))
	if err != nil {
		t.Fatalf("container cgroup: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// TestCRIResources: the limits of a container's config land in its
// cgroups (seen from the host and from inside), UpdateContainerResources
// changes them in place under the running process, and a bad update
// fails naming the problem without changing anything.
func TestCRIResources(t *testing.T) {
	c := criSetup(t)
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err != nil {
		t.Skip("the checks read cgroup v1 files; this host has no v1 memory controller")
	}
	p := c.runPod(t, criPodConfig(t, "resources"))
	cfg := c.containerConfig(p, "limited", "sleep", "1000")
	cfg.Linux.Resources = &runtimeapi.LinuxContainerResources{
		CpuPeriod:          100000,
		CpuQuota:           50000,
		CpuShares:          512,
		MemoryLimitInBytes: 64 << 20,
		CpusetCpus:         "0",
	}
	id := c.run(t, p, cfg)
	pid := c.hostPid(t, id)

	type file struct{ controller, name string }
	check := func(when string, want map[file]string) {
		t.Helper()
		for f, v := range want {
			if got := cgroupFile(t, p, id, f.controller, f.name); got != v {
				t.Errorf("%s: host %s/%s = %q, want %q", when, f.controller, f.name, got, v)
			}
			// containerd mounts the container's own cgroup directories on
			// /sys/fs/cgroup/<controller> inside
			if got := strings.TrimSpace(c.sh(t, id, "cat /sys/fs/cgroup/"+f.controller+"/"+f.name)); got != v {
				t.Errorf("%s: inside, %s/%s = %q, want %q", when, f.controller, f.name, got, v)
			}
		}
	}
	check("created", map[file]string{
		{"memory", "memory.limit_in_bytes"}: "67108864",
		{"cpu", "cpu.cfs_quota_us"}:         "50000",
		{"cpu", "cpu.cfs_period_us"}:        "100000",
		{"cpu", "cpu.shares"}:               "512",
		{"cpuset", "cpuset.cpus"}:           "0",
	})
	// The container's process is in that cgroup.
	procs := cgroupFile(t, p, id, "memory", "cgroup.procs")
	if !strings.Contains("\n"+procs+"\n", "\n"+strconv.Itoa(pid)+"\n") {
		t.Errorf("init %d not in its memory cgroup: %q", pid, procs)
	}

	upd := &runtimeapi.LinuxContainerResources{
		CpuPeriod:          100000,
		CpuQuota:           20000,
		CpuShares:          256,
		MemoryLimitInBytes: 128 << 20,
		CpusetCpus:         "0",
	}
	if _, err := c.rt.UpdateContainerResources(criCtx(t), &runtimeapi.UpdateContainerResourcesRequest{ContainerId: id, Linux: upd}); err != nil {
		t.Fatalf("UpdateContainerResources: %v", err)
	}
	updated := map[file]string{
		{"memory", "memory.limit_in_bytes"}: "134217728",
		{"cpu", "cpu.cfs_quota_us"}:         "20000",
		{"cpu", "cpu.shares"}:               "256",
	}
	check("updated", updated)
	if got := c.hostPid(t, id); got != pid {
		t.Errorf("update replaced the process: pid %d, was %d", got, pid)
	}
	if st := c.status(t, id); st.Resources == nil || st.Resources.Linux == nil || st.Resources.Linux.MemoryLimitInBytes != 128<<20 {
		t.Errorf("ContainerStatus resources after the update: %v", st.Resources)
	}

	// A CPU that does not exist: the update fails naming the cpuset and
	// the limits stay as they were.
	bad := &runtimeapi.LinuxContainerResources{CpuPeriod: 100000, CpuQuota: 30000, CpusetCpus: "4095", MemoryLimitInBytes: 128 << 20}
	_, err := c.rt.UpdateContainerResources(criCtx(t), &runtimeapi.UpdateContainerResourcesRequest{ContainerId: id, Linux: bad})
	if err == nil {
		t.Errorf("update to cpuset 4095: no error")
	} else {
		t.Logf("bad update: %v", err)
		if !strings.Contains(err.Error(), "cpuset") {
			t.Errorf("bad update: error %q does not name cpuset", err)
		}
	}
	if got := cgroupFile(t, p, id, "cpuset", "cpuset.cpus"); got != "0" {
		t.Errorf("after the failed update: cpuset.cpus %q", got)
	}
	if out := c.sh(t, id, "echo alive"); out != "alive\n" {
		t.Errorf("after the failed update: %q", out)
	}
}

// TestCRIOOMKilled: a container that outgrows its memory limit is killed
// by the kernel and its status says OOMKilled.
func TestCRIOOMKilled(t *testing.T) {
	c := criSetup(t)
	p := c.runPod(t, criPodConfig(t, "oom"))
	cfg := c.containerConfig(p, "hog", "sh", "-c", "echo start; tail /dev/zero")
	cfg.Linux.Resources = &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 32 << 20, MemorySwapLimitInBytes: 32 << 20}
	id := c.run(t, p, cfg)
	st := c.waitExited(t, id)
	if st.Reason != "OOMKilled" || st.ExitCode != 137 {
		t.Errorf("hog: exit %d reason %q message %q, want 137 OOMKilled", st.ExitCode, st.Reason, st.Message)
	}
	// The pod is unharmed.
	id2 := c.run(t, p, c.containerConfig(p, "after", "sleep", "1000"))
	if out := c.sh(t, id2, "echo ok"); out != "ok\n" {
		t.Errorf("after the OOM kill: %q", out)
	}
}

// TestCRIStats: ContainerStats (what kubelet's summary API, kubectl top
// and eviction read) comes from the shim's Stats: CPU time, memory usage
// and working set of a container that did some work, bounded by its
// limit; ListContainerStats lists the pod's container.
func TestCRIStats(t *testing.T) {
	c := criSetup(t)
	p := c.runPod(t, criPodConfig(t, "stats"))
	cfg := c.containerConfig(p, "worker", "sh", "-c",
		"dd if=/dev/zero of=/dev/null bs=1M count=300 2>/dev/null; x=$(head -c 4000000 /dev/zero | tr '\\0' a); echo ready; sleep 1000")
	const limit = 64 << 20
	cfg.Linux.Resources = &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: limit}
	id := c.run(t, p, cfg)
	readCRILog(t, p, cfg.LogPath, func(l []criLogLine) bool { return len(l) >= 1 })

	resp, err := c.rt.ContainerStats(criCtx(t), &runtimeapi.ContainerStatsRequest{ContainerId: id})
	if err != nil {
		t.Fatalf("ContainerStats: %v", err)
	}
	st := resp.Stats
	if st == nil || st.Attributes == nil || st.Attributes.Id != id || st.Cpu == nil || st.Memory == nil {
		t.Fatalf("ContainerStats: %v", resp)
	}
	if v := st.Cpu.UsageCoreNanoSeconds.GetValue(); v == 0 {
		t.Errorf("CPU usage 0 after dd of 300 MiB: %v", st.Cpu)
	}
	for name, v := range map[string]uint64{"usage": st.Memory.UsageBytes.GetValue(), "working set": st.Memory.WorkingSetBytes.GetValue()} {
		if v == 0 || v > limit {
			t.Errorf("memory %s %d, want in (0, %d]: %v", name, v, limit, st.Memory)
		}
	}
	t.Logf("cpu %dns, memory usage %d, working set %d", st.Cpu.UsageCoreNanoSeconds.GetValue(),
		st.Memory.UsageBytes.GetValue(), st.Memory.WorkingSetBytes.GetValue())

	list, err := c.rt.ListContainerStats(criCtx(t), &runtimeapi.ListContainerStatsRequest{Filter: &runtimeapi.ContainerStatsFilter{PodSandboxId: p.id}})
	if err != nil {
		t.Fatalf("ListContainerStats: %v", err)
	}
	if len(list.Stats) != 1 || list.Stats[0].Attributes.GetId() != id {
		t.Errorf("ListContainerStats of the pod: %v", list.Stats)
	}
}

package cgroups

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// applyV1 writes res to the container's v1 controller directories.
func (m *Manager) applyV1(res *specs.LinuxResources, update bool) error {
	settings, err := v1Settings(res)
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", m.loc, err)
	}
	for _, s := range settings {
		dir, err := m.v1Dir(s.ctrl, s.resource)
		if err != nil {
			return err
		}
		if err := writeSetting(dir, s); err != nil {
			return err
		}
	}
	if res.Memory != nil {
		if err := m.applyMemoryV1(res.Memory, update); err != nil {
			return err
		}
	}
	return nil
}

// v1Settings lists the writes for everything but memory, whose order
// depends on the current values.
func v1Settings(res *specs.LinuxResources) ([]setting, error) {
	var out []setting
	add := func(resource, ctrl, file, value string) {
		out = append(out, setting{resource: resource, ctrl: ctrl, file: file, value: value})
	}
	if c := res.CPU; c != nil {
		if c.Shares != nil {
			add("linux.resources.cpu.shares", "cpu", "cpu.shares", u64(*c.Shares))
		}
		if c.Period != nil {
			add("linux.resources.cpu.period", "cpu", "cpu.cfs_period_us", u64(*c.Period))
		}
		if c.Quota != nil {
			add("linux.resources.cpu.quota", "cpu", "cpu.cfs_quota_us", i64(*c.Quota))
		}
		if c.Burst != nil {
			add("linux.resources.cpu.burst", "cpu", "cpu.cfs_burst_us", u64(*c.Burst))
		}
		// The RT period must be set before a runtime that fits in it.
		if c.RealtimePeriod != nil {
			add("linux.resources.cpu.realtimePeriod", "cpu", "cpu.rt_period_us", u64(*c.RealtimePeriod))
		}
		if c.RealtimeRuntime != nil {
			add("linux.resources.cpu.realtimeRuntime", "cpu", "cpu.rt_runtime_us", i64(*c.RealtimeRuntime))
		}
		if c.Idle != nil {
			add("linux.resources.cpu.idle", "cpu", "cpu.idle", i64(*c.Idle))
		}
		if c.Cpus != "" {
			add("linux.resources.cpu.cpus", "cpuset", "cpuset.cpus", c.Cpus)
		}
		if c.Mems != "" {
			add("linux.resources.cpu.mems", "cpuset", "cpuset.mems", c.Mems)
		}
	}
	if p := res.Pids; p != nil && p.Limit != nil {
		add("linux.resources.pids.limit", "pids", "pids.max", maxOr(*p.Limit))
	}
	if b := res.BlockIO; b != nil {
		if b.Weight != nil {
			add("linux.resources.blockIO.weight", "blkio", "blkio.weight", u64(uint64(*b.Weight)))
		}
		if b.LeafWeight != nil {
			add("linux.resources.blockIO.leafWeight", "blkio", "blkio.leaf_weight", u64(uint64(*b.LeafWeight)))
		}
		for _, d := range b.WeightDevice {
			if d.Weight != nil {
				add("linux.resources.blockIO.weightDevice", "blkio", "blkio.weight_device", fmt.Sprintf("%d:%d %d", d.Major, d.Minor, *d.Weight))
			}
			if d.LeafWeight != nil {
				add("linux.resources.blockIO.weightDevice", "blkio", "blkio.leaf_weight_device", fmt.Sprintf("%d:%d %d", d.Major, d.Minor, *d.LeafWeight))
			}
		}
		for _, t := range []struct {
			name, file string
			devs       []specs.LinuxThrottleDevice
		}{
			{"throttleReadBpsDevice", "blkio.throttle.read_bps_device", b.ThrottleReadBpsDevice},
			{"throttleWriteBpsDevice", "blkio.throttle.write_bps_device", b.ThrottleWriteBpsDevice},
			{"throttleReadIOPSDevice", "blkio.throttle.read_iops_device", b.ThrottleReadIOPSDevice},
			{"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", b.ThrottleWriteIOPSDevice},
		} {
			for _, d := range t.devs {
				add("linux.resources.blockIO."+t.name, "blkio", t.file, fmt.Sprintf("%d:%d %d", d.Major, d.Minor, d.Rate))
			}
		}
	}
	for _, h := range res.HugepageLimits {
		add("linux.resources.hugepageLimits["+h.Pagesize+"]", "hugetlb", "hugetlb."+h.Pagesize+".limit_in_bytes", u64(h.Limit))
	}
	for _, d := range res.Devices {
		file := "devices.deny"
		if d.Allow {
			file = "devices.allow"
		}
		add("linux.resources.devices", "devices", file, deviceRule(d))
	}
	for dev, r := range res.Rdma {
		if v := rdmaValue(dev, r); v != "" {
			add("linux.resources.rdma["+dev+"]", "rdma", "rdma.max", v)
		}
	}
	if n := res.Network; n != nil {
		if n.ClassID != nil {
			add("linux.resources.network.classID", "net_cls", "net_cls.classid", u64(uint64(*n.ClassID)))
		}
		for _, p := range n.Priorities {
			add("linux.resources.network.priorities", "net_prio", "net_prio.ifpriomap", fmt.Sprintf("%s %d", p.Name, p.Priority))
		}
	}
	return out, nil
}

// rdmaValue renders one rdma.max line (the same syntax on v1 and v2).
func rdmaValue(dev string, r specs.LinuxRdma) string {
	var parts []string
	if r.HcaHandles != nil {
		parts = append(parts, fmt.Sprintf("hca_handle=%d", *r.HcaHandles))
	}
	if r.HcaObjects != nil {
		parts = append(parts, fmt.Sprintf("hca_object=%d", *r.HcaObjects))
	}
	if len(parts) == 0 {
		return ""
	}
	return dev + " " + strings.Join(parts, " ")
}

// applyMemoryV1 sets the memory controller. memory.memsw.limit_in_bytes
// (memory+swap) may never be below memory.limit_in_bytes, so the order of
// the two writes depends on the current memsw limit.
func (m *Manager) applyMemoryV1(mem *specs.LinuxMemory, update bool) error {
	dir, err := m.v1Dir("memory", "linux.resources.memory")
	if err != nil {
		return err
	}
	if update {
		if err := checkMemoryBeforeUpdate(mem, filepath.Join(dir, "memory.usage_in_bytes")); err != nil {
			return err
		}
	}
	if mem.Limit != nil && mem.Swap != nil && *mem.Limit > 0 && *mem.Swap > 0 && *mem.Swap < *mem.Limit {
		return fmt.Errorf("set linux.resources.memory of cgroup %s: swap (memory+swap) %d is below limit %d", dir, *mem.Swap, *mem.Limit)
	}
	limit := func() error {
		if mem.Limit == nil {
			return nil
		}
		return writeSetting(dir, setting{resource: "linux.resources.memory.limit", ctrl: "memory", file: "memory.limit_in_bytes", value: i64(*mem.Limit)})
	}
	// Without swap accounting (no memsw file) there is no swap limit to
	// set; runc ignores it too.
	swap := func() error {
		if mem.Swap == nil {
			return nil
		}
		return writeSetting(dir, setting{resource: "linux.resources.memory.swap", ctrl: "memory", file: "memory.memsw.limit_in_bytes", value: i64(*mem.Swap), optional: true})
	}
	first, second := limit, swap
	if mem.Swap != nil && mem.Limit != nil {
		cur, err := readInt(filepath.Join(dir, "memory.memsw.limit_in_bytes"))
		if err == nil && cur >= 0 && (*mem.Limit < 0 || *mem.Limit > cur) {
			first, second = swap, limit
		}
	}
	if err := first(); err != nil {
		return err
	}
	if err := second(); err != nil {
		return err
	}

	var rest []setting
	if mem.Reservation != nil {
		rest = append(rest, setting{resource: "linux.resources.memory.reservation", file: "memory.soft_limit_in_bytes", value: i64(*mem.Reservation)})
	}
	//nolint:staticcheck // Kernel/KernelTCP are deprecated in the spec but still honoured where the kernel has them.
	if mem.Kernel != nil {
		rest = append(rest, setting{resource: "linux.resources.memory.kernel", file: "memory.kmem.limit_in_bytes", value: i64(*mem.Kernel), optional: true})
	}
	//nolint:staticcheck
	if mem.KernelTCP != nil {
		rest = append(rest, setting{resource: "linux.resources.memory.kernelTCP", file: "memory.kmem.tcp.limit_in_bytes", value: i64(*mem.KernelTCP), optional: true})
	}
	if mem.Swappiness != nil {
		if *mem.Swappiness > 100 {
			return fmt.Errorf("set linux.resources.memory.swappiness of cgroup %s: %d is above 100", dir, *mem.Swappiness)
		}
		rest = append(rest, setting{resource: "linux.resources.memory.swappiness", file: "memory.swappiness", value: u64(*mem.Swappiness)})
	}
	if mem.DisableOOMKiller != nil {
		v := "0"
		if *mem.DisableOOMKiller {
			v = "1"
		}
		rest = append(rest, setting{resource: "linux.resources.memory.disableOOMKiller", file: "memory.oom_control", value: v})
	}
	if mem.UseHierarchy != nil {
		v := "0"
		if *mem.UseHierarchy {
			v = "1"
		}
		rest = append(rest, setting{resource: "linux.resources.memory.useHierarchy", file: "memory.use_hierarchy", value: v, optional: true})
	}
	for _, s := range rest {
		s.ctrl = "memory"
		err := writeSetting(dir, s)
		// Since Linux 5.16 the kmem limit files exist but refuse writes
		// (ENOTSUPP, 524): kernel memory is always charged to the limit.
		if err != nil && strings.HasPrefix(s.file, "memory.kmem.") && (errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.Errno(524))) {
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

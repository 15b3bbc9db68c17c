package cgroups

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// applyV2 writes res to the container's v2 directory.
func (m *Manager) applyV2(res *specs.LinuxResources, update bool) error {
	dir := m.v2dir
	if update {
		if err := checkMemoryBeforeUpdate(res.Memory, filepath.Join(dir, "memory.current")); err != nil {
			return err
		}
	}
	settings, err := v2Settings(dir, res)
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", dir, err)
	}
	for _, s := range settings {
		if err := writeSetting(dir, s); err != nil {
			return err
		}
	}
	if len(res.Devices) > 0 {
		if err := setDeviceFilter(dir, res.Devices); err != nil {
			return err
		}
	}
	return nil
}

// v2Settings converts the OCI (v1-shaped) resources to v2 files.
func v2Settings(dir string, res *specs.LinuxResources) ([]setting, error) {
	var out []setting
	add := func(resource, ctrl, file, value string) {
		out = append(out, setting{resource: resource, ctrl: ctrl, file: file, value: value})
	}
	if c := res.CPU; c != nil {
		if c.Shares != nil {
			add("linux.resources.cpu.shares", "cpu", "cpu.weight", u64(SharesToWeight(*c.Shares)))
		}
		if c.Quota != nil || c.Period != nil {
			quota, period := "max", "100000"
			// cpu.max takes both numbers; keep the current one of a pair
			// only half given.
			if cur, err := readString(filepath.Join(dir, "cpu.max")); err == nil {
				if f := strings.Fields(cur); len(f) == 2 {
					quota, period = f[0], f[1]
				}
			}
			if c.Quota != nil {
				quota = maxOr(*c.Quota)
			}
			if c.Period != nil {
				period = u64(*c.Period)
			}
			add("linux.resources.cpu.quota/period", "cpu", "cpu.max", quota+" "+period)
		}
		if c.Burst != nil {
			add("linux.resources.cpu.burst", "cpu", "cpu.max.burst", u64(*c.Burst))
		}
		if c.Idle != nil {
			add("linux.resources.cpu.idle", "cpu", "cpu.idle", i64(*c.Idle))
		}
		if (c.RealtimeRuntime != nil && *c.RealtimeRuntime != 0) || (c.RealtimePeriod != nil && *c.RealtimePeriod != 0) {
			return nil, errors.New("linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no realtime CPU budget (cpu.rt_*)")
		}
		if c.Cpus != "" {
			add("linux.resources.cpu.cpus", "cpuset", "cpuset.cpus", c.Cpus)
		}
		if c.Mems != "" {
			add("linux.resources.cpu.mems", "cpuset", "cpuset.mems", c.Mems)
		}
	}
	if mem := res.Memory; mem != nil {
		if mem.Limit != nil {
			add("linux.resources.memory.limit", "memory", "memory.max", maxOr(*mem.Limit))
		}
		if mem.Reservation != nil {
			add("linux.resources.memory.reservation", "memory", "memory.low", maxOr(*mem.Reservation))
		}
		if mem.Swap != nil {
			// OCI swap is memory+swap (v1 memsw); v2 limits swap alone.
			switch {
			case *mem.Swap < 0:
				add("linux.resources.memory.swap", "memory", "memory.swap.max", "max")
			case mem.Limit == nil || *mem.Limit <= 0:
				return nil, fmt.Errorf("linux.resources.memory.swap %d needs memory.limit on cgroup v2 (swap.max = swap - limit)", *mem.Swap)
			case *mem.Swap < *mem.Limit:
				return nil, fmt.Errorf("linux.resources.memory.swap (memory+swap) %d is below limit %d", *mem.Swap, *mem.Limit)
			default:
				add("linux.resources.memory.swap", "memory", "memory.swap.max", i64(*mem.Swap-*mem.Limit))
			}
		}
		if mem.Swappiness != nil && *mem.Swappiness > 100 {
			return nil, fmt.Errorf("linux.resources.memory.swappiness %d is above 100", *mem.Swappiness)
		}
		// Kernel, KernelTCP, Swappiness, DisableOOMKiller and UseHierarchy
		// have no v2 file: kernel memory is always charged, hierarchy is
		// always on, and there is no per-cgroup swappiness or OOM switch.
	}
	if p := res.Pids; p != nil && p.Limit != nil {
		add("linux.resources.pids.limit", "pids", "pids.max", maxOr(*p.Limit))
	}
	if b := res.BlockIO; b != nil {
		// BFQ takes the v1 range (1..1000) as is; io.weight (1..10000)
		// needs converting.
		bfq := fileExists(filepath.Join(dir, "io.bfq.weight"))
		if b.Weight != nil {
			if bfq {
				add("linux.resources.blockIO.weight", "io", "io.bfq.weight", u64(uint64(*b.Weight)))
			} else {
				add("linux.resources.blockIO.weight", "io", "io.weight", "default "+u64(BlkioWeightToIOWeight(*b.Weight)))
			}
		}
		for _, d := range b.WeightDevice {
			if d.Weight == nil {
				continue
			}
			if bfq {
				add("linux.resources.blockIO.weightDevice", "io", "io.bfq.weight", fmt.Sprintf("%d:%d %d", d.Major, d.Minor, *d.Weight))
			} else {
				add("linux.resources.blockIO.weightDevice", "io", "io.weight", fmt.Sprintf("%d:%d %d", d.Major, d.Minor, BlkioWeightToIOWeight(*d.Weight)))
			}
		}
		for _, t := range []struct {
			name, key string
			devs      []specs.LinuxThrottleDevice
		}{
			{"throttleReadBpsDevice", "rbps", b.ThrottleReadBpsDevice},
			{"throttleWriteBpsDevice", "wbps", b.ThrottleWriteBpsDevice},
			{"throttleReadIOPSDevice", "riops", b.ThrottleReadIOPSDevice},
			{"throttleWriteIOPSDevice", "wiops", b.ThrottleWriteIOPSDevice},
		} {
			for _, d := range t.devs {
				rate := u64(d.Rate)
				if d.Rate == 0 {
					rate = "max"
				}
				add("linux.resources.blockIO."+t.name, "io", "io.max", fmt.Sprintf("%d:%d %s=%s", d.Major, d.Minor, t.key, rate))
			}
		}
	}
	for _, h := range res.HugepageLimits {
		add("linux.resources.hugepageLimits["+h.Pagesize+"]", "hugetlb", "hugetlb."+h.Pagesize+".max", u64(h.Limit))
	}
	for dev, r := range res.Rdma {
		if v := rdmaValue(dev, r); v != "" {
			add("linux.resources.rdma["+dev+"]", "rdma", "rdma.max", v)
		}
	}
	// Unified keys go last so they override the converted values.
	for k, v := range res.Unified {
		if k == "" || strings.ContainsAny(k, "/\x00") || strings.HasPrefix(k, ".") {
			return nil, fmt.Errorf("linux.resources.unified key %q is not a cgroup file name", k)
		}
		if strings.HasPrefix(k, "cgroup.") && k != "cgroup.max.depth" && k != "cgroup.max.descendants" {
			// cgroup.procs, cgroup.subtree_control etc. are the runtime's.
			return nil, fmt.Errorf("linux.resources.unified key %q is not a resource", k)
		}
		if !fileExists(filepath.Join(dir, k)) {
			ctrl, _, _ := strings.Cut(k, ".")
			return nil, fmt.Errorf("linux.resources.unified key %q: no such file in %s (is the %s controller enabled?)", k, dir, ctrl)
		}
		add("linux.resources.unified["+k+"]", "unified", k, v)
	}
	return out, nil
}

// setDeviceFilter attaches the eBPF device program deviceFilter builds: on
// v2 the devices controller is a BPF hook.
func setDeviceFilter(dir string, devices []specs.LinuxDeviceCgroup) error {
	// The spec lets type default to "a" and major/minor to "any";
	// spell them out (-1 is the wildcard) for canSkipDeviceFilter.
	wildcard := int64(-1)
	devs := slices.Clone(devices)
	for i := range devs {
		if devs[i].Type == "" {
			devs[i].Type = "a"
		}
		if devs[i].Major == nil {
			devs[i].Major = &wildcard
		}
		if devs[i].Minor == nil {
			devs[i].Minor = &wildcard
		}
	}
	code, err := deviceFilter(devs)
	if err != nil {
		return fmt.Errorf("set linux.resources.devices of cgroup %s: build eBPF filter: %w", dir, err)
	}
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("set linux.resources.devices of cgroup %s: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := attachDeviceProgram(code, fd); err != nil && !canSkipDeviceFilter(devs) {
		return fmt.Errorf("set linux.resources.devices of cgroup %s: attach eBPF filter: %w", dir, err)
	}
	return nil
}

// SharesToWeight maps v1 cpu.shares [2..262144] onto v2 cpu.weight
// [1..10000] so that the defaults (1024 ↔ 100) and the ends meet; this is the
// conversion runc, crun and containerd agree on.
func SharesToWeight(shares uint64) uint64 {
	if shares == 0 {
		return 0 // unset
	}
	if shares <= 2 {
		return 1
	}
	if shares >= 262144 {
		return 10000
	}
	// The quadratic in log space (from runc's cgroups package docs) that
	// puts 2 → 1, 1024 → 100 and 262144 → 10000.
	l := math.Log2(float64(shares))
	exp := (l*l+125*l)/612.0 - 7.0/34.0
	return uint64(math.Ceil(math.Pow(10, exp)))
}

// BlkioWeightToIOWeight maps v1 blkio.weight [10..1000] linearly onto v2
// io.weight [1..10000].
func BlkioWeightToIOWeight(w uint16) uint64 {
	if w < 10 {
		w = 10
	}
	return 1 + (uint64(w)-10)*9999/990
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// canSkipDeviceFilter: a rule set that allows everything needs no program,
// so a kernel without BPF device support is no reason to fail it.
func canSkipDeviceFilter(devs []specs.LinuxDeviceCgroup) bool {
	last := devs[len(devs)-1]
	return last.Allow && last.Type == "a" && *last.Major < 0 && *last.Minor < 0 && (last.Access == "" || last.Access == "rwm")
}

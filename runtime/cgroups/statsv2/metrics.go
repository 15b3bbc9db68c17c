// Package statsv2 holds a cgroup's metrics on a cgroup v2 host
// (runtime/cgroups' Stats.V2): plain Go types with the shape and field
// names of containerd's io.containerd.cgroups.v2.Metrics, which the shim
// encodes for the CRI. Plain, so that the engine and the CLI do not link
// protobuf; field names match so the shim can copy them field by field.
package statsv2

// Metrics is io.containerd.cgroups.v2.Metrics; the other types are its
// parts, named as in containerd/cgroups' metrics.proto (TestMetricsTypesPairUp
// in shim/task checks that they still pair up with the generated messages).
type Metrics struct {
	Pids         *PidsStat      `json:"pids,omitempty"`
	CPU          *CPUStat       `json:"cpu,omitempty"`
	Memory       *MemoryStat    `json:"memory,omitempty"`
	Rdma         *RdmaStat      `json:"rdma,omitempty"`
	Io           *IOStat        `json:"io,omitempty"`
	Hugetlb      []*HugeTlbStat `json:"hugetlb,omitempty"`
	MemoryEvents *MemoryEvents  `json:"memory_events,omitempty"`
	Network      []*NetworkStat `json:"network,omitempty"`
}

type PSIData struct {
	Avg10  float64 `json:"avg10,omitempty"`
	Avg60  float64 `json:"avg60,omitempty"`
	Avg300 float64 `json:"avg300,omitempty"`
	Total  uint64  `json:"total,omitempty"`
}

type PSIStats struct {
	Some *PSIData `json:"some,omitempty"`
	Full *PSIData `json:"full,omitempty"`
}

type PidsStat struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

type CPUStat struct {
	UsageUsec     uint64    `json:"usage_usec,omitempty"`
	UserUsec      uint64    `json:"user_usec,omitempty"`
	SystemUsec    uint64    `json:"system_usec,omitempty"`
	NrPeriods     uint64    `json:"nr_periods,omitempty"`
	NrThrottled   uint64    `json:"nr_throttled,omitempty"`
	ThrottledUsec uint64    `json:"throttled_usec,omitempty"`
	PSI           *PSIStats `json:"psi,omitempty"`
	NrBursts      uint64    `json:"nr_bursts,omitempty"`
	BurstUsec     uint64    `json:"burst_usec,omitempty"`
}

type MemoryStat struct {
	Anon                  uint64    `json:"anon,omitempty"`
	File                  uint64    `json:"file,omitempty"`
	KernelStack           uint64    `json:"kernel_stack,omitempty"`
	Slab                  uint64    `json:"slab,omitempty"`
	Sock                  uint64    `json:"sock,omitempty"`
	Shmem                 uint64    `json:"shmem,omitempty"`
	FileMapped            uint64    `json:"file_mapped,omitempty"`
	FileDirty             uint64    `json:"file_dirty,omitempty"`
	FileWriteback         uint64    `json:"file_writeback,omitempty"`
	AnonThp               uint64    `json:"anon_thp,omitempty"`
	InactiveAnon          uint64    `json:"inactive_anon,omitempty"`
	ActiveAnon            uint64    `json:"active_anon,omitempty"`
	InactiveFile          uint64    `json:"inactive_file,omitempty"`
	ActiveFile            uint64    `json:"active_file,omitempty"`
	Unevictable           uint64    `json:"unevictable,omitempty"`
	SlabReclaimable       uint64    `json:"slab_reclaimable,omitempty"`
	SlabUnreclaimable     uint64    `json:"slab_unreclaimable,omitempty"`
	Pgfault               uint64    `json:"pgfault,omitempty"`
	Pgmajfault            uint64    `json:"pgmajfault,omitempty"`
	WorkingsetRefault     uint64    `json:"workingset_refault,omitempty"`
	WorkingsetActivate    uint64    `json:"workingset_activate,omitempty"`
	WorkingsetNodereclaim uint64    `json:"workingset_nodereclaim,omitempty"`
	Pgrefill              uint64    `json:"pgrefill,omitempty"`
	Pgscan                uint64    `json:"pgscan,omitempty"`
	Pgsteal               uint64    `json:"pgsteal,omitempty"`
	Pgactivate            uint64    `json:"pgactivate,omitempty"`
	Pgdeactivate          uint64    `json:"pgdeactivate,omitempty"`
	Pglazyfree            uint64    `json:"pglazyfree,omitempty"`
	Pglazyfreed           uint64    `json:"pglazyfreed,omitempty"`
	ThpFaultAlloc         uint64    `json:"thp_fault_alloc,omitempty"`
	ThpCollapseAlloc      uint64    `json:"thp_collapse_alloc,omitempty"`
	Usage                 uint64    `json:"usage,omitempty"`
	UsageLimit            uint64    `json:"usage_limit,omitempty"`
	SwapUsage             uint64    `json:"swap_usage,omitempty"`
	SwapLimit             uint64    `json:"swap_limit,omitempty"`
	MaxUsage              uint64    `json:"max_usage,omitempty"`
	SwapMaxUsage          uint64    `json:"swap_max_usage,omitempty"`
	PSI                   *PSIStats `json:"psi,omitempty"`
}

type MemoryEvents struct {
	Low          uint64 `json:"low,omitempty"`
	High         uint64 `json:"high,omitempty"`
	Max          uint64 `json:"max,omitempty"`
	Oom          uint64 `json:"oom,omitempty"`
	OomKill      uint64 `json:"oom_kill,omitempty"`
	OomGroupKill uint64 `json:"oom_group_kill,omitempty"`
}

type RdmaStat struct {
	Current []*RdmaEntry `json:"current,omitempty"`
	Limit   []*RdmaEntry `json:"limit,omitempty"`
}

type RdmaEntry struct {
	Device     string `json:"device,omitempty"`
	HcaHandles uint32 `json:"hca_handles,omitempty"`
	HcaObjects uint32 `json:"hca_objects,omitempty"`
}

type IOStat struct {
	Usage []*IOEntry `json:"usage,omitempty"`
	PSI   *PSIStats  `json:"psi,omitempty"`
}

type IOEntry struct {
	Major  uint64 `json:"major,omitempty"`
	Minor  uint64 `json:"minor,omitempty"`
	Rbytes uint64 `json:"rbytes,omitempty"`
	Wbytes uint64 `json:"wbytes,omitempty"`
	Rios   uint64 `json:"rios,omitempty"`
	Wios   uint64 `json:"wios,omitempty"`
}

type HugeTlbStat struct {
	Current  uint64 `json:"current,omitempty"`
	Max      uint64 `json:"max,omitempty"`
	Pagesize string `json:"pagesize,omitempty"`
	Failcnt  uint64 `json:"failcnt,omitempty"`
}

type NetworkStat struct {
	Name      string `json:"name,omitempty"`
	RxBytes   uint64 `json:"rx_bytes,omitempty"`
	RxPackets uint64 `json:"rx_packets,omitempty"`
	RxErrors  uint64 `json:"rx_errors,omitempty"`
	RxDropped uint64 `json:"rx_dropped,omitempty"`
	TxBytes   uint64 `json:"tx_bytes,omitempty"`
	TxPackets uint64 `json:"tx_packets,omitempty"`
	TxErrors  uint64 `json:"tx_errors,omitempty"`
	TxDropped uint64 `json:"tx_dropped,omitempty"`
}

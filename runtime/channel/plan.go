// Package channel is the typed protocol between the runtime (the parent that
// spawns a container) and slrt-init (the helper that sets the container up from
// inside its namespaces and then execs the workload).
//
// The parent validates the OCI spec and turns it into a Plan: everything the
// init needs, already resolved to numbers and flags, so the init does no
// parsing, no lookups and no policy of its own. The Plan is sent once over the
// sync socket; then the two sides exchange short Messages at the points where
// the OCI lifecycle needs the parent (hooks, start).
//
// This package must stay free of heavy dependencies: it is linked into the
// init helper, whose start-up cost is part of every container start.
package channel

// Plan is what the init needs to build one container (or, for exec, to enter
// one and run a process).
type Plan struct {
	// Exec is true when the plan runs an extra process in an existing
	// container: namespaces were joined by the parent; no rootfs work.
	Exec bool `json:"exec,omitempty"`

	Rootfs RootfsPlan  `json:"rootfs"`
	Proc   ProcessPlan `json:"process"`

	// Hostname and Domainname are set when the container has its own UTS
	// namespace (SetHostname / SetDomainname tell "empty" from "absent").
	Hostname       string `json:"hostname,omitempty"`
	SetHostname    bool   `json:"setHostname,omitempty"`
	Domainname     string `json:"domainname,omitempty"`
	SetDomainname  bool   `json:"setDomainname,omitempty"`
	Sysctls        []KV   `json:"sysctls,omitempty"`
	CreateCtrHooks []Hook `json:"createContainerHooks,omitempty"`
	StartCtrHooks  []Hook `json:"startContainerHooks,omitempty"`

	// Console asks the init to allocate a pty inside the container and send
	// its master over the console socket (fd ConsoleFD in the init).
	Console     bool `json:"console,omitempty"`
	ConsoleRows uint `json:"consoleRows,omitempty"`
	ConsoleCols uint `json:"consoleCols,omitempty"`

	// ListenFD is >0 when the parent will not stay to start the container
	// (the CLI): the init accepts the start request on this listening unix
	// socket instead of the sync socket.
	ListenFD int `json:"listenFd,omitempty"`
	// ConsoleFD is the fd of the console socket when Console is set.
	ConsoleFD int `json:"consoleFd,omitempty"`
	// NewUserNS is set when the init runs in a user namespace of its own,
	// new or joined (device nodes must be bind-mounted, not created).
	NewUserNS bool `json:"newUserNS,omitempty"`

	// UnshareCgroupNS asks the init to unshare its cgroup namespace once
	// the parent has placed it in its cgroups (cgroup v1 hosts, where
	// placement happens after clone).
	UnshareCgroupNS bool `json:"unshareCgroupNS,omitempty"`
	// TimeNS asks the init to unshare a time namespace with these offsets
	// (the workload enters it at execve).
	TimeNS      bool         `json:"timeNS,omitempty"`
	TimeOffsets []TimeOffset `json:"timeOffsets,omitempty"`
	// MountNSFD is >0 for exec: the init enters this mount namespace on its
	// main thread (after unshare(CLONE_FS)) before anything else; the
	// parent cannot do it for a multi-threaded process.
	MountNSFD int `json:"mountNsFd,omitempty"`
	// PreserveFDs are fds of the init that the workload gets as 3, 4, ...
	// in this order (runc's --preserve-fds).
	PreserveFDs []int `json:"preserveFds,omitempty"`
}

// TimeOffset is one line of /proc/PID/timens_offsets.
type TimeOffset struct {
	Clock string `json:"clock"` // "monotonic" or "boottime"
	Secs  int64  `json:"secs"`
	Nanos uint32 `json:"nanos"`
}

// KV is an ordered key/value pair (sysctls are applied in a stable order).
type KV struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// Hook is a runtime-spec hook run by the init inside the container namespaces.
type Hook struct {
	Path    string   `json:"path"`
	Args    []string `json:"args,omitempty"`
	Env     []string `json:"env,omitempty"`
	Timeout int      `json:"timeout,omitempty"` // seconds, 0 = none
}

// RootfsPlan describes the container's filesystem view. Paths in Mounts,
// Devices, MaskedPaths and ReadonlyPaths are container paths (absolute,
// cleaned); the init resolves them inside Path without following symlinks out
// of it.
type RootfsPlan struct {
	Path        string `json:"path"` // absolute host path of the rootfs
	Readonly    bool   `json:"readonly,omitempty"`
	Propagation uint64 `json:"propagation,omitempty"` // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE; 0 = MS_SLAVE|MS_REC as runc
	NoPivot     bool   `json:"noPivot,omitempty"`

	Mounts         []Mount  `json:"mounts,omitempty"`
	Devices        []Device `json:"devices,omitempty"` // default devices first, then linux.devices
	MaskedPaths    []string `json:"maskedPaths,omitempty"`
	ReadonlyPaths  []string `json:"readonlyPaths,omitempty"`
	MountLabel     string   `json:"mountLabel,omitempty"`
	DefaultSymlink bool     `json:"defaultSymlinks,omitempty"` // /dev/fd, /dev/stdin, ... and /dev/ptmx
	// CgroupNS is set when the init runs in a cgroup namespace of its own:
	// cgroup v1 hierarchies are then mounted (the kernel roots them at the
	// namespace's cgroup), not bind-mounted from the host's paths.
	CgroupNS bool `json:"cgroupNS,omitempty"`
}

// Mount is one spec mount with its options already parsed.
type Mount struct {
	Source string `json:"source,omitempty"`
	Target string `json:"target"`
	Type   string `json:"type,omitempty"`
	// Flags are the mount(2) flags for the first mount call.
	Flags uint64 `json:"flags,omitempty"`
	// PropFlags are propagation changes applied after mounting, in order
	// (MS_SHARED, MS_PRIVATE, ... optionally |MS_REC).
	PropFlags []uint64 `json:"propFlags,omitempty"`
	// Data is the filesystem-specific option string.
	Data string `json:"data,omitempty"`
	// Bind is set for bind mounts (type "bind" or a "bind"/"rbind" option):
	// the source is a host path and Flags are applied by a remount.
	Bind bool `json:"bind,omitempty"`
	// SourceIsFile tells the init to create the target as a file, not a
	// directory (bind mounts of files).
	SourceIsFile bool `json:"sourceIsFile,omitempty"`
	// SourceFD is >0 when the parent opened the source already (O_PATH) and
	// passed it to the init; Source is then informational.
	SourceFD int `json:"sourceFd,omitempty"`
	// IDMap asks for an idmapped bind (mounts[].uidMappings/gidMappings,
	// options "idmap"/"ridmap"); IDMapRecursive ("ridmap") maps every
	// mount of an rbind, not only the top one. Setting the mapping needs
	// privilege over the source filesystem that an init in its own user
	// namespace lacks, so the parent builds the mount as a detached tree
	// (open_tree + mount_setattr) and passes it as MountFD.
	IDMap          bool `json:"idmap,omitempty"`
	IDMapRecursive bool `json:"idmapRecursive,omitempty"`
	// MountFD is >0 when the parent prepared the mount itself: the fd of a
	// detached mount tree the init moves onto the target (move_mount).
	MountFD int `json:"mountFd,omitempty"`
	// RecAttrSet and RecAttrClr are MOUNT_ATTR_* bits set and cleared on
	// the new mount and every mount below it (mount_setattr AT_RECURSIVE)
	// after the flags: the runtime-spec's recursive options (rro, rnosuid,
	// ...), which a remount cannot give the submounts of an rbind.
	RecAttrSet uint64 `json:"recAttrSet,omitempty"`
	RecAttrClr uint64 `json:"recAttrClr,omitempty"`
}

// Device is a device node to create (or bind-mount from the host when the
// container has its own user namespace).
type Device struct {
	Path  string `json:"path"`
	Type  uint32 `json:"type"` // S_IFCHR, S_IFBLK, S_IFIFO
	Major int64  `json:"major"`
	Minor int64  `json:"minor"`
	Mode  uint32 `json:"mode"` // permission bits
	UID   uint32 `json:"uid"`
	GID   uint32 `json:"gid"`
}

// ProcessPlan is the workload process, resolved to numbers.
type ProcessPlan struct {
	Args []string `json:"args"`
	Env  []string `json:"env,omitempty"`
	Cwd  string   `json:"cwd"`

	UID            uint32   `json:"uid"`
	GID            uint32   `json:"gid"`
	AdditionalGids []uint32 `json:"additionalGids,omitempty"`
	Umask          *uint32  `json:"umask,omitempty"`

	// Capability sets as bit masks (bit N = capability N); nil Caps means
	// "leave capabilities alone" (no process.capabilities in the spec: runc
	// then drops everything, and so do we: the parent fills an empty set).
	Caps *Caps `json:"caps,omitempty"`

	NoNewPrivileges bool     `json:"noNewPrivileges,omitempty"`
	Rlimits         []Rlimit `json:"rlimits,omitempty"`
	OOMScoreAdj     *int     `json:"oomScoreAdj,omitempty"`
	ApparmorProfile string   `json:"apparmorProfile,omitempty"`
	SelinuxLabel    string   `json:"selinuxLabel,omitempty"`

	Scheduler *Scheduler `json:"scheduler,omitempty"`
	IOPrio    *IOPrio    `json:"ioPrio,omitempty"`
	// CPUs is a CPU list ("0-1,3") the init applies with sched_setaffinity
	// right before execve; empty = inherit.
	CPUs string `json:"cpus,omitempty"`
	// InitialCPUs is process.execCPUAffinity.initial: the CPU list the
	// parent applies to the new process before it joins the container's
	// cgroup (runtime-spec: for exec processes); empty = inherit.
	InitialCPUs string `json:"initialCpus,omitempty"`

	// Seccomp is a compiled classic-BPF program (struct sock_filter array,
	// host byte order) loaded with seccomp(2) as the last step.
	Seccomp      []byte `json:"seccomp,omitempty"`
	SeccompFlags uint32 `json:"seccompFlags,omitempty"`
	// SeccompListenerFD is >0 when the filter has a notify listener: the init
	// sends the notify fd and State over this connected unix socket.
	SeccompListenerFD int    `json:"seccompListenerFd,omitempty"`
	SeccompState      []byte `json:"seccompState,omitempty"` // ContainerProcessState JSON without fds
}

// Caps holds the five capability sets as bit masks.
type Caps struct {
	Bounding    uint64 `json:"bounding"`
	Effective   uint64 `json:"effective"`
	Permitted   uint64 `json:"permitted"`
	Inheritable uint64 `json:"inheritable"`
	Ambient     uint64 `json:"ambient"`
}

// Rlimit is one setrlimit call.
type Rlimit struct {
	Resource int    `json:"resource"`
	Name     string `json:"name"` // for error messages
	Soft     uint64 `json:"soft"`
	Hard     uint64 `json:"hard"`
}

// Scheduler is sched_setattr(2)'s input.
type Scheduler struct {
	Policy   uint32 `json:"policy"`
	Nice     int32  `json:"nice,omitempty"`
	Priority uint32 `json:"priority,omitempty"`
	Flags    uint64 `json:"flags,omitempty"`
	Runtime  uint64 `json:"runtime,omitempty"`
	Deadline uint64 `json:"deadline,omitempty"`
	Period   uint64 `json:"period,omitempty"`
}

// IOPrio is ioprio_set(2)'s input.
type IOPrio struct {
	Class    int `json:"class"`
	Priority int `json:"priority"`
}

// FDs lists every fd of the init the plan refers to (the sync socket, fd 3,
// is the caller's to add). The init closes all others before it resolves
// any path, so a new fd field must be listed here.
func (p *Plan) FDs() []int {
	fds := []int{p.ListenFD, p.ConsoleFD, p.MountNSFD, p.Proc.SeccompListenerFD}
	fds = append(fds, p.PreserveFDs...)
	for _, m := range p.Rootfs.Mounts {
		fds = append(fds, m.SourceFD, m.MountFD)
	}
	return fds
}

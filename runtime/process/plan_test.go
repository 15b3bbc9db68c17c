package process

import (
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

func base() *specs.Process {
	return &specs.Process{
		Args: []string{"sh"},
		Env:  []string{"PATH=/bin", "TERM=xterm", "EMPTY="},
		Cwd:  "/",
	}
}

func intp(v int) *int       { return &v }
func u32p(v uint32) *uint32 { return &v }
func with(f func(*specs.Process)) *specs.Process {
	p := base()
	f(p)
	return p
}

func TestPlanFull(t *testing.T) {
	p := with(func(p *specs.Process) {
		p.Cwd = "/srv/./app/"
		p.User = specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{5, 6}, Umask: u32p(0o027)}
		p.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Effective: []string{"CAP_KILL"}}
		p.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096}, {Type: "RLIMIT_CORE"}}
		p.NoNewPrivileges = true
		p.OOMScoreAdj = intp(100)
		p.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 10, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}}
		p.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 7}
		p.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0,1", Final: "3,2"}
		p.ApparmorProfile = "slrt-default"
		p.SelinuxLabel = "system_u:system_r:container_t:s0"
	})
	got, err := Plan(p, false)
	if err != nil {
		t.Fatal(err)
	}
	want := channel.ProcessPlan{
		Args: []string{"sh"}, Env: []string{"PATH=/bin", "TERM=xterm", "EMPTY="}, Cwd: "/srv/app",
		UID: 1000, GID: 1001, AdditionalGids: []uint32{5, 6}, Umask: u32p(0o027),
		Caps:            &channel.Caps{Bounding: 1 << unix.CAP_KILL, Effective: 1 << unix.CAP_KILL},
		NoNewPrivileges: true,
		Rlimits: []channel.Rlimit{
			{Resource: unix.RLIMIT_NOFILE, Name: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096},
			{Resource: unix.RLIMIT_CORE, Name: "RLIMIT_CORE"},
		},
		OOMScoreAdj:     intp(100),
		ApparmorProfile: "slrt-default",
		SelinuxLabel:    "system_u:system_r:container_t:s0",
		Scheduler:       &channel.Scheduler{Policy: unix.SCHED_FIFO, Priority: 10, Flags: unix.SCHED_FLAG_RESET_ON_FORK},
		IOPrio:          &channel.IOPrio{Class: 2, Priority: 7},
		CPUs:            "2-3",
		InitialCPUs:     "0-1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Plan:\n got %+v\nwant %+v", got, want)
	}
}

func TestPlanNilCapsDropsAll(t *testing.T) {
	got, err := Plan(base(), false)
	if err != nil {
		t.Fatal(err)
	}
	if got.Caps == nil || *got.Caps != (channel.Caps{}) {
		t.Errorf("Caps = %+v, want empty sets", got.Caps)
	}
}

func TestPlanDeadline(t *testing.T) {
	p := with(func(p *specs.Process) {
		p.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 10, Deadline: 20, Period: 30,
			Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagReclaim, specs.SchedFlagDLOverrun}}
	})
	got, err := Plan(p, false)
	if err != nil {
		t.Fatal(err)
	}
	want := &channel.Scheduler{Policy: unix.SCHED_DEADLINE, Runtime: 10, Deadline: 20, Period: 30,
		Flags: unix.SCHED_FLAG_RECLAIM | unix.SCHED_FLAG_DL_OVERRUN}
	if !reflect.DeepEqual(got.Scheduler, want) {
		t.Errorf("Scheduler = %+v, want %+v", got.Scheduler, want)
	}
}

func TestPlanErrors(t *testing.T) {
	tests := []struct {
		name string
		p    *specs.Process
		want string
	}{
		{"nil", nil, "process: missing"},
		{"no args", with(func(p *specs.Process) { p.Args = nil }), "process.args: must name"},
		{"empty args0", with(func(p *specs.Process) { p.Args = []string{""} }), "process.args: must name"},
		{"nul in arg", with(func(p *specs.Process) { p.Args = []string{"sh", "a\x00b"} }), "process.args[1]: contains a NUL"},
		{"relative cwd", with(func(p *specs.Process) { p.Cwd = "srv" }), `process.cwd: "srv" is not an absolute path`},
		{"empty cwd", with(func(p *specs.Process) { p.Cwd = "" }), `process.cwd: "" is not an absolute path`},
		{"env without =", with(func(p *specs.Process) { p.Env = []string{"A=1", "B"} }), `process.env[1]: "B" is not in KEY=VALUE form`},
		{"env empty key", with(func(p *specs.Process) { p.Env = []string{"=x"} }), `process.env[0]: "=x" is not in KEY=VALUE form`},
		{"umask", with(func(p *specs.Process) { p.User.Umask = u32p(0o1777) }), "process.user.umask: 01777 has bits outside 0777"},
		{"caps", with(func(p *specs.Process) {
			p.Capabilities = &specs.LinuxCapabilities{Permitted: []string{"CAP_NOPE"}}
		}), `process.capabilities.permitted: unknown capability "CAP_NOPE"`},
		{"rlimit type", with(func(p *specs.Process) {
			p.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE"}, {Type: "RLIMIT_NOFILE"}, {Type: "RLIMIT_FOO"}}
		}), `process.rlimits[1]: duplicate type "RLIMIT_NOFILE"`},
		{"rlimit unknown", with(func(p *specs.Process) {
			p.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_CORE"}, {Type: "RLIMIT_FOO"}}
		}), `process.rlimits[1]: unknown type "RLIMIT_FOO"`},
		{"rlimit soft>hard", with(func(p *specs.Process) {
			p.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 5}}
		}), "process.rlimits[0]: RLIMIT_NOFILE soft limit 10 is above the hard limit 5"},
		{"oom low", with(func(p *specs.Process) { p.OOMScoreAdj = intp(-1001) }), "process.oomScoreAdj: -1001 is outside -1000..1000"},
		{"oom high", with(func(p *specs.Process) { p.OOMScoreAdj = intp(1001) }), "process.oomScoreAdj: 1001 is outside"},
		{"sched no policy", with(func(p *specs.Process) { p.Scheduler = &specs.Scheduler{} }), "process.scheduler.policy: required"},
		{"sched policy", with(func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: "SCHED_X"} }), `process.scheduler.policy: unknown policy "SCHED_X"`},
		{"sched nice", with(func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Nice: 20} }), "process.scheduler.nice: 20 is outside -20..19"},
		{"sched rt prio 0", with(func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: specs.SchedRR} }), "process.scheduler.priority: 0 is outside 1..99 for SCHED_RR"},
		{"sched rt prio 100", with(func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 100} }), "process.scheduler.priority: 100 is outside 1..99"},
		{"sched prio for other", with(func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: specs.SchedBatch, Priority: 5} }), "process.scheduler.priority: must be 0 for SCHED_BATCH"},
		{"sched negative prio", with(func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO, Priority: -1} }), "process.scheduler.priority: -1 is negative"},
		{"sched flag", with(func(p *specs.Process) {
			p.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_X"}}
		}), `process.scheduler.flags[1]: unknown flag "SCHED_FLAG_X"`},
		{"deadline order", with(func(p *specs.Process) {
			p.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 30, Deadline: 20}
		}), "SCHED_DEADLINE needs 0 < runtime (30) <= deadline (20)"},
		{"deadline fields elsewhere", with(func(p *specs.Process) {
			p.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Period: 5}
		}), "only for SCHED_DEADLINE, not SCHED_OTHER"},
		{"ioprio class", with(func(p *specs.Process) { p.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_X"} }), `process.ioPriority.class: unknown class "IOPRIO_CLASS_X"`},
		{"ioprio prio", with(func(p *specs.Process) {
			p.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_RT, Priority: 8}
		}), "process.ioPriority.priority: 8 is outside 0..7"},
		{"affinity initial", with(func(p *specs.Process) { p.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0-"} }), "process.execCPUAffinity.initial: cpu list"},
		{"affinity final", with(func(p *specs.Process) { p.ExecCPUAffinity = &specs.CPUAffinity{Final: "2-1"} }), "process.execCPUAffinity.final: cpu list \"2-1\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(tt.p, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestPlanRootless(t *testing.T) {
	var cur unix.Rlimit
	if err := unix.Prlimit(0, unix.RLIMIT_NOFILE, nil, &cur); err != nil {
		t.Fatal(err)
	}
	oom, err := currentOOMScoreAdj()
	if err != nil {
		t.Fatal(err)
	}
	above := with(func(p *specs.Process) {
		p.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1, Hard: unix.RLIM_INFINITY}}
	})
	if cur.Max != unix.RLIM_INFINITY {
		if _, err := Plan(above, true); err == nil || !strings.Contains(err.Error(), "a rootless container cannot raise it (needs CAP_SYS_RESOURCE)") {
			t.Errorf("rootless raise of RLIMIT_NOFILE: err = %v", err)
		}
		if _, err := Plan(above, false); err != nil {
			t.Errorf("the same plan not rootless: %v (the init reports it, if at all)", err)
		}
	}
	if _, err := Plan(with(func(p *specs.Process) {
		p.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1, Hard: cur.Max}}
	}), true); err != nil {
		t.Errorf("rootless keeping the hard limit: %v", err)
	}
	if oom > -1000 {
		_, err := Plan(with(func(p *specs.Process) { p.OOMScoreAdj = intp(-1000) }), true)
		if err == nil || !strings.Contains(err.Error(), "a rootless container cannot lower it") {
			t.Errorf("rootless lowering oomScoreAdj: err = %v", err)
		}
	}
	if _, err := Plan(with(func(p *specs.Process) { p.OOMScoreAdj = intp(1000) }), true); err != nil {
		t.Errorf("rootless raising oomScoreAdj: %v", err)
	}
}

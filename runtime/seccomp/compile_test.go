package seccomp

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const (
	retAllow     = unix.SECCOMP_RET_ALLOW
	retKill      = unix.SECCOMP_RET_KILL_THREAD
	retNotify    = unix.SECCOMP_RET_USER_NOTIF
	x86_64       = unix.AUDIT_ARCH_X86_64
	i386         = unix.AUDIT_ARCH_I386
	aarch64      = unix.AUDIT_ARCH_AARCH64
	retEPERM     = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retEEXIST    = unix.SECCOMP_RET_ERRNO | uint32(unix.EEXIST)
	sysMkdir     = 83
	sysGetpid    = 39
	sysAcct      = 163
	sysPersona   = 135
	sysStatmount = 457 // newer than any syscall testdata/default.json names
)

// defaultProfile is a Docker-like allow-list of 359 syscalls for x86_64,
// x86 and x32 with default ERRNO(EPERM).
func defaultProfile(t testing.TB) *specs.LinuxSeccomp {
	t.Helper()
	return loadProfile(t, "testdata/default.json")
}

// loadProfile reads a linux.seccomp JSON file.
func loadProfile(t testing.TB, path string) *specs.LinuxSeccomp {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s specs.LinuxSeccomp
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func uptr(v uint) *uint { return &v }

type call struct {
	arch uint32
	nr   uint32
	args [6]uint64
	want uint32
}

func TestCompile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		s        *specs.LinuxSeccomp
		flags    uint32
		stub     bool
		warnings []string
		notify   bool
		calls    []call
	}{{
		name: "errnoRet on mkdir, allow the rest",
		s: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.EEXIST))},
		}},
		calls: []call{
			{arch: x86_64, nr: sysMkdir, want: retEEXIST},
			{arch: x86_64, nr: sysGetpid, want: retAllow},
			{arch: x86_64, nr: sysStatmount, want: retAllow}, // no stub under ALLOW
		},
	}, {
		name: "allow-list on three architectures",
		s:    defaultProfile(t),
		stub: true,
		calls: []call{
			{arch: x86_64, nr: sysGetpid, want: retAllow},
			{arch: x86_64, nr: sysAcct, want: retEPERM},
			{arch: x86_64, nr: 456, want: retAllow}, // futex_requeue, the largest named
			{arch: x86_64, nr: sysStatmount, want: retENOSYS},
			{arch: x86_64, nr: 100000, want: retENOSYS},
			{arch: x86_64, nr: x32Bit | sysGetpid, want: retAllow},
			{arch: x86_64, nr: x32Bit | sysAcct, want: retEPERM},
			{arch: x86_64, nr: x32Bit | 547, want: retAllow}, // x32 execveat, its largest
			{arch: x86_64, nr: x32Bit | 548, want: retENOSYS},
			{arch: i386, nr: 20, want: retAllow}, // getpid
			{arch: i386, nr: 51, want: retEPERM}, // acct
			{arch: i386, nr: 457, want: retENOSYS},
			{arch: aarch64, nr: 172, want: retKill}, // not in the filter: bad arch
		},
	}, {
		name: "native only: x32 numbers stay with the filter's bad-arch action",
		s: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getpid", "openat2"}, Action: specs.ActAllow},
		}},
		stub: true,
		calls: []call{
			{arch: x86_64, nr: sysGetpid, want: retAllow},
			{arch: x86_64, nr: 437, want: retAllow},
			{arch: x86_64, nr: 438, want: retENOSYS},
			{arch: x86_64, nr: sysAcct, want: retEPERM},
			{arch: x86_64, nr: x32Bit | sysGetpid, want: retKill},
			{arch: x86_64, nr: x32Bit | 1000, want: retKill},
			{arch: i386, nr: 20, want: retKill},
		},
	}, {
		name: "defaultErrnoRet ENOSYS needs no stub",
		s: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: uptr(uint(unix.ENOSYS)), Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getpid"}, Action: specs.ActAllow},
		}},
		calls: []call{{arch: x86_64, nr: sysAcct, want: retENOSYS}, {arch: x86_64, nr: sysGetpid, want: retAllow}},
	}, {
		name: "kill-process default gets the stub",
		s: &specs.LinuxSeccomp{DefaultAction: specs.ActKillProcess, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getpid"}, Action: specs.ActAllow},
		}},
		stub: true,
		calls: []call{
			{arch: x86_64, nr: 38, want: unix.SECCOMP_RET_KILL_PROCESS},
			{arch: x86_64, nr: 40, want: retENOSYS},
		},
	}, {
		name: "args: same argument twice means either",
		s: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 0, Op: specs.OpEqualTo},
				{Index: 0, Value: 8, Op: specs.OpEqualTo},
			}},
			{Names: []string{"getpid"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 0xf0, ValueTwo: 0x10, Op: specs.OpMaskedEqual},
				{Index: 1, Value: 5, Op: specs.OpGreaterThan},
			}},
		}},
		stub: true,
		calls: []call{
			{arch: x86_64, nr: sysPersona, args: [6]uint64{0}, want: retAllow},
			{arch: x86_64, nr: sysPersona, args: [6]uint64{8}, want: retAllow},
			{arch: x86_64, nr: sysPersona, args: [6]uint64{0xffffffff}, want: retEPERM},
			{arch: x86_64, nr: sysGetpid, args: [6]uint64{0x13, 6}, want: retAllow},
			{arch: x86_64, nr: sysGetpid, args: [6]uint64{0x23, 6}, want: retEPERM},
			{arch: x86_64, nr: sysGetpid, args: [6]uint64{0x13, 5}, want: retEPERM},
		},
	}, {
		name: "unknown names are skipped with a warning; rules equal to the default are dropped",
		s: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getpid", "no_such_syscall"}, Action: specs.ActAllow},
			{Names: []string{"acct"}, Action: specs.ActErrno},
		}},
		stub:     true,
		warnings: []string{`linux.seccomp.syscalls[0]: unknown syscall "no_such_syscall" skipped`},
		calls:    []call{{arch: x86_64, nr: sysGetpid, want: retAllow}, {arch: x86_64, nr: sysAcct, want: retEPERM}},
	}, {
		name: "notify, trap, log, trace and flags",
		s: &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow, ListenerPath: "/run/agent.sock",
			Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagWaitKillableRecv, specs.LinuxSeccompFlagSpecAllow},
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"mkdir"}, Action: specs.ActNotify},
				{Names: []string{"acct"}, Action: specs.ActTrap},
				{Names: []string{"getpid"}, Action: specs.ActLog},
				{Names: []string{"getppid"}, Action: specs.ActTrace, ErrnoRet: uptr(7)},
				{Names: []string{"chroot"}, Action: specs.ActKill},
			},
		},
		flags: unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV |
			unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW | unix.SECCOMP_FILTER_FLAG_NEW_LISTENER,
		notify: true,
		calls: []call{
			{arch: x86_64, nr: sysMkdir, want: retNotify},
			{arch: x86_64, nr: sysAcct, want: unix.SECCOMP_RET_TRAP},
			{arch: x86_64, nr: sysGetpid, want: unix.SECCOMP_RET_LOG},
			{arch: x86_64, nr: 110, want: unix.SECCOMP_RET_TRACE | 7},
			{arch: x86_64, nr: 161, want: retKill},
		},
	}, {
		name: "wait-killable without a listener is dropped",
		s: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv, "SECCOMP_FILTER_FLAG_TSYNC"},
			Syscalls: []specs.LinuxSyscall{{Names: []string{"acct"}, Action: specs.ActErrno}}},
		flags: unix.SECCOMP_FILTER_FLAG_TSYNC,
		calls: []call{{arch: x86_64, nr: sysAcct, want: retEPERM}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := compile(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if p.Flags != tc.flags {
				t.Errorf("flags = %#x, want %#x", p.Flags, tc.flags)
			}
			if (p.StubLen > 0) != tc.stub {
				t.Errorf("stub of %d instructions, want one: %v", p.StubLen, tc.stub)
			}
			if p.Notify != tc.notify {
				t.Errorf("notify = %v", p.Notify)
			}
			if strings.Join(p.Warnings, "\n") != strings.Join(tc.warnings, "\n") {
				t.Errorf("warnings = %q, want %q", p.Warnings, tc.warnings)
			}
			prog, err := decode(p.BPF)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.calls {
				got, err := runBPF(prog, seccompData{nr: int32(c.nr), arch: c.arch, args: c.args})
				if err != nil {
					t.Fatalf("arch %#x nr %#x: %v", c.arch, c.nr, err)
				}
				if got != c.want {
					t.Errorf("arch %#x nr %#x args %v: verdict %#x, want %#x", c.arch, c.nr, c.args[:2], got, c.want)
				}
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	allow := []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: specs.ActAllow}}
	for _, tc := range []struct {
		s    specs.LinuxSeccomp
		want string
	}{
		{specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_MAYBE"}, `linux.seccomp.defaultAction: unknown action "SCMP_ACT_MAYBE"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActNotify, ListenerPath: "/x"}, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, DefaultErrnoRet: uptr(1)}, "linux.seccomp.defaultAction: errnoRet is only valid"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"}, Syscalls: allow},
			`linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_VAX"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_FAST"}, Syscalls: allow},
			`linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_FAST"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: "SCMP_ACT_PERHAPS"}}},
			`linux.seccomp.syscalls[0].action: unknown action "SCMP_ACT_PERHAPS"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/x", Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "write"}, Action: specs.ActNotify}}},
			`linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY on "write" would deadlock`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/x", Syscalls: []specs.LinuxSyscall{{Names: []string{"sendmsg"}, Action: specs.ActNotify}}},
			`SCMP_ACT_NOTIFY on "sendmsg" would deadlock`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}},
			"linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{allow[0], {Names: []string{"getpid"}, Action: specs.ActAllow, ErrnoRet: uptr(1)}}},
			"linux.seccomp.syscalls[1].action: errnoRet is only valid"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"acct"}, Action: specs.ActErrno, ErrnoRet: uptr(70000)}}},
			"linux.seccomp.syscalls[0].action: errnoRet 70000 is above"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}}, "linux.seccomp.syscalls[0].args: [0]: index 6"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_ABOUT"}}}}}, `linux.seccomp.syscalls[0].args: [0]: unknown operator "SCMP_CMP_ABOUT"`},
		{*tooBig(), "linux.seccomp: the filter needs more than the kernel's 4096 instructions"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchS390X}}, "linux.seccomp.architectures[0]: SCMP_ARCH_S390X: its byte order is not this"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchLOONGARCH64}}, "linux.seccomp.architectures[0]: SCMP_ARCH_LOONGARCH64 is not supported"},
	} {
		_, err := Compile(&tc.s)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want one containing %q", tc.s, err, tc.want)
		}
	}
}

func TestCompileCache(t *testing.T) {
	s := defaultProfile(t)
	p1, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := Compile(defaultProfile(t)) // equal content, another value
	if err != nil {
		t.Fatal(err)
	}
	if p1 != p2 {
		t.Error("an identical profile was compiled again")
	}
	s.Syscalls[0].Names = s.Syscalls[0].Names[1:]
	p3, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	if p3 == p1 {
		t.Error("a changed profile came from the cache")
	}
}

func BenchmarkCompile(b *testing.B) {
	for _, tc := range []struct {
		name  string
		archs []specs.Arch
	}{{"x86_64", nil}, {"x86_64+x86+x32", []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}}} {
		b.Run(tc.name, func(b *testing.B) {
			s := defaultProfile(b)
			s.Architectures = tc.archs
			for b.Loop() {
				if _, err := compile(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("cache-hit", func(b *testing.B) {
		s := defaultProfile(b)
		if _, err := Compile(s); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := Compile(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// bigProfile has a conditional rule on each of the first n x86_64
// syscalls (ALLOW when arg0 == nr and arg1 > nr<<32): the dispatch's
// jumps to the argument checks reach beyond 255 instructions.
func bigProfile(n int) *specs.LinuxSeccomp {
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}
	for name := range names() {
		a := &archs()[0]
		nr, ok := a.nr(name)
		if !ok || int(nr) >= n {
			continue
		}
		s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{name}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
			{Index: 0, Value: uint64(nr), Op: specs.OpEqualTo},
			{Index: 1, Value: uint64(nr) << 32, Op: specs.OpGreaterThan},
		}})
	}
	return s
}

func TestLongJumps(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("x86_64 numbers")
	}
	p, err := compile(bigProfile(200))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := decode(p.BPF)
	if err != nil {
		t.Fatal(err)
	}
	tramps := 0
	for _, in := range prog[p.StubLen:] {
		if in.Code == unix.BPF_JMP|unix.BPF_JA {
			tramps++
		}
	}
	if tramps == 0 {
		t.Fatalf("%d instructions and no JA: the test no longer needs long jumps", len(prog))
	}
	t.Logf("%d instructions, %d JA", len(prog), tramps)
	for nr := uint32(0); nr < 200; nr++ {
		if !named(nr) {
			continue
		}
		for _, c := range []struct {
			args [6]uint64
			want uint32
		}{
			{[6]uint64{uint64(nr), uint64(nr)<<32 + 1}, retAllow},
			{[6]uint64{uint64(nr), uint64(nr) << 32}, retEPERM},
			{[6]uint64{uint64(nr) + 1<<32, uint64(nr)<<32 + 1}, retEPERM},
		} {
			got, err := runBPF(prog, seccompData{nr: int32(nr), arch: x86_64, args: c.args})
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("nr %d args %#x: %#x, want %#x", nr, c.args[:2], got, c.want)
			}
		}
	}
}

// named says whether x86_64 has a syscall numbered nr.
func named(nr uint32) bool {
	for name := range names() {
		if n, ok := archs()[0].nr(name); ok && n == nr {
			return true
		}
	}
	return false
}

// TestKernelLoadsPrograms has the kernel load the programs as seccomp
// filters, each in a child process (the test binary again, running
// TestLoadHelper), which then exits: the kernel checks them as it would
// for a container (jumps inside the program, opcodes seccomp allows, its
// size after conversion).
func TestKernelLoadsPrograms(t *testing.T) {
	if os.Getenv("SLRT_SECCOMP_LOAD") != "" {
		t.Skip("in the helper")
	}
	dir := t.TempDir()
	for i, s := range []*specs.LinuxSeccomp{defaultProfile(t), bigProfile(200), bigProfile(280)} {
		// what the helper needs to exit and report
		s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{"exit_group", "exit", "write", "rt_sigreturn"}, Action: specs.ActAllow})
		p, err := compile(s)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(f, p.BPF, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestLoadHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SLRT_SECCOMP_LOAD="+f)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%d instructions: %v: %s", len(p.BPF)/insnSize, err, out)
		}
	}
}

// TestLoadHelper loads the program in $SLRT_SECCOMP_LOAD into its thread
// and exits at once (the filter stays with the dying thread).
func TestLoadHelper(t *testing.T) {
	f := os.Getenv("SLRT_SECCOMP_LOAD")
	if f == "" {
		t.Skip("run by TestKernelLoadsPrograms")
	}
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread() // never unlocked: the thread exits with the test
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := loadFilter(b); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	unix.Exit(0)
}

// loadFilter installs prog (struct sock_filter array, host byte order) in
// the calling thread, as slrt-init's seccomp.c does, so the kernel's own
// verifier checks what compile made.
func loadFilter(prog []byte) error {
	insns, err := decode(prog)
	if err != nil {
		return err
	}
	n := len(insns)
	fprog := unix.SockFprog{Len: uint16(n), Filter: &insns[0]}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(insns)
	if errno != 0 {
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER) of %d instructions: %w", n, errno)
	}
	return nil
}

// tooBig is a profile past BPF_MAXINSNS: many conditions on each syscall.
func tooBig() *specs.LinuxSeccomp {
	s := bigProfile(1000)
	for i := range s.Syscalls {
		for j := uint(2); j < 6; j++ {
			s.Syscalls[i].Args = append(s.Syscalls[i].Args, specs.LinuxSeccompArg{Index: j, Value: 1, Op: specs.OpLessEqual})
		}
	}
	return s
}

// TestAssembleLongJumps: a conditional jump over n instructions, either
// way, lands where it points whatever n (255 is the most cBPF encodes).
func TestAssembleLongJumps(t *testing.T) {
	for _, n := range []int{0, 1, 254, 255, 256, 257, 1000, 3000} {
		for _, far := range []string{"jt", "jf", "both"} {
			retFar, retNear := &node{code: retK, k: 2}, &node{code: retK, k: 1}
			j := &node{code: jeqK, k: 7}
			prog := []*node{{code: ldAbs, k: offNr}, j}
			filler := []*node{retNear}
			for range n {
				filler = append(filler, &node{code: ldAbs, k: offAr})
			}
			if n > 0 {
				filler = append(filler[1:], retNear)
			}
			prog = append(prog, filler...)
			prog = append(prog, retFar)
			switch far {
			case "jt":
				j.jt, j.jf = retFar, filler[0]
			case "jf":
				j.jt, j.jf = filler[0], retFar
			case "both":
				j.jt, j.jf = retFar, retFar
			}
			insns, err := assemble(prog)
			if err != nil {
				t.Fatalf("%d %s: %v", n, far, err)
			}
			for _, nr := range []int32{7, 8} {
				got, err := runBPF(insns, seccompData{nr: nr})
				if err != nil {
					t.Fatalf("%d %s nr %d: %v", n, far, nr, err)
				}
				want := uint32(1) // filler[0]: retNear or the filler leading to it
				if far == "both" || (far == "jt") == (nr == 7) {
					want = 2
				}
				if got != want {
					t.Errorf("over %d, far %s, nr %d: %d, want %d", n, far, nr, got, want)
				}
			}
		}
	}
}

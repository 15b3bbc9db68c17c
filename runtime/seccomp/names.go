package seccomp

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

//go:generate go run mksyscalls.go

// The spelling of runtime-spec's config-linux.md#seccomp, mapped to the
// kernel's constants.

// sysTable is one architecture's syscall numbers (zsyscalls_GOARCH.go):
// nrs holds a 2-byte big-endian number per name of sysNames, 0xffff where
// the architecture lacks it.
type sysTable struct {
	arch specs.Arch
	nrs  string
}

// archInfo is an architecture a filter built on this GOARCH has code for.
type archInfo struct {
	name  specs.Arch
	audit uint32 // AUDIT_ARCH_* in seccomp_data.arch
	// bits32: libseccomp compares only the low 32 bits of arguments
	// (the kernel zero-extends them on these ABIs).
	bits32 bool
	nrBase uint32 // added to every number (x32: __X32_SYSCALL_BIT)
	table  *sysTable
}

// hostArchs are the architectures the kernel of a GOARCH can report in
// seccomp_data.arch: the native one first, then its compat ABIs.
var hostArchs = map[string][]archInfo{
	"amd64": {
		{name: specs.ArchX86_64, audit: unix.AUDIT_ARCH_X86_64},
		{name: specs.ArchX86, audit: unix.AUDIT_ARCH_I386, bits32: true},
		{name: specs.ArchX32, audit: unix.AUDIT_ARCH_X86_64, bits32: true, nrBase: x32Bit},
	},
	"arm64": {
		{name: specs.ArchAARCH64, audit: unix.AUDIT_ARCH_AARCH64},
		{name: specs.ArchARM, audit: unix.AUDIT_ARCH_ARM, bits32: true},
	},
	"riscv64": {
		{name: specs.ArchRISCV64, audit: unix.AUDIT_ARCH_RISCV64},
	},
}

// otherArchs are the runtime-spec architectures with their byte order.
// Those no kernel of this GOARCH reports may still be listed (a profile
// written for several hosts): libseccomp accepts the ones of the host's
// byte order, whose code can never run, and refuses the others; slrt does
// the same, without emitting the dead code.
var otherArchs = map[specs.Arch]bool{ // true: big-endian
	specs.ArchX86: false, specs.ArchX86_64: false, specs.ArchX32: false,
	specs.ArchARM: false, specs.ArchAARCH64: false,
	specs.ArchMIPS: true, specs.ArchMIPS64: true, specs.ArchMIPS64N32: true,
	specs.ArchMIPSEL: false, specs.ArchMIPSEL64: false, specs.ArchMIPSEL64N32: false,
	specs.ArchPPC: true, specs.ArchPPC64: true, specs.ArchPPC64LE: false,
	specs.ArchS390: true, specs.ArchS390X: true,
	specs.ArchPARISC: true, specs.ArchPARISC64: true,
	specs.ArchRISCV64: false,
}

// unsupportedArchs are in runtime-spec but not in the libseccomp (2.5)
// slrt has always been checked against: refused, as before.
var unsupportedArchs = map[specs.Arch]bool{
	specs.ArchLOONGARCH64: true, specs.ArchM68K: true, specs.ArchSH: true, specs.ArchSHEB: true,
}

var bigEndian = binary.NativeEndian.Uint16([]byte{0, 1}) == 1

var names = sync.OnceValue(func() map[string]int {
	m := map[string]int{}
	for i, n := range strings.Fields(sysNames) {
		m[n] = i
	}
	return m
})

// archs returns the architectures of this GOARCH with their tables.
var archs = sync.OnceValue(func() []archInfo {
	list := append([]archInfo(nil), hostArchs[runtime.GOARCH]...)
	for i := range list {
		for j := range sysTables {
			if sysTables[j].arch == list[i].name {
				list[i].table = &sysTables[j]
			}
		}
	}
	return list
})

// lookupArch finds a listed architecture: ok with info for one the host
// can run, ok with nil for one it cannot (no code), an error otherwise.
func lookupArch(a specs.Arch) (*archInfo, error) {
	for i, h := range archs() {
		if h.name == a {
			return &archs()[i], nil
		}
	}
	if unsupportedArchs[a] {
		return nil, fmt.Errorf("%s is not supported", a)
	}
	big, ok := otherArchs[a]
	if !ok {
		return nil, fmt.Errorf("unknown architecture %q", a)
	}
	if big != bigEndian {
		return nil, fmt.Errorf("%s: its byte order is not this %s host's (a filter has one)", a, runtime.GOARCH)
	}
	return nil, nil
}

// knownName says whether any architecture of the host knows a syscall
// (x86's accept, send and recv exist only behind socketcall).
func knownName(name string) bool {
	_, ok := names()[name]
	_, sock := socketcalls[name]
	_, ipc := ipcCalls[name]
	return ok || sock || ipc
}

// nr returns a syscall's number on a, including a.nrBase.
func (a *archInfo) nr(name string) (uint32, bool) {
	i, ok := names()[name]
	if !ok || a.table == nil {
		return 0, false
	}
	v := uint32(a.table.nrs[2*i])<<8 | uint32(a.table.nrs[2*i+1])
	switch {
	case v == 0xffff:
		return 0, false
	case v >= 0xf000: // ARM's private syscalls (__ARM_NR_BASE)
		v = 0xf0000 + v&0xfff
	}
	return a.nrBase + v, true
}

// Multiplexed syscalls. On x86 (i386) the socket and SysV IPC calls also
// exist behind socketcall(2) and ipc(2), whose first argument says which
// call: a rule for "socket" must cover socketcall(SYS_SOCKET, ...) too, or
// an old libc walks around it. As libseccomp does, the rule is repeated on
// the multiplexer with its argument 0 replaced by "== call" (its other
// conditions kept as they are). Call numbers: linux/net.h, linux/ipc.h.
const (
	sysSocketcallX86 = 102
	sysIpcX86        = 117
)

var socketcalls = map[string]uint32{
	"socket": 1, "bind": 2, "connect": 3, "listen": 4, "accept": 5, "getsockname": 6,
	"getpeername": 7, "socketpair": 8, "send": 9, "recv": 10, "sendto": 11, "recvfrom": 12,
	"shutdown": 13, "setsockopt": 14, "getsockopt": 15, "sendmsg": 16, "recvmsg": 17,
	"accept4": 18, "recvmmsg": 19, "sendmmsg": 20,
}

var ipcCalls = map[string]uint32{
	"semop": 1, "semget": 2, "semctl": 3, "semtimedop": 4, "msgsnd": 11, "msgrcv": 12,
	"msgget": 13, "msgctl": 14, "shmat": 21, "shmdt": 22, "shmget": 23, "shmctl": 24,
}

// muxOf returns the multiplexer and call number of name on a, if any.
func (a *archInfo) muxOf(name string) (mux, call uint32, ok bool) {
	if a.audit != unix.AUDIT_ARCH_I386 {
		return 0, 0, false
	}
	if c, ok := socketcalls[name]; ok {
		return sysSocketcallX86, c, true
	}
	if c, ok := ipcCalls[name]; ok {
		return sysIpcX86, c, true
	}
	return 0, 0, false
}

// Operators.
type cmpOp int

const (
	cmpNE cmpOp = iota
	cmpLT
	cmpLE
	cmpEQ
	cmpGE
	cmpGT
	cmpMaskedEQ
)

var ops = map[specs.LinuxSeccompOperator]cmpOp{
	specs.OpNotEqual:     cmpNE,
	specs.OpLessThan:     cmpLT,
	specs.OpLessEqual:    cmpLE,
	specs.OpEqualTo:      cmpEQ,
	specs.OpGreaterEqual: cmpGE,
	specs.OpGreaterThan:  cmpGT,
	specs.OpMaskedEqual:  cmpMaskedEQ,
}

// maxErrno is the largest errno the kernel passes on (MAX_ERRNO).
const maxErrno = 4095

// action maps a spec action and its errnoRet to a SECCOMP_RET_* value.
// errnoRet belongs to ERRNO and TRACE only (for TRACE it is the value the
// tracer sees); both default to EPERM, as in runc.
func action(a specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	if errnoRet != nil && a != specs.ActErrno && a != specs.ActTrace {
		return 0, fmt.Errorf("errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not %s", a)
	}
	code := uint32(unix.EPERM)
	if errnoRet != nil {
		if *errnoRet > maxErrno {
			return 0, fmt.Errorf("errnoRet %d is above the largest errno (%d)", *errnoRet, maxErrno)
		}
		code = uint32(*errnoRet)
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActErrno:
		return unix.SECCOMP_RET_ERRNO | code, nil
	case specs.ActTrace:
		return unix.SECCOMP_RET_TRACE | code, nil
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG, nil
	case specs.ActNotify:
		return unix.SECCOMP_RET_USER_NOTIF, nil
	}
	return 0, fmt.Errorf("unknown action %q", a)
}

// filterFlags are the seccomp(2) flags a profile may ask for.
var filterFlags = map[specs.LinuxSeccompFlag]uint32{
	specs.LinuxSeccompFlagLog:              unix.SECCOMP_FILTER_FLAG_LOG,
	specs.LinuxSeccompFlagSpecAllow:        unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	specs.LinuxSeccompFlagWaitKillableRecv: unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
	"SECCOMP_FILTER_FLAG_TSYNC":            unix.SECCOMP_FILTER_FLAG_TSYNC,
}

// What `slrt features` reports: what this compiler implements.
var (
	// Actions are the actions Compile accepts.
	Actions = []string{
		"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
		"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",
	}
	// Operators are the argument comparisons Compile accepts.
	Operators = []string{
		"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
		"SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE",
	}
)

// Archs returns the architectures Compile accepts on this host, sorted:
// those the kernel can report, whose syscalls are filtered, and those of
// the same byte order a profile may list, which it accepts and ignores.
func Archs() []string {
	var out []string
	for _, a := range archs() {
		out = append(out, string(a.name))
	}
	for a, big := range otherArchs {
		if big == bigEndian && !containsArch(out, a) {
			out = append(out, string(a))
		}
	}
	sort.Strings(out)
	return out
}

func containsArch(list []string, a specs.Arch) bool {
	for _, s := range list {
		if s == string(a) {
			return true
		}
	}
	return false
}

var kernelFlags struct {
	once sync.Once
	ok   map[uint32]bool
}

// kernelHasFlag asks the running kernel, once, whether it knows a flag:
// seccomp(SECCOMP_SET_MODE_FILTER) with a NULL program fails with EFAULT
// once the flags were accepted and with EINVAL when one is unknown, and
// installs nothing either way.
func kernelHasFlag(bit uint32) bool {
	kernelFlags.once.Do(func() {
		kernelFlags.ok = map[uint32]bool{}
		for _, b := range filterFlags {
			probe := uintptr(b)
			if b == unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV {
				probe |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER // only valid with it
			}
			_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, probe, 0)
			kernelFlags.ok[b] = errno == unix.EFAULT
		}
	})
	return kernelFlags.ok[bit]
}

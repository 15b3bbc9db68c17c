package seccomp

import (
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The ENOSYS stub.
//
// A profile lists the syscalls its author knew. A syscall added to the
// kernel later gets the profile's default action, usually EPERM, and libc
// takes EPERM as "forbidden" where it would take ENOSYS as "not there, use
// the old syscall" (clone3 → clone, openat2 → openat, faccessat2 →
// faccessat, ...). So, for a non-permissive default action, a short
// program runs before the filter: on each architecture of the filter, a
// syscall number above the largest one the profile names returns ENOSYS.
// Numbers up to that one still get the profile's verdict, so a profile
// that forbids a syscall keeps forbidding it.
//
// x86_64 and x32 share AUDIT_ARCH_X86_64; x32 numbers carry bit 30
// (__X32_SYSCALL_BIT). Each half is compared with its own largest number,
// and a half the profile does not cover falls through to the filter, whose
// bad-architecture action applies as without the stub.

// x32Bit is __X32_SYSCALL_BIT.
const x32Bit = 0x40000000

// retENOSYS is SECCOMP_RET_ERRNO with ENOSYS.
const retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)

// needsStub says whether unknown syscalls would get something worse than
// ENOSYS. Permissive defaults are left alone (ALLOW, LOG; TRACE because a
// tracer emulating syscalls handles new ones itself, as runc argues), and
// so is a default that already is ENOSYS.
func needsStub(s *specs.LinuxSeccomp) bool {
	switch s.DefaultAction {
	case specs.ActAllow, specs.ActLog, specs.ActTrace:
		return false
	case specs.ActErrno:
		return s.DefaultErrnoRet == nil || *s.DefaultErrnoRet != uint(unix.ENOSYS)
	}
	return true
}

// stubArch is what the stub checks for one AUDIT_ARCH value. For
// AUDIT_ARCH_X86_64, max is the x86_64 half and maxX32 the x32 half
// (bit 30 included); 0 means the half is not in the profile.
type stubArch struct {
	audit  uint32
	max    uint32
	maxX32 uint32
}

// lastSyscalls finds, per architecture of the filter, the largest syscall
// number any rule names (whatever its action: a number the profile names
// is one its author knew). Multiplexed names count with their own number
// (x86's socket is 359), not their multiplexer's.
func lastSyscalls(s *specs.LinuxSeccomp, inFilter []*archInfo) []stubArch {
	var out []stubArch
	for _, a := range inFilter {
		var largest uint32
		for _, rule := range s.Syscalls {
			for _, name := range rule.Names {
				if nr, ok := a.nr(name); ok {
					largest = max(largest, nr)
				}
			}
		}
		if largest == 0 {
			continue
		}
		i := slices.IndexFunc(out, func(x stubArch) bool { return x.audit == a.audit })
		if i < 0 {
			out = append(out, stubArch{audit: a.audit})
			i = len(out) - 1
		}
		if a.nrBase == x32Bit {
			out[i].maxX32 = largest | x32Bit
		} else {
			out[i].max = largest
		}
	}
	return out
}

// insn is an instruction whose jumps name labels; asm resolves them.
type insn struct {
	code   uint16
	k      uint32
	jt, jf string // labels; "" = next instruction
	label  string // this instruction's label
}

const filterLabel = "filter" // the first instruction after the stub

func enosysStub(list []stubArch) []unix.SockFilter {
	if len(list) == 0 {
		return nil
	}
	const (
		ldAbs   = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq     = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jgt     = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
		jset    = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
		ja      = unix.BPF_JMP | unix.BPF_JA
		ret     = unix.BPF_RET | unix.BPF_K
		offNr   = 0 // offsetof(struct seccomp_data, nr)
		offArch = 4 // offsetof(struct seccomp_data, arch)
	)
	prog := []insn{{code: ldAbs, k: offArch}}
	for i, a := range list {
		prog = append(prog, insn{code: jeq, k: a.audit, jt: fmt.Sprint("arch", i)})
	}
	prog = append(prog, insn{code: ja, jt: filterLabel})
	for i, a := range list {
		prog = append(prog, insn{code: ldAbs, k: offNr, label: fmt.Sprint("arch", i)})
		x64, x32 := fmt.Sprint("x64-", i), fmt.Sprint("x32-", i)
		switch {
		case a.maxX32 != 0 && a.max != 0:
			prog = append(prog, insn{code: jset, k: x32Bit, jt: x32, jf: x64})
		case a.maxX32 != 0:
			prog = append(prog, insn{code: jset, k: x32Bit, jt: x32, jf: filterLabel})
		case a.audit == unix.AUDIT_ARCH_X86_64:
			prog = append(prog, insn{code: jset, k: x32Bit, jt: filterLabel, jf: x64})
		}
		if a.max != 0 {
			prog = append(prog, insn{code: jgt, k: a.max, jt: "enosys", jf: filterLabel, label: x64})
		}
		if a.maxX32 != 0 {
			prog = append(prog, insn{code: jgt, k: a.maxX32, jt: "enosys", jf: filterLabel, label: x32})
		}
	}
	prog = append(prog, insn{code: ret, k: retENOSYS, label: "enosys"})
	return asm(prog)
}

// asm resolves labels into relative jumps. The stub is a few dozen
// instructions at most, so every jump fits the 8 bits cBPF gives it.
func asm(prog []insn) []unix.SockFilter {
	at := map[string]int{filterLabel: len(prog)}
	for i, in := range prog {
		if in.label != "" {
			at[in.label] = i
		}
	}
	off := func(pc int, label string) uint32 {
		if label == "" {
			return 0
		}
		t, ok := at[label]
		if !ok || t <= pc || t-pc-1 > 255 {
			panic(fmt.Sprintf("seccomp stub: bad jump from %d to %q", pc, label))
		}
		return uint32(t - pc - 1)
	}
	out := make([]unix.SockFilter, len(prog))
	for pc, in := range prog {
		f := unix.SockFilter{Code: in.code, K: in.k}
		if in.code == unix.BPF_JMP|unix.BPF_JA {
			f.K = off(pc, in.jt)
		} else if in.code&0x07 == unix.BPF_JMP {
			f.Jt, f.Jf = uint8(off(pc, in.jt)), uint8(off(pc, in.jf))
		}
		out[pc] = f
	}
	return out
}

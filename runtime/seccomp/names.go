package seccomp

import (
	"fmt"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// The spelling of runtime-spec's config-linux.md#seccomp, mapped to
// libseccomp's types and to the kernel's constants.

// arch is one SCMP_ARCH_* value: libseccomp's token and the AUDIT_ARCH_*
// value the kernel puts in seccomp_data.arch (0 when the ENOSYS stub does
// not cover it; its syscalls then fall through to the filter unchanged).
type arch struct {
	scmp  libseccomp.ScmpArch
	audit uint32
}

var archs = map[specs.Arch]arch{
	specs.ArchX86:         {libseccomp.ArchX86, unix.AUDIT_ARCH_I386},
	specs.ArchX86_64:      {libseccomp.ArchAMD64, unix.AUDIT_ARCH_X86_64},
	specs.ArchX32:         {libseccomp.ArchX32, unix.AUDIT_ARCH_X86_64},
	specs.ArchARM:         {libseccomp.ArchARM, unix.AUDIT_ARCH_ARM},
	specs.ArchAARCH64:     {libseccomp.ArchARM64, unix.AUDIT_ARCH_AARCH64},
	specs.ArchMIPS:        {libseccomp.ArchMIPS, 0},
	specs.ArchMIPS64:      {libseccomp.ArchMIPS64, 0},
	specs.ArchMIPS64N32:   {libseccomp.ArchMIPS64N32, 0},
	specs.ArchMIPSEL:      {libseccomp.ArchMIPSEL, 0},
	specs.ArchMIPSEL64:    {libseccomp.ArchMIPSEL64, 0},
	specs.ArchMIPSEL64N32: {libseccomp.ArchMIPSEL64N32, 0},
	specs.ArchPPC:         {libseccomp.ArchPPC, 0},
	specs.ArchPPC64:       {libseccomp.ArchPPC64, 0},
	specs.ArchPPC64LE:     {libseccomp.ArchPPC64LE, unix.AUDIT_ARCH_PPC64LE},
	// s390 multiplexes unknown syscall numbers through syscall 0, which a
	// plain "greater than" stub cannot see: no stub there.
	specs.ArchS390:        {libseccomp.ArchS390, 0},
	specs.ArchS390X:       {libseccomp.ArchS390X, 0},
	specs.ArchPARISC:      {libseccomp.ArchPARISC, 0},
	specs.ArchPARISC64:    {libseccomp.ArchPARISC64, 0},
	specs.ArchRISCV64:     {libseccomp.ArchRISCV64, unix.AUDIT_ARCH_RISCV64},
	specs.ArchLOONGARCH64: {libseccomp.ArchLOONGARCH64, 0},
	specs.ArchM68K:        {libseccomp.ArchM68K, 0},
	specs.ArchSH:          {libseccomp.ArchSH, 0},
	specs.ArchSHEB:        {libseccomp.ArchSHEB, 0},
}

// auditArchOf returns the AUDIT_ARCH_* value of a libseccomp arch (0 when
// the stub does not cover it).
func auditArchOf(a libseccomp.ScmpArch) uint32 {
	for _, v := range archs {
		if v.scmp == a {
			return v.audit
		}
	}
	return 0
}

var ops = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual:     libseccomp.CompareNotEqual,
	specs.OpLessThan:     libseccomp.CompareLess,
	specs.OpLessEqual:    libseccomp.CompareLessOrEqual,
	specs.OpEqualTo:      libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual,
	specs.OpGreaterThan:  libseccomp.CompareGreater,
	specs.OpMaskedEqual:  libseccomp.CompareMaskedEqual,
}

// maxErrno is the largest errno the kernel passes on (MAX_ERRNO).
const maxErrno = 4095

// action maps a spec action and its errnoRet. errnoRet belongs to ERRNO
// and TRACE only (for TRACE it is the value the tracer sees); both default
// to EPERM, as in runc.
func action(a specs.LinuxSeccompAction, errnoRet *uint) (libseccomp.ScmpAction, error) {
	if errnoRet != nil && a != specs.ActErrno && a != specs.ActTrace {
		return 0, fmt.Errorf("errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not %s", a)
	}
	code := int16(unix.EPERM)
	if errnoRet != nil {
		if *errnoRet > maxErrno {
			return 0, fmt.Errorf("errnoRet %d is above the largest errno (%d)", *errnoRet, maxErrno)
		}
		code = int16(*errnoRet)
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return libseccomp.ActKillThread, nil
	case specs.ActKillProcess:
		return libseccomp.ActKillProcess, nil
	case specs.ActTrap:
		return libseccomp.ActTrap, nil
	case specs.ActErrno:
		return libseccomp.ActErrno.SetReturnCode(code), nil
	case specs.ActTrace:
		return libseccomp.ActTrace.SetReturnCode(code), nil
	case specs.ActAllow:
		return libseccomp.ActAllow, nil
	case specs.ActLog:
		return libseccomp.ActLog, nil
	case specs.ActNotify:
		return libseccomp.ActNotify, nil
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

//go:build cgo

package seccomp

// The oracle: libseccomp, which compiled slrt's profiles until slrt had
// its own compiler. Only this test file links it (cgo, libseccomp-dev);
// `go list -deps ./cmd/...` shows no binary does.

import (
	"fmt"
	"io"
	"os"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

var scmpArchs = map[specs.Arch]libseccomp.ScmpArch{
	specs.ArchX86: libseccomp.ArchX86, specs.ArchX86_64: libseccomp.ArchAMD64, specs.ArchX32: libseccomp.ArchX32,
	specs.ArchARM: libseccomp.ArchARM, specs.ArchAARCH64: libseccomp.ArchARM64,
	specs.ArchMIPS: libseccomp.ArchMIPS, specs.ArchMIPS64: libseccomp.ArchMIPS64, specs.ArchMIPS64N32: libseccomp.ArchMIPS64N32,
	specs.ArchMIPSEL: libseccomp.ArchMIPSEL, specs.ArchMIPSEL64: libseccomp.ArchMIPSEL64, specs.ArchMIPSEL64N32: libseccomp.ArchMIPSEL64N32,
	specs.ArchPPC: libseccomp.ArchPPC, specs.ArchPPC64: libseccomp.ArchPPC64, specs.ArchPPC64LE: libseccomp.ArchPPC64LE,
	specs.ArchS390: libseccomp.ArchS390, specs.ArchS390X: libseccomp.ArchS390X,
	specs.ArchPARISC: libseccomp.ArchPARISC, specs.ArchPARISC64: libseccomp.ArchPARISC64,
	specs.ArchRISCV64: libseccomp.ArchRISCV64, specs.ArchLOONGARCH64: libseccomp.ArchLOONGARCH64,
	specs.ArchM68K: libseccomp.ArchM68K, specs.ArchSH: libseccomp.ArchSH, specs.ArchSHEB: libseccomp.ArchSHEB,
}

var scmpOps = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual: libseccomp.CompareNotEqual, specs.OpLessThan: libseccomp.CompareLess,
	specs.OpLessEqual: libseccomp.CompareLessOrEqual, specs.OpEqualTo: libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual, specs.OpGreaterThan: libseccomp.CompareGreater,
	specs.OpMaskedEqual: libseccomp.CompareMaskedEqual,
}

func scmpAction(v uint32) libseccomp.ScmpAction {
	switch v & unix.SECCOMP_RET_ACTION_FULL {
	case unix.SECCOMP_RET_KILL_THREAD:
		return libseccomp.ActKillThread
	case unix.SECCOMP_RET_KILL_PROCESS:
		return libseccomp.ActKillProcess
	case unix.SECCOMP_RET_TRAP:
		return libseccomp.ActTrap
	case unix.SECCOMP_RET_ERRNO:
		return libseccomp.ActErrno.SetReturnCode(int16(v & unix.SECCOMP_RET_DATA))
	case unix.SECCOMP_RET_TRACE:
		return libseccomp.ActTrace.SetReturnCode(int16(v & unix.SECCOMP_RET_DATA))
	case unix.SECCOMP_RET_LOG:
		return libseccomp.ActLog
	case unix.SECCOMP_RET_USER_NOTIF:
		return libseccomp.ActNotify
	}
	return libseccomp.ActAllow
}

// compileLibseccomp is what compile did with libseccomp (its filter, no
// stub): the same checks, then libseccomp's rules and BPF.
func compileLibseccomp(s *specs.LinuxSeccomp) ([]unix.SockFilter, error) {
	if s.DefaultAction == specs.ActNotify {
		return nil, fmt.Errorf("defaultAction notify")
	}
	defV, err := action(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	defAct := scmpAction(defV)
	filter, err := libseccomp.NewFilter(defAct)
	if err != nil {
		return nil, err
	}
	defer filter.Release()
	if len(s.Syscalls) > 8 {
		_ = filter.SetOptimize(2)
	}
	native, err := libseccomp.GetNativeArch()
	if err != nil {
		return nil, err
	}
	inFilter := []libseccomp.ScmpArch{native}
	for i, name := range s.Architectures {
		a, ok := scmpArchs[name]
		if !ok {
			return nil, fmt.Errorf("architectures[%d]: unknown %q", i, name)
		}
		if slices.Contains(inFilter, a) {
			continue
		}
		if err := filter.AddArch(a); err != nil {
			return nil, fmt.Errorf("architectures[%d]: %w", i, err)
		}
		inFilter = append(inFilter, a)
	}
	for i, fl := range s.Flags {
		bit, ok := filterFlags[fl]
		if !ok || !kernelHasFlag(bit) {
			return nil, fmt.Errorf("flags[%d]", i)
		}
	}
	for i, rule := range s.Syscalls {
		v, err := action(rule.Action, rule.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("syscalls[%d]: %w", i, err)
		}
		if rule.Action == specs.ActNotify {
			for _, n := range rule.Names {
				if slices.Contains(syscallsRuntimeUses, n) {
					return nil, fmt.Errorf("syscalls[%d]: notify %s", i, n)
				}
			}
			if s.ListenerPath == "" {
				return nil, fmt.Errorf("syscalls[%d]: notify without listener", i)
			}
		}
		act := scmpAction(v)
		var conds []libseccomp.ScmpCondition
		for j, a := range rule.Args {
			op, ok := scmpOps[a.Op]
			if !ok || a.Index > 5 {
				return nil, fmt.Errorf("syscalls[%d].args[%d]", i, j)
			}
			vals := []uint64{a.Value}
			if op == libseccomp.CompareMaskedEqual {
				vals = append(vals, a.ValueTwo)
			}
			c, err := libseccomp.MakeCondition(a.Index, op, vals...)
			if err != nil {
				return nil, fmt.Errorf("syscalls[%d].args[%d]: %w", i, j, err)
			}
			conds = append(conds, c)
		}
		for _, name := range rule.Names {
			nr, err := libseccomp.GetSyscallFromName(name)
			if err != nil || act == defAct {
				continue
			}
			if err := scmpAddRule(filter, nr, act, conds); err != nil {
				return nil, fmt.Errorf("syscalls[%d]: %s: %w", i, name, err)
			}
		}
	}
	fd, err := unix.MemfdCreate("seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	file := os.NewFile(uintptr(fd), "seccomp-bpf")
	defer file.Close()
	if err := filter.ExportBPF(file); err != nil {
		return nil, err
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(file)
	if err != nil {
		return nil, err
	}
	return decode(raw)
}

// scmpAddRule: all conditions ANDed, unless two name the same argument;
// then each is a rule of its own (ORed).
func scmpAddRule(f *libseccomp.ScmpFilter, nr libseccomp.ScmpSyscall, act libseccomp.ScmpAction, conds []libseccomp.ScmpCondition) error {
	if len(conds) == 0 {
		return f.AddRule(nr, act)
	}
	seen := map[uint]bool{}
	repeated := false
	for _, c := range conds {
		repeated = repeated || seen[c.Argument]
		seen[c.Argument] = true
	}
	if !repeated {
		return f.AddRuleConditional(nr, act, conds)
	}
	for _, c := range conds {
		if err := f.AddRuleConditional(nr, act, []libseccomp.ScmpCondition{c}); err != nil {
			return err
		}
	}
	return nil
}

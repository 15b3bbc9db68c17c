// Package seccomp turns a runtime-spec seccomp profile (linux.seccomp) into
// a classic-BPF program that slrt-init loads with seccomp(2) right before
// execve (package seccomp/loader, which stays free of cgo).
//
// Compiling needs libseccomp (cgo) and costs 3–4 ms per architecture for a
// 350-syscall profile, so programs are cached by the profile's content: a
// shim creating many containers from the same profile compiles it once.
// Only callers whose spec has linux.seccomp reach this package's code.
//
// Spec: https://github.com/opencontainers/runtime-spec/blob/main/config-linux.md#seccomp
package seccomp

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Program is a compiled profile. It is shared between callers through the
// cache: treat it as read-only.
type Program struct {
	// BPF is the struct sock_filter array in host byte order, the ENOSYS
	// stub first.
	BPF []byte
	// Flags are the seccomp(2) flags to load it with, including
	// SECCOMP_FILTER_FLAG_NEW_LISTENER when a rule notifies.
	Flags uint32
	// Notify is true when a rule uses SCMP_ACT_NOTIFY: the notify fd goes
	// to the listener at linux.seccomp.listenerPath.
	Notify bool
	// Warnings name what was skipped (syscalls libseccomp does not know),
	// for the engine's log.
	Warnings []string
	// StubLen is the number of instructions of the ENOSYS stub (0: none).
	StubLen int
}

// maxInsns is the kernel's BPF_MAXINSNS.
const maxInsns = 4096

// cacheSize bounds the cache; a node runs few distinct profiles.
const cacheSize = 64

var cache struct {
	sync.Mutex
	m map[[32]byte]*Program
}

// Compile compiles s, or returns the cached program of an identical
// profile. Errors name the field at fault (linux.seccomp.…).
func Compile(s *specs.LinuxSeccomp) (*Program, error) {
	key, err := hashOf(s)
	if err != nil {
		return nil, err
	}
	cache.Lock()
	p := cache.m[key]
	cache.Unlock()
	if p != nil {
		return p, nil
	}
	if p, err = compile(s); err != nil {
		return nil, err
	}
	cache.Lock()
	if cache.m == nil {
		cache.m = map[[32]byte]*Program{}
	}
	if len(cache.m) >= cacheSize {
		for k := range cache.m { // drop any one
			delete(cache.m, k)
			break
		}
	}
	cache.m[key] = p
	cache.Unlock()
	return p, nil
}

func hashOf(s *specs.LinuxSeccomp) ([32]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return [32]byte{}, fmt.Errorf("linux.seccomp: %w", err)
	}
	return sha256.Sum256(b), nil
}

// syscallsRuntimeUses are those slrt-init itself makes after the filter is
// loaded and before the workload runs (the listener's sendmsg, the error
// report to the parent): notifying on them would wait for a listener that
// has not been given the notify fd yet.
var syscallsRuntimeUses = []string{"write", "sendmsg"}

func compile(s *specs.LinuxSeccomp) (*Program, error) {
	if s.DefaultAction == specs.ActNotify {
		return nil, fmt.Errorf("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY would trap the runtime's own syscalls before the listener has the notify fd")
	}
	defAct, err := action(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp.defaultAction: %w", err)
	}
	filter, err := libseccomp.NewFilter(defAct)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: create filter: %w", err)
	}
	defer filter.Release()
	if len(s.Syscalls) > 8 {
		// A binary tree of syscall numbers instead of a linear list:
		// fewer instructions run per syscall. Best effort.
		_ = filter.SetOptimize(2)
	}

	native, err := libseccomp.GetNativeArch()
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: native architecture: %w", err)
	}
	inFilter := []libseccomp.ScmpArch{native}
	for i, name := range s.Architectures {
		a, ok := archs[name]
		if !ok {
			return nil, fmt.Errorf("linux.seccomp.architectures[%d]: unknown architecture %q", i, name)
		}
		if slices.Contains(inFilter, a.scmp) {
			continue
		}
		if err := filter.AddArch(a.scmp); err != nil {
			return nil, fmt.Errorf("linux.seccomp.architectures[%d]: %s: %w", i, name, err)
		}
		inFilter = append(inFilter, a.scmp)
	}

	p := &Program{}
	for i, fl := range s.Flags {
		bit, ok := filterFlags[fl]
		if !ok {
			return nil, fmt.Errorf("linux.seccomp.flags[%d]: unknown flag %q", i, fl)
		}
		if !kernelHasFlag(bit) {
			return nil, fmt.Errorf("linux.seccomp.flags[%d]: %s is not supported by this kernel", i, fl)
		}
		p.Flags |= bit
	}

	for i, rule := range s.Syscalls {
		field := fmt.Sprintf("linux.seccomp.syscalls[%d]", i)
		act, err := action(rule.Action, rule.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("%s.action: %w", field, err)
		}
		if rule.Action == specs.ActNotify {
			for _, n := range rule.Names {
				if slices.Contains(syscallsRuntimeUses, n) {
					return nil, fmt.Errorf("%s: SCMP_ACT_NOTIFY on %q would deadlock the runtime, which uses it after loading the filter", field, n)
				}
			}
			if s.ListenerPath == "" {
				return nil, fmt.Errorf("%s: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath", field)
			}
			p.Notify = true
		}
		conds, err := conditions(rule.Args)
		if err != nil {
			return nil, fmt.Errorf("%s.args: %w", field, err)
		}
		for _, name := range rule.Names {
			nr, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s: unknown syscall %q skipped", field, name))
				continue
			}
			if act == defAct {
				continue // libseccomp refuses rules that repeat the default
			}
			if err := addRule(filter, nr, act, conds); err != nil {
				return nil, fmt.Errorf("%s: syscall %q: %w", field, name, err)
			}
		}
	}
	if p.Notify {
		p.Flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	} else {
		// Without a listener the kernel rejects the flag; it has no
		// meaning then.
		p.Flags &^= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
	}

	insns, err := export(filter)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: %w", err)
	}
	if needsStub(s) {
		stub := enosysStub(lastSyscalls(s, inFilter))
		p.StubLen = len(stub)
		insns = append(stub, insns...)
	}
	if len(insns) > maxInsns {
		return nil, fmt.Errorf("linux.seccomp: the filter has %d instructions, more than the kernel's %d", len(insns), maxInsns)
	}
	p.BPF = encode(insns)
	return p, nil
}

// conditions converts a rule's args (checked here; addRule decides how
// they combine).
func conditions(args []specs.LinuxSeccompArg) ([]libseccomp.ScmpCondition, error) {
	var out []libseccomp.ScmpCondition
	for j, a := range args {
		op, ok := ops[a.Op]
		if !ok {
			return nil, fmt.Errorf("[%d]: unknown operator %q", j, a.Op)
		}
		if a.Index > 5 {
			return nil, fmt.Errorf("[%d]: index %d: syscalls have 6 arguments", j, a.Index)
		}
		vals := []uint64{a.Value}
		if op == libseccomp.CompareMaskedEqual {
			// libseccomp takes (mask, value); the spec has value
			// (the mask) and valueTwo (what the masked arg equals).
			vals = append(vals, a.ValueTwo)
		}
		c, err := libseccomp.MakeCondition(a.Index, op, vals...)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", j, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// addRule adds one syscall's rule: all conditions ANDed, unless two name
// the same argument, in which case each becomes a rule of its own (ORed).
func addRule(f *libseccomp.ScmpFilter, nr libseccomp.ScmpSyscall, act libseccomp.ScmpAction, conds []libseccomp.ScmpCondition) error {
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

// export writes the filter's BPF to a memfd (libseccomp 2.5 has no
// export-to-memory; a memfd needs no reader goroutine, unlike a pipe) and
// reads it back as instructions.
func export(f *libseccomp.ScmpFilter) ([]unix.SockFilter, error) {
	fd, err := unix.MemfdCreate("seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("export filter: memfd_create: %w", err)
	}
	file := os.NewFile(uintptr(fd), "seccomp-bpf")
	defer file.Close()
	if err := f.ExportBPF(file); err != nil {
		return nil, fmt.Errorf("export filter: %w", err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("export filter: %w", err)
	}
	raw, err := io.ReadAll(file)
	if err != nil {
		return nil, fmt.Errorf("export filter: %w", err)
	}
	return decode(raw)
}

const insnSize = 8 // sizeof(struct sock_filter)

func decode(raw []byte) ([]unix.SockFilter, error) {
	if len(raw) == 0 || len(raw)%insnSize != 0 {
		return nil, fmt.Errorf("BPF program of %d bytes is not a whole number of instructions", len(raw))
	}
	out := make([]unix.SockFilter, len(raw)/insnSize)
	for i := range out {
		b := raw[i*insnSize:]
		out[i] = unix.SockFilter{
			Code: binary.NativeEndian.Uint16(b[0:]),
			Jt:   b[2],
			Jf:   b[3],
			K:    binary.NativeEndian.Uint32(b[4:]),
		}
	}
	return out, nil
}

func encode(insns []unix.SockFilter) []byte {
	out := make([]byte, len(insns)*insnSize)
	for i, in := range insns {
		b := out[i*insnSize:]
		binary.NativeEndian.PutUint16(b[0:], in.Code)
		b[2], b[3] = in.Jt, in.Jf
		binary.NativeEndian.PutUint32(b[4:], in.K)
	}
	return out
}

// Package seccomp turns a runtime-spec seccomp profile (linux.seccomp) into
// a classic-BPF program that slrt-init loads with seccomp(2) right before
// execve (package seccomp/loader).
//
// The compiler is slrt's own, in Go. DESIGN decision 5 first chose
// libseccomp; it cost the binaries a static cgo link with glibc and
// libseccomp.a (~1 MB each, glibc's start-up on every CLI call, and
// libseccomp-dev on every build machine) for a job that is small once the
// syscall tables are data: match the architecture, dispatch on the syscall
// number, compare 64-bit arguments as 32-bit halves, return an action.
// Its verdicts are checked against libseccomp's, syscall by syscall, in
// the tests (libseccomp_test.go), which are the only code linking it.
//
// Programs are cached by the profile's content: a shim creating many
// containers from the same profile compiles it once. Only callers whose
// spec has linux.seccomp reach this package's code.
//
// Spec: https://github.com/opencontainers/runtime-spec/blob/main/config-linux.md#seccomp
package seccomp

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
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
	// Warnings name what was skipped (syscalls no architecture of the
	// host knows), for the engine's log.
	Warnings []string
	// StubLen is the number of instructions of the ENOSYS stub (0: none).
	StubLen int
}

// maxInsns is the kernel's BPF_MAXINSNS.
const maxInsns = 4096

// badArchAction is what a syscall of an architecture the profile does not
// list gets: SCMP_ACT_KILL_THREAD, libseccomp's default, which runc and
// crun keep too.
const badArchAction = unix.SECCOMP_RET_KILL_THREAD

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

// cond is one argument comparison. For SCMP_CMP_MASKED_EQ, mask is the
// spec's value and val its valueTwo; otherwise mask is all ones.
type cond struct {
	arg       uint
	op        cmpOp
	mask, val uint64
}

// entry is one rule for one syscall number: its action when all conds
// hold (none: always).
type entry struct {
	act   uint32
	conds []cond
}

func compile(s *specs.LinuxSeccomp) (*Program, error) {
	p, f, err := parse(s)
	if err != nil {
		return nil, err
	}
	filter, err := assemble(generate(f.inFilter, f.rules, f.defAct))
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: %w", err)
	}
	var insns []unix.SockFilter
	if needsStub(s) {
		insns = enosysStub(lastSyscalls(s, f.inFilter))
		p.StubLen = len(insns)
	}
	insns = append(insns, filter...)
	if len(insns) > maxInsns {
		return nil, fmt.Errorf("linux.seccomp: the filter has %d instructions, more than the kernel's %d", len(insns), maxInsns)
	}
	p.BPF = encode(insns)
	return p, nil
}

// parsed is a checked profile: the architectures of the filter and, for
// each, the rules of each syscall number, in profile order.
type parsed struct {
	inFilter []*archInfo
	rules    []map[uint32][]entry
	defAct   uint32
}

func parse(s *specs.LinuxSeccomp) (*Program, *parsed, error) {
	if s.DefaultAction == specs.ActNotify {
		return nil, nil, fmt.Errorf("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY would trap the runtime's own syscalls before the listener has the notify fd")
	}
	defAct, err := action(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, nil, fmt.Errorf("linux.seccomp.defaultAction: %w", err)
	}
	all := archs()
	if len(all) == 0 || all[0].table == nil {
		return nil, nil, fmt.Errorf("linux.seccomp: slrt has no syscall table for %s", runtime.GOARCH)
	}
	// The native architecture is always in the filter, as libseccomp
	// does: a profile listing only compat ABIs still filters the native
	// one.
	inFilter := []*archInfo{&all[0]}
	for i, name := range s.Architectures {
		a, err := lookupArch(name)
		if err != nil {
			return nil, nil, fmt.Errorf("linux.seccomp.architectures[%d]: %w", i, err)
		}
		if a != nil && !slices.Contains(inFilter, a) {
			inFilter = append(inFilter, a)
		}
	}

	p := &Program{}
	for i, fl := range s.Flags {
		bit, ok := filterFlags[fl]
		if !ok {
			return nil, nil, fmt.Errorf("linux.seccomp.flags[%d]: unknown flag %q", i, fl)
		}
		if !kernelHasFlag(bit) {
			return nil, nil, fmt.Errorf("linux.seccomp.flags[%d]: %s is not supported by this kernel", i, fl)
		}
		p.Flags |= bit
	}

	// rules[arch][nr]: the entries of each syscall, in profile order.
	rules := make([]map[uint32][]entry, len(inFilter))
	for i := range rules {
		rules[i] = map[uint32][]entry{}
	}
	for i, rule := range s.Syscalls {
		field := fmt.Sprintf("linux.seccomp.syscalls[%d]", i)
		act, err := action(rule.Action, rule.ErrnoRet)
		if err != nil {
			return nil, nil, fmt.Errorf("%s.action: %w", field, err)
		}
		if rule.Action == specs.ActNotify {
			for _, n := range rule.Names {
				if slices.Contains(syscallsRuntimeUses, n) {
					return nil, nil, fmt.Errorf("%s: SCMP_ACT_NOTIFY on %q would deadlock the runtime, which uses it after loading the filter", field, n)
				}
			}
			if s.ListenerPath == "" {
				return nil, nil, fmt.Errorf("%s: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath", field)
			}
			p.Notify = true
		}
		sets, err := conditions(rule.Args)
		if err != nil {
			return nil, nil, fmt.Errorf("%s.args: %w", field, err)
		}
		for _, name := range rule.Names {
			if !knownName(name) {
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s: unknown syscall %q skipped", field, name))
				continue
			}
			if act == defAct {
				continue // changes nothing (and libseccomp refused it)
			}
			for ai, a := range inFilter {
				for _, conds := range sets {
					if nr, ok := a.nr(name); ok {
						rules[ai][nr] = append(rules[ai][nr], entry{act, conds})
					}
					if mux, call, ok := a.muxOf(name); ok {
						mc := []cond{{arg: 0, op: cmpEQ, mask: ^uint64(0), val: uint64(call)}}
						for _, c := range conds {
							if c.arg != 0 {
								mc = append(mc, c)
							}
						}
						rules[ai][mux] = append(rules[ai][mux], entry{act, mc})
					}
				}
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

	return p, &parsed{inFilter, rules, defAct}, nil
}

// conditions checks a rule's args and returns the condition sets the rule
// stands for: one set, all ANDed, unless two conditions name the same
// argument; then each condition is a set of its own (ORed), as runc has
// always done (libseccomp cannot AND two comparisons of one argument).
func conditions(args []specs.LinuxSeccompArg) ([][]cond, error) {
	var out []cond
	seen := map[uint]bool{}
	repeated := false
	for j, a := range args {
		op, ok := ops[a.Op]
		if !ok {
			return nil, fmt.Errorf("[%d]: unknown operator %q", j, a.Op)
		}
		if a.Index > 5 {
			return nil, fmt.Errorf("[%d]: index %d: syscalls have 6 arguments", j, a.Index)
		}
		c := cond{arg: a.Index, op: op, mask: ^uint64(0), val: a.Value}
		if op == cmpMaskedEQ {
			// Bits of valueTwo outside the mask are dropped, as
			// libseccomp (so runc and crun) does: the rule then
			// matches what its author meant instead of never.
			c.mask, c.val = a.Value, a.ValueTwo&a.Value
		}
		repeated = repeated || seen[a.Index]
		seen[a.Index] = true
		out = append(out, c)
	}
	// A masked compare with an empty mask always holds: libseccomp
	// drops it, which makes the rule unconditional (and so decisive, see
	// gen.go); slrt does the same.
	noop := func(c cond) bool { return c.op == cmpMaskedEQ && c.mask == 0 }
	if !repeated {
		return [][]cond{slices.DeleteFunc(out, noop)}, nil
	}
	sets := make([][]cond, len(out))
	for i, c := range out {
		if !noop(c) {
			sets[i] = []cond{c}
		}
	}
	return sets, nil
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

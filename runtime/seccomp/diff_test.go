//go:build cgo

package seccomp

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The differential test: every profile is compiled by compile and by
// libseccomp (compileLibseccomp), and both programs must give the same
// verdict for every syscall number of every architecture the kernel can
// report here (0 to the largest known + 10, x32's numbers, numbers no ABI
// uses) and an architecture none of them is, under argument vectors that
// sit on each comparison's boundaries. The ENOSYS stub is slrt's in both:
// it is prepended to libseccomp's filter.

// oracleArchs are the audit values to try: the host's, and one it never
// reports (the filter's bad-architecture action).
func oracleArchs() []uint32 {
	out := []uint32{unix.AUDIT_ARCH_S390X}
	for _, a := range archs() {
		if !slices.Contains(out, a.audit) {
			out = append(out, a.audit)
		}
	}
	return out
}

// oracleNrs are the syscall numbers to try on one audit arch.
func oracleNrs(audit uint32) []uint32 {
	var top uint32
	for _, a := range archs() {
		if a.audit != audit || a.table == nil {
			continue
		}
		for n := range names() {
			if nr, ok := a.nr(n); ok && nr&^x32Bit < 0xf0000 {
				top = max(top, nr&^x32Bit)
			}
		}
	}
	var out []uint32
	for nr := uint32(0); nr <= top+10; nr++ {
		out = append(out, nr)
		if audit == unix.AUDIT_ARCH_X86_64 {
			out = append(out, nr|x32Bit)
		}
	}
	if audit == unix.AUDIT_ARCH_ARM {
		for nr := uint32(0xf0000); nr < 0xf0010; nr++ {
			out = append(out, nr)
		}
	}
	return append(out, x32Bit-1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff)
}

// argVectors returns argument vectors around every value the profile
// compares with: each value, ±1, with the other 32-bit half changed, its
// masked forms; mixed between arguments at random (fixed seed), plus all
// zeros and all ones.
func argVectors(s *specs.LinuxSeccomp, n int) [][6]uint64 {
	var cands [6][]uint64
	for i := range cands {
		cands[i] = []uint64{0, ^uint64(0)}
	}
	for _, r := range s.Syscalls {
		for _, a := range r.Args {
			if a.Index > 5 {
				continue
			}
			for _, v := range []uint64{a.Value, a.ValueTwo, a.Value & a.ValueTwo} {
				cands[a.Index] = append(cands[a.Index], v, v+1, v-1, v^1<<32, v+1<<32, v-1<<32, v&0xffffffff, v|0xffffffff00000000, v>>32)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	out := [][6]uint64{{}, {^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}}
	for range n {
		var v [6]uint64
		for i := range v {
			v[i] = cands[i][rng.IntN(len(cands[i]))]
		}
		out = append(out, v)
	}
	// every candidate of each argument at least once, the others zero
	for i := range cands {
		for _, c := range cands[i] {
			var v [6]uint64
			v[i] = c
			out = append(out, v)
		}
	}
	return out
}

// ambiguous says whether the profile has, for one syscall, two
// conditional rules with different actions before its first
// unconditional rule (if any): libseccomp then orders or refuses
// (EEXIST) them its own way, slrt tries them in profile order, so the
// outcomes may differ by design. Conditional rules after an unconditional
// one are dropped by both.
func ambiguous(s *specs.LinuxSeccomp) bool {
	defAct, err := action(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return false
	}
	type seen struct {
		uncond bool
		acts   map[uint32]bool
	}
	m := map[string]*seen{}
	add := func(name string, act uint32, cond bool) {
		e := m[name]
		if e == nil {
			e = &seen{acts: map[uint32]bool{}}
			m[name] = e
		}
		switch {
		case e.uncond:
		case cond:
			e.acts[act] = true
		default:
			e.uncond = true
		}
	}
	for _, r := range s.Syscalls {
		act, err := action(r.Action, r.ErrnoRet)
		if err != nil || act == defAct {
			continue
		}
		for _, n := range r.Names {
			add(n, act, len(r.Args) > 0)
			// x86 repeats socket and IPC rules on their multiplexer,
			// with a condition.
			if _, ok := socketcalls[n]; ok {
				add("socketcall", act, true)
			}
			if _, ok := ipcCalls[n]; ok {
				add("ipc", act, true)
			}
		}
	}
	for _, e := range m {
		if len(e.acts) > 1 {
			return true
		}
	}
	return false
}

// differ compiles s both ways and returns the first disagreement ("" for
// none). ok is false when both refused it. With tolerate, a verdict where
// libseccomp departs from the profile (model) and slrt does not is only
// logged.
func differ(t testing.TB, s *specs.LinuxSeccomp, vectors int, tolerate bool) (msg string, ok bool) {
	t.Helper()
	ours, err := compile(s)
	theirs, lerr := compileLibseccomp(s)
	if err != nil || lerr != nil {
		if (err == nil) != (lerr == nil) {
			return "slrt: " + errString(err) + "; libseccomp: " + errString(lerr), true
		}
		return "", false
	}
	prog, err := decode(ours.BPF)
	if err != nil {
		t.Fatal(err)
	}
	_, f, err := parse(s)
	if err != nil {
		t.Fatal(err)
	}
	oracle := append(slices.Clip(prog[:ours.StubLen]), theirs...)
	vecs := argVectors(s, vectors)
	for _, audit := range oracleArchs() {
		for _, nr := range oracleNrs(audit) {
			for _, args := range vecs {
				d := seccompData{nr: int32(nr), arch: audit, args: args}
				got, err := runBPF(prog, d)
				if err != nil {
					t.Fatalf("slrt's program: %v", err)
				}
				want, err := runBPF(oracle, d)
				if err != nil {
					t.Fatalf("libseccomp's program: %v", err)
				}
				if got != want {
					m := model(f, prog[:ours.StubLen], d)
					if m == got && tolerate {
						// libseccomp's own bugs (its merged
						// trees of 64-bit range compares):
						// slrt's verdict is the profile's.
						t.Logf("libseccomp disagrees with the profile: arch %#x nr %#x args %#x: slrt and profile %#x, libseccomp %#x", audit, nr, args, got, want)
						continue
					}
					return sprintf("arch %#x nr %#x args %#x: slrt %#x, libseccomp %#x, profile %#x", audit, nr, args, got, want, m), true
				}
			}
		}
	}
	return "", true
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func TestDifferential(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the synthetic profiles use x86_64 names and numbers")
	}
	eperm := uptr(uint(unix.EPERM))
	rule := func(act specs.LinuxSeccompAction, names []string, args ...specs.LinuxSeccompArg) specs.LinuxSyscall {
		return specs.LinuxSyscall{Names: names, Action: act, Args: args}
	}
	arg := func(i uint, op specs.LinuxSeccompOperator, v, v2 uint64) specs.LinuxSeccompArg {
		return specs.LinuxSeccompArg{Index: i, Op: op, Value: v, ValueTwo: v2}
	}
	allArchs := []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	type tc struct {
		name string
		s    *specs.LinuxSeccomp
	}
	cases := []tc{
		{"testdata/default.json", loadProfile(t, "testdata/default.json")},
		{"testdata/containerd-default.json (containerd 1.7 DefaultProfile)", loadProfile(t, "testdata/containerd-default.json")},
	}
	for _, archs := range [][]specs.Arch{nil, {specs.ArchX86}, {specs.ArchX32}, {specs.ArchAARCH64, specs.ArchARM}, {specs.ArchMIPSEL, specs.ArchPPC64LE, specs.ArchRISCV64}} {
		s := loadProfile(t, "testdata/containerd-default.json")
		s.Architectures = archs
		cases = append(cases, tc{sprintf("containerd default on %v", archs), s})
	}
	// Each operator on values around the 32-bit boundary, on a 64-bit
	// and the 32-bit ABIs.
	values := []uint64{0, 1, 5, 0x7fffffff, 0xffffffff, 1 << 32, 1<<32 | 5, 0xffffffff00000000, ^uint64(0)}
	for op := range ops {
		for _, v := range values {
			a := arg(1, op, v, v&0xff00ff)
			if op == specs.OpMaskedEqual {
				a = arg(1, op, v, v&0xf0000000f)
			}
			cases = append(cases, tc{sprintf("%s %#x", op, v), &specs.LinuxSeccomp{
				DefaultAction: specs.ActErrno, Architectures: allArchs,
				Syscalls: []specs.LinuxSyscall{
					rule(specs.ActAllow, []string{"read", "getpid", "socket", "_llseek"}, a),
					rule(specs.ActAllow, []string{"write", "exit_group"}),
				},
			}})
		}
	}
	acts := []specs.LinuxSeccompAction{specs.ActKill, specs.ActKillThread, specs.ActKillProcess, specs.ActTrap, specs.ActErrno, specs.ActTrace, specs.ActAllow, specs.ActLog, specs.ActNotify}
	for _, def := range acts {
		if def == specs.ActNotify {
			continue
		}
		for _, act := range acts {
			var errno *uint
			if act == specs.ActErrno || act == specs.ActTrace {
				errno = uptr(uint(unix.EEXIST))
			}
			cases = append(cases, tc{sprintf("default %s, rule %s", def, act), &specs.LinuxSeccomp{
				DefaultAction: def, ListenerPath: "/x", Architectures: allArchs,
				Syscalls: []specs.LinuxSyscall{
					{Names: []string{"mkdir", "mkdirat", "cacheflush"}, Action: act, ErrnoRet: errno},
					rule(act, []string{"personality"}, arg(0, specs.OpEqualTo, 8, 0)),
					rule(specs.ActAllow, []string{"getpid"}),
				},
			}})
		}
	}
	cases = append(cases,
		tc{"several args ANDed, several rules ORed", &specs.LinuxSeccomp{
			DefaultAction: specs.ActErrno, DefaultErrnoRet: uptr(38), Architectures: allArchs,
			Syscalls: []specs.LinuxSyscall{
				rule(specs.ActAllow, []string{"mmap", "mmap2"}, arg(2, specs.OpMaskedEqual, 4, 0), arg(3, specs.OpLessThan, 1<<33, 0), arg(5, specs.OpNotEqual, 7, 0)),
				rule(specs.ActAllow, []string{"mmap", "mmap2"}, arg(0, specs.OpGreaterEqual, 0x1_0000_0000, 0), arg(1, specs.OpLessEqual, 4096, 0)),
				rule(specs.ActAllow, []string{"personality"}, arg(0, specs.OpEqualTo, 0, 0), arg(0, specs.OpEqualTo, 8, 0), arg(0, specs.OpEqualTo, 0x20008, 0)),
			},
		}},
		tc{"unconditional wins over conditional, first unconditional wins", &specs.LinuxSeccomp{
			DefaultAction: specs.ActErrno, Architectures: allArchs,
			Syscalls: []specs.LinuxSyscall{
				rule(specs.ActLog, []string{"read"}, arg(0, specs.OpEqualTo, 1, 0)),
				rule(specs.ActAllow, []string{"read", "write"}),
				rule(specs.ActTrap, []string{"read"}),
				rule(specs.ActLog, []string{"write"}, arg(0, specs.OpEqualTo, 1, 0)),
			},
		}},
		tc{"x86 socket and IPC calls without socketcall or ipc", &specs.LinuxSeccomp{
			DefaultAction: specs.ActErrno, Architectures: allArchs,
			Syscalls: []specs.LinuxSyscall{
				rule(specs.ActAllow, []string{"socket", "accept", "recv", "recvmmsg", "semop", "shmat", "msgrcv"}),
				rule(specs.ActAllow, []string{"connect"}, arg(0, specs.OpEqualTo, 3, 0), arg(2, specs.OpGreaterThan, 16, 0)),
			},
		}},
		tc{"x86 socketcall listed too", &specs.LinuxSeccomp{
			DefaultAction: specs.ActErrno, Architectures: allArchs,
			Syscalls: []specs.LinuxSyscall{
				rule(specs.ActLog, []string{"socket", "semget"}),
				{Names: []string{"socketcall", "ipc"}, Action: specs.ActErrno, ErrnoRet: uptr(5)},
			},
		}},
		tc{"x32 only", &specs.LinuxSeccomp{
			DefaultAction: specs.ActKillProcess, Architectures: []specs.Arch{specs.ArchX32},
			Syscalls: []specs.LinuxSyscall{rule(specs.ActAllow, []string{"read", "execveat", "getpid"})},
		}},
		tc{"x86 only, 64-bit values on a 32-bit ABI", &specs.LinuxSeccomp{
			DefaultAction: specs.ActTrap, Architectures: []specs.Arch{specs.ArchX86},
			Syscalls: []specs.LinuxSyscall{
				rule(specs.ActAllow, []string{"read"}, arg(0, specs.OpEqualTo, 1<<32|3, 0)),
				rule(specs.ActAllow, []string{"write"}, arg(0, specs.OpGreaterThan, 1<<32, 0)),
			},
		}},
		tc{"rules equal to the default, unknown names", &specs.LinuxSeccomp{
			DefaultAction: specs.ActErrno, DefaultErrnoRet: eperm,
			Syscalls: []specs.LinuxSyscall{
				rule(specs.ActErrno, []string{"read"}),
				rule(specs.ActAllow, []string{"read", "no_such_syscall", "statmount"}),
			},
		}},
		tc{"200 syscalls with conditions: jumps through trampolines", bigProfile(200)},
		tc{"empty", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}},
		tc{"big-endian arch refused", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchS390X}}},
		tc{"unknown arch refused", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_VAX"}}},
		tc{"arch libseccomp 2.5 lacks refused", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchLOONGARCH64}}},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if ambiguous(c.s) {
				t.Fatal("the profile is ambiguous: fix the test")
			}
			if msg, _ := differ(t, c.s, 48, false); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func sprintf(f string, a ...any) string { return fmt.Sprintf(f, a...) }

// FuzzDifferential builds a profile from the fuzzer's bytes (names from
// a pool with x86 multiplexed calls and x86-only names, every action and
// operator, values around the 32-bit boundary, one to three ABIs) and
// requires compile and libseccomp to both refuse it or to agree on every
// verdict. Profiles whose verdicts are left to each compiler's rule order
// (ambiguous) are skipped.
func FuzzDifferential(f *testing.F) {
	for _, seed := range []string{"", "\x01\x02\x03\x04\x05\x06\x07\x08", "\xff\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0", "socket semop mmap personality"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := profileFrom(b)
		if ambiguous(s) {
			return
		}
		if msg, _ := differ(t, s, 16, true); msg != "" {
			j, _ := json.Marshal(s)
			t.Fatalf("%s\nprofile: %s", msg, j)
		}
	})
}

func profileFrom(b []byte) *specs.LinuxSeccomp {
	next := func() int {
		if len(b) == 0 {
			return 0
		}
		v := int(b[0])
		b = b[1:]
		return v
	}
	pool := []string{"read", "write", "getpid", "mmap", "mmap2", "personality", "socket", "socketcall", "accept",
		"recv", "semop", "ipc", "shmat", "_llseek", "execveat", "clone", "clone3", "kill", "no_such_syscall", "cacheflush"}
	acts := []specs.LinuxSeccompAction{specs.ActAllow, specs.ActErrno, specs.ActKill, specs.ActKillProcess, specs.ActTrap, specs.ActTrace, specs.ActLog, specs.ActNotify}
	opList := []specs.LinuxSeccompOperator{specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual, specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpMaskedEqual}
	values := []uint64{0, 1, 2, 0xff, 0x7fffffff, 0x80000000, 0xffffffff, 1 << 32, 1<<32 | 1, 0xffffffff00000000, ^uint64(0), 0xf0f0f0f0f0f0f0f0}
	archSets := [][]specs.Arch{nil, {specs.ArchX86_64, specs.ArchX86, specs.ArchX32}, {specs.ArchX86}, {specs.ArchX32}, {specs.ArchX86, specs.ArchAARCH64}}
	s := &specs.LinuxSeccomp{ListenerPath: "/x"}
	s.DefaultAction = acts[next()%(len(acts)-1)] // not NOTIFY
	if s.DefaultAction == specs.ActErrno && next()%2 == 1 {
		s.DefaultErrnoRet = uptr(uint(next() % 40))
	}
	s.Architectures = archSets[next()%len(archSets)]
	for n := next() % 6; n > 0; n-- {
		r := specs.LinuxSyscall{Action: acts[next()%len(acts)]}
		if (r.Action == specs.ActErrno || r.Action == specs.ActTrace) && next()%2 == 1 {
			r.ErrnoRet = uptr(uint(next() % 40))
		}
		for k := 1 + next()%3; k > 0; k-- {
			r.Names = append(r.Names, pool[next()%len(pool)])
		}
		for k := next() % 4; k > 0; k-- {
			r.Args = append(r.Args, specs.LinuxSeccompArg{
				Index: uint(next() % 6), Op: opList[next()%len(opList)],
				Value: values[next()%len(values)], ValueTwo: values[next()%len(values)],
			})
		}
		s.Syscalls = append(s.Syscalls, r)
	}
	return s
}

// model is the verdict of a parsed profile computed directly, without
// BPF: the judge when slrt and libseccomp disagree. The stub runs first
// (it either returns ENOSYS or runs off its end into the filter).
func model(f *parsed, stub []unix.SockFilter, d seccompData) uint32 {
	if len(stub) > 0 {
		if v, err := runBPF(stub, d); err == nil {
			return v
		}
	}
	nr := uint32(d.nr)
	var arch *archInfo
	var rules map[uint32][]entry
	for i, a := range f.inFilter {
		if a.audit != d.arch {
			continue
		}
		x32 := a.nrBase == x32Bit
		if a.audit == unix.AUDIT_ARCH_X86_64 && (nr >= x32Bit && nr != 0xffffffff) != x32 {
			continue
		}
		arch, rules = a, f.rules[i]
	}
	if arch == nil {
		return badArchAction
	}
	es := rules[nr]
	for _, e := range es {
		if len(e.conds) == 0 {
			return e.act
		}
	}
	for _, e := range es {
		all := true
		for _, c := range e.conds {
			v := d.args[c.arg]
			val, mask := c.val, c.mask
			if arch.bits32 {
				v, val, mask = v&0xffffffff, val&0xffffffff, mask&0xffffffff
			}
			var ok bool
			switch c.op {
			case cmpEQ:
				ok = v == val
			case cmpNE:
				ok = v != val
			case cmpLT:
				ok = v < val
			case cmpLE:
				ok = v <= val
			case cmpGT:
				ok = v > val
			case cmpGE:
				ok = v >= val
			case cmpMaskedEQ:
				ok = v&mask == val
			}
			all = all && ok
		}
		if all {
			return e.act
		}
	}
	return f.defAct
}

package seccomp

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"
)

// Code generation. The program, after the ENOSYS stub:
//
//	load arch; one "jeq AUDIT_ARCH_x" per architecture; return bad-arch
//	per architecture:
//	  load nr (x86_64: numbers with __X32_SYSCALL_BIT, but -1, go to x32's
//	  part, or to bad-arch when x32 is not in the filter, as libseccomp does)
//	  a binary search over ranges of syscall numbers with one verdict
//	  (an allow-list is a few long runs), each leaf its verdict: the
//	  argument checks of a syscall with conditions, inline with their
//	  own returns, or one of the section's shared returns, after it
//
// Rules of one syscall, as libseccomp combines them: a rule without
// conditions decides (the first such one in the profile), and the others
// are dropped; otherwise the conditional rules are tried in profile order
// and the first whose conditions all hold decides. (libseccomp refuses
// most profiles where two conditional rules with different actions could
// both match a call; slrt takes them, in order.)

const (
	ldAbs  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	jeqK   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	jgtK   = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
	jgeK   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	jsetK  = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	jaK    = unix.BPF_JMP | unix.BPF_JA
	retK   = unix.BPF_RET | unix.BPF_K
	andK   = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	offNr  = 0  // offsetof(struct seccomp_data, nr)
	offAr  = 4  // offsetof(struct seccomp_data, arch)
	offArg = 16 // offsetof(struct seccomp_data, args)
)

// node is an instruction whose jumps point at other instructions; nil
// jt/jf of a conditional jump means the next one. assemble turns pointers
// into offsets.
type node struct {
	code   uint16
	k      uint32
	jt, jf *node // JA: jt
}

func isCond(n *node) bool { return n.code&0x07 == unix.BPF_JMP && n.code != jaK }

// section builds one architecture's code; rets are its shared returns.
type section struct {
	code []*node
	rets map[uint32]*node
}

func (s *section) ret(act uint32) *node {
	if r, ok := s.rets[act]; ok {
		return r
	}
	r := &node{code: retK, k: act}
	s.rets[act] = r
	return r
}

// finish appends the returns (sorted, so output is deterministic).
func (s *section) finish() []*node {
	acts := make([]uint32, 0, len(s.rets))
	for a := range s.rets {
		acts = append(acts, a)
	}
	slices.Sort(acts)
	for _, a := range acts {
		s.code = append(s.code, s.rets[a])
	}
	return s.code
}

func generate(inFilter []*archInfo, rules []map[uint32][]entry, defAct uint32) []*node {
	badArch := &node{code: retK, k: badArchAction}
	prog := []*node{{code: ldAbs, k: offAr}}
	var bodies [][]*node
	done := map[int]bool{}
	for i, a := range inFilter {
		if done[i] {
			continue
		}
		var body []*node
		if a.audit == unix.AUDIT_ARCH_X86_64 {
			// x86_64 and x32 share the audit arch; bit 30 of the
			// number tells them apart.
			x64, x32 := -1, -1
			for j, b := range inFilter {
				if b.audit == a.audit {
					done[j] = true
					if b.nrBase == x32Bit {
						x32 = j
					} else {
						x64 = j
					}
				}
			}
			var x64Code, x32Code []*node
			if x64 >= 0 {
				x64Code = archCode(inFilter[x64], rules[x64], defAct)
			}
			if x32 >= 0 {
				x32Code = archCode(inFilter[x32], rules[x32], defAct)
			} else {
				// jumps only go forward: a bad-arch return of its own
				x32Code = []*node{{code: retK, k: badArchAction}}
			}
			if x64Code == nil {
				x64Code = []*node{{code: retK, k: badArchAction}}
			}
			// Number -1 (what a tracer sets to skip a call) stays
			// with x86_64, as in libseccomp.
			minus1 := &node{code: jeqK, k: 0xffffffff, jt: x64Code[0], jf: x32Code[0]}
			body = append(body, &node{code: ldAbs, k: offNr}, &node{code: jgeK, k: x32Bit, jt: minus1, jf: x64Code[0]}, minus1)
			body = append(body, x64Code...)
			body = append(body, x32Code...)
		} else {
			done[i] = true
			body = append([]*node{{code: ldAbs, k: offNr}}, archCode(a, rules[i], defAct)...)
		}
		prog = append(prog, &node{code: jeqK, k: a.audit, jt: body[0]})
		bodies = append(bodies, body)
	}
	// The last "jeq" falls through to badArch.
	prog = append(prog, badArch)
	for _, b := range bodies {
		prog = append(prog, b...)
	}
	return prog
}

// archCode is one architecture's dispatch on the (loaded) syscall number.
func archCode(a *archInfo, rules map[uint32][]entry, defAct uint32) []*node {
	s := &section{rets: map[uint32]*node{}}
	def := s.ret(defAct)
	nrs := make([]uint32, 0, len(rules))
	for nr := range rules {
		nrs = append(nrs, nr)
	}
	slices.Sort(nrs)
	// Ranges of numbers with one target: an allow-list is a few long
	// runs of consecutive numbers, so the search has far fewer
	// boundaries than syscalls.
	var ranges []span
	add := func(lo uint32, to *node) {
		if n := len(ranges); n > 0 && ranges[n-1].to == to {
			return
		}
		ranges = append(ranges, span{lo, to})
	}
	blocks := map[*node][]*node{} // argument checks by first instruction
	for i, nr := range nrs {
		if i == 0 && nr > 0 {
			add(0, def)
		} else if i > 0 && nrs[i-1]+1 != nr {
			add(nrs[i-1]+1, def)
		}
		es := rules[nr]
		if j := slices.IndexFunc(es, func(e entry) bool { return len(e.conds) == 0 }); j >= 0 {
			add(nr, s.ret(es[j].act))
		} else {
			c := argChecks(a, es, defAct)
			add(nr, c[0])
			blocks[c[0]] = c
		}
		if i == len(nrs)-1 && nr != 0xffffffff {
			add(nr+1, def)
		}
	}
	if len(ranges) == 0 {
		add(0, def)
	}
	var tree []*node
	if root := search(ranges, blocks, &tree); root != tree0(tree) {
		tree = append(tree, &node{code: jaK, jt: root}) // a single range
	}
	// The shared returns right after the search.
	s.code = tree
	return s.finish()
}

// span is a range of syscall numbers, from lo to the next span's lo - 1.
type span struct {
	lo uint32
	to *node
}

func tree0(t []*node) *node {
	if len(t) == 0 {
		return nil
	}
	return t[0]
}

// search emits a binary search over sorted spans into out (in pre-order,
// so every jump goes forward) and returns where it starts: each syscall
// runs about log2(len(spans)) comparisons. A span's argument checks are
// emitted where the search reaches them, so its jumps to them stay short.
func search(spans []span, blocks map[*node][]*node, out *[]*node) *node {
	if len(spans) == 1 {
		*out = append(*out, blocks[spans[0].to]...)
		return spans[0].to
	}
	h := len(spans) / 2
	n := &node{code: jgeK, k: spans[h].lo}
	*out = append(*out, n)
	n.jf = search(spans[:h], blocks, out)
	n.jt = search(spans[h:], blocks, out)
	return n
}

// argChecks tests a syscall's conditional rules in order; none matching
// means the default action. The block ends with its own returns: jumps to
// returns shared across the section would mostly be too long and each
// cost a trampoline, one instruction like a return.
func argChecks(a *archInfo, es []entry, defAct uint32) []*node {
	local := &section{rets: map[uint32]*node{}}
	def := local.ret(defAct)
	var out []*node
	fail := def
	for i := len(es) - 1; i >= 0; i-- {
		pass := local.ret(es[i].act)
		var rule []*node
		for j := len(es[i].conds) - 1; j >= 0; j-- {
			c := compare(a, es[i].conds[j], pass, fail)
			rule = append(c, rule...)
			pass = c[0]
		}
		out = append(rule, out...)
		fail = rule[0]
	}
	local.code = out
	return local.finish()
}

// compare checks one 64-bit argument as two 32-bit halves, high then low,
// unsigned. The kernel's seccomp_data holds each argument as a u64 in the
// host's byte order. On 32-bit ABIs only the low half is compared, as
// libseccomp does (the kernel zero-extends their arguments).
func compare(a *archInfo, c cond, pass, fail *node) []*node {
	lo, hi := uint32(offArg+8*c.arg), uint32(offArg+8*c.arg+4)
	if bigEndian {
		lo, hi = hi, lo
	}
	vLo, vHi := uint32(c.val), uint32(c.val>>32)
	mLo, mHi := uint32(c.mask), uint32(c.mask>>32)
	ld := func(off uint32) *node { return &node{code: ldAbs, k: off} }
	j := func(code uint16, k uint32, jt, jf *node) *node { return &node{code: code, k: k, jt: jt, jf: jf} }

	// The low half's test, given where its true and false lead.
	low := func(code uint16, t, f *node) []*node {
		if c.op == cmpMaskedEQ {
			return []*node{ld(lo), {code: andK, k: mLo}, j(jeqK, vLo, t, f)}
		}
		return []*node{ld(lo), j(code, vLo, t, f)}
	}
	var lowPart []*node
	switch c.op {
	case cmpEQ, cmpMaskedEQ:
		lowPart = low(jeqK, pass, fail)
	case cmpNE:
		lowPart = low(jeqK, fail, pass)
	case cmpGT:
		lowPart = low(jgtK, pass, fail)
	case cmpGE:
		lowPart = low(jgeK, pass, fail)
	case cmpLT:
		lowPart = low(jgeK, fail, pass)
	case cmpLE:
		lowPart = low(jgtK, fail, pass)
	default:
		panic(fmt.Sprintf("seccomp: operator %d", c.op))
	}
	if a.bits32 {
		return lowPart
	}
	next := lowPart[0]
	var highPart []*node
	switch c.op {
	case cmpEQ:
		highPart = []*node{ld(hi), j(jeqK, vHi, next, fail)}
	case cmpMaskedEQ:
		highPart = []*node{ld(hi), {code: andK, k: mHi}, j(jeqK, vHi, next, fail)}
	case cmpNE:
		highPart = []*node{ld(hi), j(jeqK, vHi, next, pass)}
	case cmpGT, cmpGE:
		// above: true; equal: the low half decides; below: false
		eq := j(jeqK, vHi, next, fail)
		highPart = []*node{ld(hi), j(jgtK, vHi, pass, eq), eq}
	case cmpLT, cmpLE:
		eq := j(jeqK, vHi, next, pass)
		highPart = []*node{ld(hi), j(jgtK, vHi, fail, eq), eq}
	}
	return append(highPart, lowPart...)
}

// assemble lays out the program and turns jump pointers into offsets. A
// conditional jump reaches at most 255 instructions ahead; a farther one
// is sent through a trampoline, an unconditional JA (32-bit offset) placed
// right after it, and the layout is redone until every jump fits.
func assemble(prog []*node) ([]unix.SockFilter, error) {
	for i, n := range prog {
		if isCond(n) {
			if i+1 >= len(prog) && (n.jt == nil || n.jf == nil) {
				return nil, fmt.Errorf("internal error: jump off the end at %d", i)
			}
			if n.jt == nil {
				n.jt = prog[i+1]
			}
			if n.jf == nil {
				n.jf = prog[i+1]
			}
		}
	}
	pos := map[*node]int{}
	for {
		if len(prog) > maxInsns {
			return nil, fmt.Errorf("the filter needs more than the kernel's %d instructions", maxInsns)
		}
		clear(pos)
		for i, n := range prog {
			pos[n] = i
		}
		var out []*node
		for i, n := range prog {
			out = append(out, n)
			if !isCond(n) {
				continue
			}
			if pos[n.jt]-i-1 > 255 {
				t := &node{code: jaK, jt: n.jt}
				n.jt = t
				out = append(out, t)
			}
			if pos[n.jf]-i-1 > 255 {
				t := &node{code: jaK, jt: n.jf}
				n.jf = t
				out = append(out, t)
			}
		}
		if len(out) == len(prog) {
			break
		}
		prog = out
	}
	insns := make([]unix.SockFilter, len(prog))
	for i, n := range prog {
		f := unix.SockFilter{Code: n.code, K: n.k}
		off := func(t *node) (int, error) {
			p, ok := pos[t]
			if !ok || p <= i {
				return 0, fmt.Errorf("internal error: jump from %d backwards or out of the program", i)
			}
			return p - i - 1, nil
		}
		switch {
		case n.code == jaK:
			o, err := off(n.jt)
			if err != nil {
				return nil, err
			}
			f.K = uint32(o)
		case isCond(n):
			t, err := off(n.jt)
			if err != nil {
				return nil, err
			}
			e, err := off(n.jf)
			if err != nil {
				return nil, err
			}
			if t > 255 || e > 255 {
				return nil, fmt.Errorf("internal error: jump of %d/%d at %d", t, e, i)
			}
			f.Jt, f.Jf = uint8(t), uint8(e)
		}
		insns[i] = f
	}
	return insns, nil
}

package cgroups

import (
	"encoding/binary"
	"fmt"
	"math"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// On cgroup v2 the devices controller is a BPF_PROG_TYPE_CGROUP_DEVICE
// program. deviceFilter compiles linux.resources.devices into one, by hand:
// the program is a straight list of compare-and-return blocks, and the
// eBPF libraries that can assemble it cost the binaries ~1 MB.
//
// The kernel passes struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
// u32 minor; }, access_type being (access << 16) | type. The prologue loads
// type into r2, access into r3, major into r4 and minor into r5; each rule
// then becomes a block that jumps past itself at the first field that does
// not match and otherwise returns 1 (allow) or 0 (deny). Rules are emitted
// last first, so the last rule that matches decides, as in cgroup v1's
// devices.allow/deny lists; no match denies.

// One eBPF instruction (struct bpf_insn).
type bpfInsn struct {
	op       uint8
	dst, src uint8
	off      int16
	imm      int32
}

const (
	opLdxMemW  = unix.BPF_LDX | unix.BPF_MEM | unix.BPF_W
	opAndImm32 = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	opRshImm32 = unix.BPF_ALU | unix.BPF_RSH | unix.BPF_K
	opMovImm32 = unix.BPF_ALU | unix.BPF_MOV | unix.BPF_K
	opMovReg32 = unix.BPF_ALU | unix.BPF_MOV | unix.BPF_X
	opJneImm   = unix.BPF_JMP | unix.BPF_JNE | unix.BPF_K
	opJeqImm   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	opExit     = unix.BPF_JMP | unix.BPF_EXIT
)

const accessAll = unix.BPF_DEVCG_ACC_READ | unix.BPF_DEVCG_ACC_WRITE | unix.BPF_DEVCG_ACC_MKNOD

// deviceFilter returns the program's bytecode in the host's byte order.
// Rules must have Type, Major and Minor filled in ("a", -1 for any).
func deviceFilter(rules []specs.LinuxDeviceCgroup) ([]byte, error) {
	prog := []bpfInsn{
		{op: opLdxMemW, dst: 2, src: 1, off: 0},
		{op: opAndImm32, dst: 2, imm: 0xffff},
		{op: opLdxMemW, dst: 3, src: 1, off: 0},
		{op: opRshImm32, dst: 3, imm: 16},
		{op: opLdxMemW, dst: 4, src: 1, off: 4},
		{op: opLdxMemW, dst: 5, src: 1, off: 8},
	}
	matchAll := false
	for i := len(rules) - 1; i >= 0 && !matchAll; i-- {
		block, all, err := ruleBlock(rules[i])
		if err != nil {
			return nil, fmt.Errorf("linux.resources.devices[%d]: %w", i, err)
		}
		prog = append(prog, block...)
		matchAll = all
	}
	if !matchAll {
		prog = append(prog, bpfInsn{op: opMovImm32, dst: 0, imm: 0}, bpfInsn{op: opExit})
	}
	return encodeInsns(prog), nil
}

// ruleBlock compiles one rule; all reports a rule that matches every
// access, after which nothing else can be reached.
func ruleBlock(r specs.LinuxDeviceCgroup) (block []bpfInsn, all bool, err error) {
	var checks [][]bpfInsn // each ends in a jump past the block
	switch r.Type {
	case "a", "":
	case "c":
		checks = append(checks, []bpfInsn{{op: opJneImm, dst: 2, imm: unix.BPF_DEVCG_DEV_CHAR}})
	case "b":
		checks = append(checks, []bpfInsn{{op: opJneImm, dst: 2, imm: unix.BPF_DEVCG_DEV_BLOCK}})
	default:
		return nil, false, fmt.Errorf("type %q is not a, b or c", r.Type)
	}
	access := int32(0)
	for _, c := range r.Access {
		switch c {
		case 'r':
			access |= unix.BPF_DEVCG_ACC_READ
		case 'w':
			access |= unix.BPF_DEVCG_ACC_WRITE
		case 'm':
			access |= unix.BPF_DEVCG_ACC_MKNOD
		default:
			return nil, false, fmt.Errorf("access %q: %q is not r, w or m", r.Access, c)
		}
	}
	if r.Access == "" {
		access = accessAll
	}
	if access != accessAll {
		// An allow rule decides only an access it fully covers (an "r"
		// rule must not allow an open for read+write); a deny rule decides
		// every access that asks for any kind it names. Either way a
		// partial rule errs towards deny. (Two allow rules that cover an
		// access only together, "r" and "w" split over two lines, do not
		// allow it: container engines never write them so.)
		mask, op := ^access&accessAll, opJneImm // skip if it asks for more
		if !r.Allow {
			mask, op = access, opJeqImm // skip if it asks for none of them
		}
		checks = append(checks, []bpfInsn{
			{op: opMovReg32, dst: 1, src: 3},
			{op: opAndImm32, dst: 1, imm: mask},
			{op: uint8(op), dst: 1, imm: 0},
		})
	}
	for _, n := range []struct {
		name string
		v    *int64
		reg  uint8
	}{{"major", r.Major, 4}, {"minor", r.Minor, 5}} {
		if n.v == nil || *n.v < 0 {
			continue
		}
		// No device number comes near this; a larger one would not
		// survive the sign extension of the 32-bit immediate.
		if *n.v > math.MaxInt32 {
			return nil, false, fmt.Errorf("%s %d is out of range", n.name, *n.v)
		}
		checks = append(checks, []bpfInsn{{op: opJneImm, dst: n.reg, imm: int32(*n.v)}})
	}
	verdict := int32(0)
	if r.Allow {
		verdict = 1
	}
	tail := []bpfInsn{{op: opMovImm32, dst: 0, imm: verdict}, {op: opExit}}
	n := len(tail)
	for _, c := range checks {
		n += len(c)
	}
	for _, c := range checks {
		block = append(block, c...)
		// A jump's offset counts from the instruction after it.
		block[len(block)-1].off = int16(n - len(block))
	}
	return append(block, tail...), len(checks) == 0, nil
}

// encodeInsns lays the instructions out as the kernel reads them: the
// register nibbles of struct bpf_insn are bitfields, whose order follows
// the byte order.
func encodeInsns(prog []bpfInsn) []byte {
	out := make([]byte, 0, 8*len(prog))
	le := binary.NativeEndian.Uint16([]byte{1, 0}) == 1
	for _, in := range prog {
		regs := in.dst | in.src<<4
		if !le {
			regs = in.src | in.dst<<4
		}
		out = append(out, in.op, regs)
		out = binary.NativeEndian.AppendUint16(out, uint16(in.off))
		out = binary.NativeEndian.AppendUint32(out, uint32(in.imm))
	}
	return out
}

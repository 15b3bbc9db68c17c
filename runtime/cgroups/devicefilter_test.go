package cgroups

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// runFilter interprets the subset of eBPF deviceFilter emits, for one
// device access, and returns the program's verdict (1 allow, 0 deny).
func runFilter(t *testing.T, code []byte, typ, access, major, minor uint32) int {
	t.Helper()
	le := binary.NativeEndian.Uint16([]byte{1, 0}) == 1
	ctx := [3]uint32{access<<16 | typ, major, minor}
	var reg [11]uint64
	for pc, steps := 0, 0; ; pc, steps = pc+1, steps+1 {
		if pc < 0 || pc*8 >= len(code) || steps > 1000 {
			t.Fatalf("program runs off its end (pc %d)", pc)
		}
		in := code[pc*8 : pc*8+8]
		dst, src := in[1]&0xf, in[1]>>4
		if !le {
			dst, src = in[1]>>4, in[1]&0xf
		}
		off := int16(binary.NativeEndian.Uint16(in[2:]))
		imm := int32(binary.NativeEndian.Uint32(in[4:]))
		switch in[0] {
		case opLdxMemW:
			if src != 1 || off%4 != 0 || off < 0 || off > 8 {
				t.Fatalf("pc %d: load from r%d%+d", pc, src, off)
			}
			reg[dst] = uint64(ctx[off/4])
		case opAndImm32:
			reg[dst] = uint64(uint32(reg[dst]) & uint32(imm))
		case opRshImm32:
			reg[dst] = uint64(uint32(reg[dst]) >> uint32(imm))
		case opMovImm32:
			reg[dst] = uint64(uint32(imm))
		case opMovReg32:
			reg[dst] = uint64(uint32(reg[src]))
		case opJneImm:
			if reg[dst] != uint64(int64(imm)) {
				pc += int(off)
			}
		case opJeqImm:
			if reg[dst] == uint64(int64(imm)) {
				pc += int(off)
			}
		case opExit:
			return int(reg[0])
		default:
			t.Fatalf("pc %d: unexpected opcode %#x", pc, in[0])
		}
	}
}

func TestDeviceFilter(t *testing.T) {
	const (
		c = unix.BPF_DEVCG_DEV_CHAR
		b = unix.BPF_DEVCG_DEV_BLOCK
		r = unix.BPF_DEVCG_ACC_READ
		w = unix.BPF_DEVCG_ACC_WRITE
		m = unix.BPF_DEVCG_ACC_MKNOD
	)
	any := int64(-1)
	rule := func(allow bool, typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
		return specs.LinuxDeviceCgroup{Allow: allow, Type: typ, Major: &major, Minor: &minor, Access: access}
	}
	type access struct {
		typ, acc, major, minor uint32
		want                   int
	}
	for _, tt := range []struct {
		name  string
		rules []specs.LinuxDeviceCgroup
		cases []access
	}{
		{"no rules deny everything", nil, []access{{c, r, 1, 3, 0}, {b, w, 8, 0, 0}}},
		{"deny all then allow /dev/null", []specs.LinuxDeviceCgroup{
			rule(false, "a", any, any, "rwm"),
			rule(true, "c", 1, 3, "rwm"),
		}, []access{{c, r | w, 1, 3, 1}, {c, r, 1, 5, 0}, {b, r, 1, 3, 0}, {c, m, 1, 3, 1}}},
		{"the last matching rule wins", []specs.LinuxDeviceCgroup{
			rule(true, "c", 1, any, "rwm"),
			rule(false, "c", 1, 5, "w"),
		}, []access{{c, r, 1, 5, 1}, {c, w, 1, 5, 0}, {c, r | w, 1, 5, 0}, {c, w, 1, 3, 1}}},
		{"an r rule does not decide read+write", []specs.LinuxDeviceCgroup{
			rule(true, "c", 10, 200, "r"),
		}, []access{{c, r, 10, 200, 1}, {c, r | w, 10, 200, 0}, {c, w, 10, 200, 0}}},
		{"wildcard type and minor", []specs.LinuxDeviceCgroup{
			rule(true, "a", 136, any, "rw"),
		}, []access{{c, r, 136, 7, 1}, {b, w, 136, 0, 1}, {c, m, 136, 7, 0}, {c, r, 137, 0, 0}}},
		{"allow all after a deny", []specs.LinuxDeviceCgroup{
			rule(false, "c", 1, 3, "rwm"),
			rule(true, "a", any, any, "rwm"),
		}, []access{{c, r, 1, 3, 1}, {b, m, 8, 0, 1}}},
		{"empty type and access mean all", []specs.LinuxDeviceCgroup{
			{Allow: true, Type: "", Major: &any, Minor: &any},
		}, []access{{c, r | w | m, 4, 1, 1}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, err := deviceFilter(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range tt.cases {
				if got := runFilter(t, code, a.typ, a.acc, a.major, a.minor); got != a.want {
					t.Errorf("type %d access %d %d:%d: verdict %d, want %d", a.typ, a.acc, a.major, a.minor, got, a.want)
				}
			}
			// The kernel's verifier accepts it (root only; no attach).
			if os.Geteuid() == 0 && !testing.Short() {
				fd, err := loadDeviceProgram(code)
				if err != nil {
					t.Fatalf("kernel refuses the program: %v", err)
				}
				unix.Close(fd)
			}
		})
	}
}

func TestDeviceFilterBadRules(t *testing.T) {
	one := int64(1)
	big := int64(1) << 40
	for _, tt := range []struct {
		rule specs.LinuxDeviceCgroup
		want string
	}{
		{specs.LinuxDeviceCgroup{Type: "x", Major: &one, Minor: &one}, `linux.resources.devices[0]: type "x" is not a, b or c`},
		{specs.LinuxDeviceCgroup{Type: "c", Major: &one, Minor: &one, Access: "rq"}, `access "rq": 'q' is not r, w or m`},
		{specs.LinuxDeviceCgroup{Type: "c", Major: &big, Minor: &one}, "major 1099511627776 is out of range"},
		{specs.LinuxDeviceCgroup{Type: "c", Major: &one, Minor: &big}, "minor 1099511627776 is out of range"},
	} {
		_, err := deviceFilter([]specs.LinuxDeviceCgroup{tt.rule})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("deviceFilter(%+v) = %v, want an error with %q", tt.rule, err, tt.want)
		}
	}
}

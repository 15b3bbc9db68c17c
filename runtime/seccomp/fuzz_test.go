package seccomp

import (
	"encoding/json"
	"os"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// FuzzCompile feeds linux.seccomp objects to the compiler: it must never
// panic, and a program it returns must be one the kernel could load
// (whole sock_filter entries, at most BPF_MAXINSNS of them, every jump
// forward and inside it, ending in a return). Seeds: the default profile,
// small profiles, and testdata/fuzz. FuzzDifferential (diff_test.go)
// checks the verdicts against libseccomp.
func FuzzCompile(f *testing.F) {
	if b, err := os.ReadFile("testdata/default.json"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}`,
		`{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"},{"names":["openat"],"action":"SCMP_ACT_NOTIFY"}],"listenerPath":"/x"}`,
		`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":8,"op":"SCMP_CMP_MASKED_EQ","valueTwo":8}]}]}`,
		`{"defaultAction":"SCMP_ACT_KILL","flags":["SECCOMP_FILTER_FLAG_LOG"],"syscalls":[{"names":["no_such_syscall"],"action":"SCMP_ACT_ALLOW"}]}`,
		`{"defaultAction":"SCMP_ACT_NOTIFY"}`,
		`{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_NOPE"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s specs.LinuxSeccomp
		if json.Unmarshal(b, &s) != nil {
			return
		}
		// Keep one run short.
		if len(s.Syscalls) > 64 || len(s.Architectures) > 4 {
			return
		}
		p, err := compile(&s)
		if err != nil {
			return
		}
		if len(p.BPF) == 0 || len(p.BPF)%8 != 0 || len(p.BPF)/8 > maxInsns {
			t.Fatalf("program of %d bytes: not 1..%d sock_filter entries", len(p.BPF), maxInsns)
		}
		prog, err := decode(p.BPF)
		if err != nil {
			t.Fatal(err)
		}
		for pc, in := range prog {
			switch {
			case in.Code == unix.BPF_JMP|unix.BPF_JA:
				if pc+1+int(in.K) >= len(prog) {
					t.Fatalf("pc %d: JA %d leaves the program", pc, in.K)
				}
			case in.Code&0x07 == unix.BPF_JMP:
				if pc+1+int(max(in.Jt, in.Jf)) >= len(prog) {
					t.Fatalf("pc %d: jump %d/%d leaves the program", pc, in.Jt, in.Jf)
				}
			}
		}
		if last := prog[len(prog)-1]; last.Code&0x07 != unix.BPF_RET {
			t.Fatalf("the program ends with %#x, not a return", last.Code)
		}
	})
}

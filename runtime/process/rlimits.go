package process

import (
	"fmt"
	"strconv"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// rlimitNumbers maps the spec's names to resource numbers (getrlimit(2)).
var rlimitNumbers = map[string]int{
	"RLIMIT_CPU":        unix.RLIMIT_CPU,
	"RLIMIT_FSIZE":      unix.RLIMIT_FSIZE,
	"RLIMIT_DATA":       unix.RLIMIT_DATA,
	"RLIMIT_STACK":      unix.RLIMIT_STACK,
	"RLIMIT_CORE":       unix.RLIMIT_CORE,
	"RLIMIT_RSS":        unix.RLIMIT_RSS,
	"RLIMIT_NPROC":      unix.RLIMIT_NPROC,
	"RLIMIT_NOFILE":     unix.RLIMIT_NOFILE,
	"RLIMIT_MEMLOCK":    unix.RLIMIT_MEMLOCK,
	"RLIMIT_AS":         unix.RLIMIT_AS,
	"RLIMIT_LOCKS":      unix.RLIMIT_LOCKS,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_MSGQUEUE":   unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE":       unix.RLIMIT_NICE,
	"RLIMIT_RTPRIO":     unix.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME":     unix.RLIMIT_RTTIME,
}

// planRlimits resolves process.rlimits. Duplicates are an error: the spec
// says the runtime must fail on them, and which one would win is otherwise
// an accident of order. A soft limit above the hard one is caught here,
// where the field can be named, instead of as a bare EINVAL in the init.
//
// In a rootless container the init can never gain CAP_SYS_RESOURCE in the
// initial user namespace, so raising a hard limit above the parent's own
// (which the init inherits) is reported now rather than at start.
func planRlimits(in []specs.POSIXRlimit, rootless bool) ([]channel.Rlimit, error) {
	seen := map[string]bool{}
	var out []channel.Rlimit
	for i, r := range in {
		field := fmt.Sprintf("process.rlimits[%d]", i)
		res, ok := rlimitNumbers[r.Type]
		if !ok {
			return nil, fmt.Errorf("%s: unknown type %q", field, r.Type)
		}
		if seen[r.Type] {
			return nil, fmt.Errorf("%s: duplicate type %q", field, r.Type)
		}
		seen[r.Type] = true
		if r.Soft > r.Hard {
			return nil, fmt.Errorf("%s: %s soft limit %s is above the hard limit %s", field, r.Type, limit(r.Soft), limit(r.Hard))
		}
		if rootless {
			var cur unix.Rlimit
			if err := unix.Prlimit(0, res, nil, &cur); err == nil && r.Hard > cur.Max {
				return nil, fmt.Errorf("%s: %s hard limit %s is above the current %s; a rootless container cannot raise it (needs CAP_SYS_RESOURCE)",
					field, r.Type, limit(r.Hard), limit(cur.Max))
			}
		}
		out = append(out, channel.Rlimit{Resource: res, Name: r.Type, Soft: r.Soft, Hard: r.Hard})
	}
	return out, nil
}

// limit prints RLIM_INFINITY as the word everyone knows it by.
func limit(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

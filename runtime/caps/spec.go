package caps

import (
	"fmt"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/channel"
)

// FromSpec resolves the five capability sets of process.capabilities. A nil
// spec yields empty sets: the workload runs with every capability dropped,
// as runc does when the spec has no capabilities object.
//
// Unknown names are an error (runc 1.1 only warns): a misspelt
// "CAP_NET_BIND_SERVCE" would otherwise silently run the workload without
// the capability it needs, or, in the bounding set, keep one the author
// meant to drop. The error lists every unknown name with its set.
func FromSpec(c *specs.LinuxCapabilities) (*channel.Caps, error) {
	out := &channel.Caps{}
	if c == nil {
		return out, nil
	}
	sets := []struct {
		field string
		names []string
		mask  *uint64
	}{
		{"bounding", c.Bounding, &out.Bounding},
		{"effective", c.Effective, &out.Effective},
		{"permitted", c.Permitted, &out.Permitted},
		{"inheritable", c.Inheritable, &out.Inheritable},
		{"ambient", c.Ambient, &out.Ambient},
	}
	var bad []string
	for _, s := range sets {
		mask, unknown := Mask(s.names)
		*s.mask = mask
		for _, name := range unknown {
			bad = append(bad, fmt.Sprintf("process.capabilities.%s: unknown capability %q", s.field, name))
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return out, nil
}

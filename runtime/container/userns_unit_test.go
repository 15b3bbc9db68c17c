package container

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseIDMap(t *testing.T) {
	cases := []struct {
		in   string
		want string // fmtMaps of the result, or the error's text
	}{
		{"         0     100000      65536\n", "[0:100000:65536]"},
		{"0 1000 1\n1 100000 65536\n", "[0:1000:1 1:100000:65536]"},
		{"", "[]"},
		{"0 1000\n", `malformed line "0 1000"`},
		{"0 x 1\n", `malformed line "0 x 1"`},
		{"0 4294967296 1\n", "malformed line"},
	}
	for _, tc := range cases {
		m, err := parseIDMap("uid_map", []byte(tc.in))
		got := fmtMaps(m)
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("parseIDMap(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestSameMaps(t *testing.T) {
	a := specs.LinuxIDMapping{ContainerID: 0, HostID: 1000, Size: 1}
	b := specs.LinuxIDMapping{ContainerID: 1, HostID: 100000, Size: 65535}
	cases := []struct {
		x, y []specs.LinuxIDMapping
		same bool
	}{
		{[]specs.LinuxIDMapping{a, b}, []specs.LinuxIDMapping{b, a}, true},
		{[]specs.LinuxIDMapping{a}, []specs.LinuxIDMapping{a, b}, false},
		{[]specs.LinuxIDMapping{a}, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 2}}, false},
		{nil, nil, true},
	}
	for _, tc := range cases {
		if got := sameMaps(tc.x, tc.y); got != tc.same {
			t.Errorf("sameMaps(%s, %s) = %v", fmtMaps(tc.x), fmtMaps(tc.y), got)
		}
	}
}

func TestNsenterErr(t *testing.T) {
	for in, want := range map[string]string{
		"1 join user namespace":    "slrt-nsenter: join user namespace: operation not permitted",
		"22 bad clone flags":       "slrt-nsenter: bad clone flags: invalid argument",
		"garbage without a number": "slrt-nsenter: garbage without a number",
	} {
		if got := nsenterErr(in).Error(); got != want {
			t.Errorf("nsenterErr(%q) = %q, want %q", in, got, want)
		}
	}
}

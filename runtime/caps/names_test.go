package caps

import (
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/channel"
)

func TestNumber(t *testing.T) {
	tests := []struct {
		name string
		want int
		ok   bool
	}{
		{"CAP_CHOWN", 0, true},
		{"CAP_NET_BIND_SERVICE", 10, true},
		{"CAP_SYS_ADMIN", 21, true},
		{"CAP_AUDIT_READ", 37, true},
		{"CAP_PERFMON", 38, true},
		{"CAP_BPF", 39, true},
		{"CAP_CHECKPOINT_RESTORE", 40, true},
		{"SYS_ADMIN", 0, false}, // the spec always uses the prefix
		{"cap_sys_admin", 0, false},
		{"CAP_", 0, false},
		{"CAP_FOO", 0, false},
	}
	for _, tt := range tests {
		got, ok := Number(tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Number(%q) = %d, %v; want %d, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNamesComplete(t *testing.T) {
	all := Names()
	if len(all) != Last+1 {
		t.Fatalf("Names() has %d entries, want %d", len(all), Last+1)
	}
	for n, name := range all {
		if name == "" {
			t.Errorf("capability %d has no name", n)
		}
		if got, ok := Number(name); !ok || got != n {
			t.Errorf("Number(Name(%d)=%q) = %d, %v", n, name, got, ok)
		}
	}
	if got := Name(63); got != "CAP_63" {
		t.Errorf("Name(63) = %q", got)
	}
}

func TestMaskList(t *testing.T) {
	in := []string{"CAP_KILL", "CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"}
	mask, unknown := Mask(in)
	if unknown != nil {
		t.Fatalf("unknown = %v", unknown)
	}
	if want := uint64(1<<5 | 1<<0 | 1<<40); mask != want {
		t.Fatalf("mask = %#x, want %#x", mask, want)
	}
	if got, want := List(mask), []string{"CAP_CHOWN", "CAP_KILL", "CAP_CHECKPOINT_RESTORE"}; !reflect.DeepEqual(got, want) {
		t.Errorf("List = %v, want %v", got, want)
	}
	if _, unknown := Mask([]string{"CAP_X", "CAP_KILL", "Y"}); !reflect.DeepEqual(unknown, []string{"CAP_X", "Y"}) {
		t.Errorf("unknown = %v", unknown)
	}
}

func TestFromSpec(t *testing.T) {
	three := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	threeMask := uint64(1<<29 | 1<<5 | 1<<10)
	tests := []struct {
		name    string
		in      *specs.LinuxCapabilities
		want    *channel.Caps
		wantErr []string
	}{
		{name: "nil drops everything", in: nil, want: &channel.Caps{}},
		{name: "empty", in: &specs.LinuxCapabilities{}, want: &channel.Caps{}},
		{
			name: "runc default",
			in:   &specs.LinuxCapabilities{Bounding: three, Effective: three, Permitted: three, Ambient: three},
			want: &channel.Caps{Bounding: threeMask, Effective: threeMask, Permitted: threeMask, Ambient: threeMask},
		},
		{
			name: "each set separately",
			in: &specs.LinuxCapabilities{
				Bounding: []string{"CAP_CHOWN"}, Effective: []string{"CAP_DAC_OVERRIDE"},
				Permitted: []string{"CAP_FOWNER"}, Inheritable: []string{"CAP_KILL"}, Ambient: []string{"CAP_BPF"},
			},
			want: &channel.Caps{Bounding: 1 << 0, Effective: 1 << 1, Permitted: 1 << 3, Inheritable: 1 << 5, Ambient: 1 << 39},
		},
		{
			name: "unknown names in two sets",
			in: &specs.LinuxCapabilities{
				Bounding: []string{"CAP_KILL", "CAP_FOO"},
				Ambient:  []string{"NET_RAW"},
			},
			wantErr: []string{
				`process.capabilities.bounding: unknown capability "CAP_FOO"`,
				`process.capabilities.ambient: unknown capability "NET_RAW"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromSpec(tt.in)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("no error, got %+v", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got != *tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

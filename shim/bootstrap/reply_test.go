package bootstrap

import (
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	bootstrapapi "github.com/slrt/slrt/shim/internal/api/runtime/bootstrap/v1"
	"github.com/slrt/slrt/shim/internal/api/types/runc/options"
)

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestChoose covers DESIGN §1's table: what each containerd sends on start
// and which reply it accepts.
func TestChoose(t *testing.T) {
	params := mustMarshal(t, &bootstrapapi.BootstrapParams{InstanceID: "c1", Namespace: "k8s.io"})
	// containerd 1.6 may write the runtime options Any to stdin; it decodes
	// as a BootstrapParams too (field 1 is a string in both).
	optsAny := mustMarshal(t, &anypb.Any{TypeUrl: "containerd.runc.v1.Options",
		Value: mustMarshal(t, &options.Options{Root: "/run/x", SystemdCgroup: true})})
	for _, tc := range []struct {
		name, max string
		stdin     []byte
		want      Format
	}{
		{"1.6 empty stdin", "", nil, Plain},
		{"1.6 options Any", "", optsAny, Plain},
		{"1.7-2.2 empty stdin", "2", nil, JSONv2},
		{"1.7-2.2 options Any", "2", optsAny, JSONv2},
		{"2.3+ params", "", params, ProtoV3},
		{"2.3+ params with MAX_SHIM_VERSION", "2", params, ProtoV3},
		{"params of another id", "2", mustMarshal(t, &bootstrapapi.BootstrapParams{InstanceID: "c2", Namespace: "k8s.io"}), JSONv2},
		{"params of another namespace", "", mustMarshal(t, &bootstrapapi.BootstrapParams{InstanceID: "c1", Namespace: "default"}), Plain},
		{"garbage", "", []byte("\xff\xff\xff"), Plain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, p := Choose(tc.stdin, "c1", "k8s.io", tc.max)
			if got != tc.want {
				t.Fatalf("Choose = %s, want %s", got, tc.want)
			}
			if (p != nil) != (got == ProtoV3) {
				t.Fatalf("params %v with format %s", p, got)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	const addr = "unix:///run/containerd/s/abc"
	b, err := Encode(Plain, addr)
	if err != nil || string(b) != addr {
		t.Fatalf("plain: %q, %v", b, err)
	}
	b, err = Encode(JSONv2, addr)
	if err != nil {
		t.Fatal(err)
	}
	var j map[string]any
	if err := json.Unmarshal(b, &j); err != nil || j["version"] != float64(2) || j["address"] != addr || j["protocol"] != "ttrpc" {
		t.Fatalf("json: %s, %v", b, err)
	}
	b, err = Encode(ProtoV3, addr)
	if err != nil {
		t.Fatal(err)
	}
	var r bootstrapapi.BootstrapResult
	if err := proto.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Version != 3 || r.Address != addr || r.Protocol != "ttrpc" || len(r.Extensions) != 1 ||
		r.Extensions[0].Value.TypeUrl != "containerd.types.MountCapabilities" {
		t.Fatalf("proto: %v", &r)
	}
}

func TestSocketPath(t *testing.T) {
	a, err := SocketPath("/run/containerd/s", "/run/containerd/containerd.sock", "k8s.io", "pod1")
	if err != nil || len(a) > maxSocketPath || !strings.HasPrefix(a, "/run/containerd/s/") {
		t.Fatalf("%q %v", a, err)
	}
	b, _ := SocketPath("/run/containerd/s", "/run/containerd/containerd.sock", "k8s.io", "pod2")
	c, _ := SocketPath("/run/containerd/s", "/other/containerd.sock", "k8s.io", "pod1")
	if a == b || a == c {
		t.Fatalf("pods or daemons share a socket: %s %s %s", a, b, c)
	}
	long := "/" + strings.Repeat("d", 60)
	p, err := SocketPath(long, "x", "ns", "pod1")
	if err != nil || len(p) > maxSocketPath {
		t.Fatalf("long dir: %q (%d) %v", p, len(p), err)
	}
	if _, err := SocketPath("/"+strings.Repeat("d", 90), "x", "ns", "pod1"); err == nil {
		t.Fatal("a dir leaving no room for a name was accepted")
	}
}

func TestParse(t *testing.T) {
	f, err := Parse([]string{"-namespace", "k8s.io", "-id", "c1", "-address", "/a", "-publish-binary", "/bin/ctd", "-debug", "start"}, nil)
	if err != nil || f.Action != "start" || f.ID != "c1" || !f.Debug || f.PublishBinary != "/bin/ctd" {
		t.Fatalf("%+v %v", f, err)
	}
	if f, err := Parse([]string{"-v"}, nil); err != nil || !f.Version {
		t.Fatalf("-v: %+v %v", f, err)
	}
	if f, err := Parse([]string{"--version"}, nil); err != nil || !f.Version {
		t.Fatalf("--version: %+v %v", f, err)
	}
	if f, err := Parse([]string{"-info"}, nil); err != nil || !f.Info {
		t.Fatalf("-info: %+v %v", f, err)
	}
	for _, bad := range [][]string{{"-id", "x", "start"}, {"-namespace", "n", "stop"}, {"-namespace", "n", "start", "x"}, {"-namespace", "n", "-nope"}} {
		if _, err := Parse(bad, &strings.Builder{}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

package cgroups

import (
	"errors"
	"testing"
)

func TestResolveLocation(t *testing.T) {
	tests := []struct {
		name, path, id, want string
		wantErr              bool
	}{
		{name: "default", id: "abc", want: "/slrt/abc"},
		{name: "absolute", path: "/kubepods/pod1/c1", id: "c1", want: "/kubepods/pod1/c1"},
		{name: "absolute cleaned", path: "/a/../b//c/", id: "x", want: "/b/c"},
		{name: "root refused", path: "/", id: "x", wantErr: true},
		{name: "bad id", id: "../x", wantErr: true},
		{name: "empty id", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := resolveLocation(tt.path, tt.id)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && l.String() != tt.want {
				t.Fatalf("got %q, want %q", l.String(), tt.want)
			}
		})
	}
}

func TestSystemdLocation(t *testing.T) {
	tests := []struct {
		path, want string
		wantErr    bool
	}{
		{path: "system.slice:docker:abc", want: "/system.slice/docker-abc.scope"},
		{path: "kubepods-burstable-pod1.slice:cri-containerd:c1", want: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-c1.scope"},
		{path: ":slrt:c", want: "/system.slice/slrt-c.scope"},
		{path: "-.slice:p:n", want: "/p-n.scope"},
		{path: "machine.slice::n.slice", want: "/machine.slice/n.slice"},
		{path: "/not/systemd", wantErr: true},
		{path: "bad:p:n", wantErr: true},
		{path: "a--b.slice:p:n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			l, err := systemdLocation(tt.path, "id")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && l.common != tt.want {
				t.Fatalf("got %q, want %q", l.common, tt.want)
			}
		})
	}
}

func TestLocationRoundTrip(t *testing.T) {
	tests := []location{
		{common: "/a/b", unified: "/a/b"},
		{common: "/x/r", unified: "/x/r", byCtrl: map[string]string{"memory": "/m/x/r", "name=systemd": "/s/r"}},
		{common: "/x/r", unified: "/u/r", byCtrl: map[string]string{"cpu": "/c/r"}},
	}
	for _, l := range tests {
		t.Run(l.String(), func(t *testing.T) {
			got, err := parseLocation(l.String())
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != l.String() {
				t.Fatalf("round trip: %q → %q", l.String(), got.String())
			}
			for c, p := range l.byCtrl {
				if got.forCtrl(c) != p {
					t.Errorf("forCtrl(%s) = %q, want %q", c, got.forCtrl(c), p)
				}
			}
			if got.forCtrl("pids") != l.common {
				t.Errorf("forCtrl(pids) = %q, want %q", got.forCtrl("pids"), l.common)
			}
		})
	}
	if _, err := parseLocation("relative"); err == nil {
		t.Error("parseLocation accepted a relative path")
	}
}

func TestSharesToWeight(t *testing.T) {
	for _, tt := range []struct{ shares, weight uint64 }{{0, 0}, {2, 1}, {1024, 100}, {262144, 10000}, {1 << 20, 10000}} {
		if got := SharesToWeight(tt.shares); got != tt.weight {
			t.Errorf("SharesToWeight(%d) = %d, want %d", tt.shares, got, tt.weight)
		}
	}
	for _, tt := range []struct {
		in   uint16
		want uint64
	}{{10, 1}, {1000, 10000}, {500, 4950}} {
		if got := BlkioWeightToIOWeight(tt.in); got != tt.want {
			t.Errorf("BlkioWeightToIOWeight(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestSystemdNotRunning(t *testing.T) {
	if systemdRunning() {
		t.Skip("systemd is running here")
	}
	_, err := New("system.slice:slrt:x", true, "x", nil)
	if !errors.Is(err, ErrSystemdUnavailable) {
		t.Fatalf("err = %v, want ErrSystemdUnavailable", err)
	}
}

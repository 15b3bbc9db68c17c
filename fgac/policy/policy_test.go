package policy

import (
	"errors"
	"strings"
	"testing"
)

const example = `{
  "profiles": [
    {
      "name": "scratch",
      "namespaces": ["edge"],
      "standalone": true,
      "rules": [
        {"mount": {"fstype": "tmpfs", "targets": ["/mnt/*", "/scratch"], "maxSize": "64M", "maxMode": "1777"}},
        {"mount": {"bind": "/srv/models", "source": "/models", "readOnly": true, "targets": ["/data/**"]}},
        {"umount": {"targets": ["/mnt/*", "/scratch"]}},
        {"mknod": {"devices": ["c 1:3", "c 1:5", "c 10:*"], "targets": ["/dev/*", "/tmp/*"]}},
        {"sethostname": {"names": ["edge-*"]}}
      ]
    },
    {"name": "k8s-only", "namespaces": ["*"], "rules": [{"umount": {"targets": ["/x"]}}]}
  ]
}
`

func mustParse(t *testing.T, src string) *Policy {
	t.Helper()
	p, err := Parse("fgac.json", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestParseErrors: every malformed policy is refused with the line and the
// field at fault.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"syntax", "{\n \"profiles\": [\n  {\"name\": \"a\",,}\n]}", "fgac.json:3: invalid character ','"},
		{"truncated", "{\n \"profiles\": [", "fgac.json:2: unexpected end of file"},
		{"trailing", "{\"profiles\": []}\n{}", "fgac.json:2: data after the policy object"},
		{"empty", `{"profiles": []}`, "fgac.json:1: profiles: no profiles"},
		{"unknown member", "{\"profiles\": [{\"name\": \"a\",\n \"standalone\": true,\n \"rulez\": []}]}",
			`fgac.json:3: profiles[0].rulez: unknown member "rulez"`},
		{"wrong type", "{\"profiles\": [{\"name\": \"a\", \"standalone\": true,\n \"rules\": [{\"mknod\": {\"devices\": [\"c 1:3\"], \"targets\": [\"/dev/x\"]}},\n {\"mount\": {\"fstype\": \"tmpfs\", \"maxInodes\": \"lots\"}}]}]}",
			"fgac.json:3: profiles[0].rules[1].mount.maxInodes: want uint64, not a JSON string"},
		{"bad name", "{\"profiles\": [\n{\"name\": \"Bad Name\", \"standalone\": true, \"rules\": []}]}", "fgac.json:2: profiles[0].name: \"Bad Name\" is not a profile name"},
		{"duplicate", `{"profiles": [{"name": "a", "standalone": true, "rules": [{"umount": {"targets": ["/x"]}}]}, {"name": "a", "standalone": true, "rules": []}]}`,
			`profiles[1].name: profile "a" defined twice`},
		{"nobody", `{"profiles": [{"name": "a", "rules": [{"umount": {"targets": ["/x"]}}]}]}`, "profiles[0]: profile \"a\" can be used by nobody"},
		{"two kinds", "{\"profiles\": [{\"name\": \"a\", \"standalone\": true, \"rules\": [\n\n{\"umount\": {\"targets\": [\"/x\"]}, \"mknod\": {}}]}]}",
			"fgac.json:3: profiles[0].rules[0]: a rule has exactly one of mount, umount, mknod, sethostname (it has 2)"},
		{"tmpfs no size", "{\"profiles\": [{\"name\": \"a\", \"standalone\": true, \"rules\": [\n{\"mount\": {\"fstype\": \"tmpfs\", \"targets\": [\"/mnt\"]}}]}]}",
			"fgac.json:2: profiles[0].rules[0].mount.maxSize: required for tmpfs"},
		{"bad size", "{\"profiles\": [{\"name\": \"a\", \"standalone\": true, \"rules\": [\n{\"mount\": {\"fstype\": \"tmpfs\", \"targets\": [\"/mnt\"],\n \"maxSize\": \"10Q\"}}]}]}",
			"fgac.json:3: profiles[0].rules[0].mount.maxSize: \"10Q\" is not a size"},
		{"fstype", `{"profiles": [{"name": "a", "standalone": true, "rules": [{"mount": {"fstype": "ext4", "targets": ["/mnt"]}}]}]}`,
			`profiles[0].rules[0].mount.fstype: "ext4" is not supported`},
		{"relative target", `{"profiles": [{"name": "a", "standalone": true, "rules": [{"umount": {"targets": ["mnt"]}}]}]}`,
			`profiles[0].rules[0].umount.targets[0]: "mnt" is not a clean absolute path pattern`},
		{"device", `{"profiles": [{"name": "a", "standalone": true, "rules": [{"mknod": {"devices": ["x 1:2"], "targets": ["/dev/*"]}}]}]}`,
			`profiles[0].rules[0].mknod.devices[0]: "x 1:2" is not`},
		{"mode", `{"profiles": [{"name": "a", "standalone": true, "rules": [{"mknod": {"devices": ["c 1:3"], "targets": ["/dev/*"], "maxMode": "999"}}]}]}`,
			`profiles[0].rules[0].mknod.maxMode: "999" is not an octal mode`},
		{"force flag", `{"profiles": [{"name": "a", "standalone": true, "rules": [{"mount": {"fstype": "tmpfs", "maxSize": "1M", "targets": ["/m"], "forceFlags": ["suid"]}}]}]}`,
			`profiles[0].rules[0].mount.forceFlags[0]: "suid" is not one of`},
		{"bind relative", `{"profiles": [{"name": "a", "standalone": true, "rules": [{"mount": {"bind": "srv", "targets": ["/m"]}}]}]}`,
			`profiles[0].rules[0].mount.bind: "srv" is not a clean absolute host path`},
		{"namespace", `{"profiles": [{"name": "a", "namespaces": ["Kube System"], "rules": [{"umount": {"targets": ["/x"]}}]}]}`,
			`profiles[0].namespaces[0]: "Kube System" is not a Kubernetes namespace`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("fgac.json", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	p := mustParse(t, example)
	for _, tc := range []struct {
		name     string
		metadata string
		ann      map[string]string
		want     string // profile, or an error substring
	}{
		{"metadata standalone", "scratch", nil, "scratch"},
		{"annotation in namespace", "", map[string]string{ProfileAnnotation: "scratch", NamespaceAnnotation: "edge"}, "scratch"},
		{"cri-o namespace", "", map[string]string{ProfileAnnotation: "scratch", PodNamespaceAnnotation: "edge"}, "scratch"},
		{"namespace not allowed", "", map[string]string{ProfileAnnotation: "scratch", NamespaceAnnotation: "default"}, `namespace "default" may not use profile "scratch"`},
		{"wildcard namespace", "k8s-only", map[string]string{NamespaceAnnotation: "default"}, "k8s-only"},
		{"not standalone", "k8s-only", nil, "for Kubernetes namespaces only"},
		{"disagree", "scratch", map[string]string{ProfileAnnotation: "k8s-only"}, "listenerMetadata asks for"},
		{"namespaces disagree", "scratch", map[string]string{NamespaceAnnotation: "edge", PodNamespaceAnnotation: "x"}, "disagree"},
		{"none", "", nil, "no profile asked for"},
		{"unknown", "nope", nil, `no profile "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr, err := p.Select(tc.metadata, tc.ann)
			switch {
			case err == nil && pr.Name == tc.want:
			case err != nil && errors.Is(err, ErrDenied) && strings.Contains(err.Error(), tc.want):
			default:
				t.Errorf("Select = %v, %v; want %q", pr, err, tc.want)
			}
		})
	}
}

func TestMountDecisions(t *testing.T) {
	pr := mustParse(t, example).Profile("scratch")
	for _, tc := range []struct {
		name string
		req  MountRequest
		want string // "" allowed, else an error substring
		opts string
		fl   uint64
	}{
		{"plain tmpfs", MountRequest{Source: "tmpfs", Target: "/mnt/a", FSType: "tmpfs", Flags: msMgcVal}, "", "size=67108864,mode=1777", msNosuid | msNodev},
		{"sized", MountRequest{Target: "/scratch/", FSType: "tmpfs", Data: "size=1m,mode=755,nr_inodes=100,uid=5", Flags: msNoexec | msSilent}, "",
			"size=1048576,mode=755,nr_inodes=100", msNoexec | msNosuid | msNodev},
		{"too big", MountRequest{Target: "/mnt/a", FSType: "tmpfs", Data: "size=1g"}, "at most 64M", "", 0},
		{"unlimited", MountRequest{Target: "/mnt/a", FSType: "tmpfs", Data: "size=0"}, "at most 64M", "", 0},
		{"percent", MountRequest{Target: "/mnt/a", FSType: "tmpfs", Data: "size=50%"}, "at most 64M", "", 0},
		{"other option", MountRequest{Target: "/mnt/a", FSType: "tmpfs", Data: "huge=always"}, `tmpfs option "huge"`, "", 0},
		{"target", MountRequest{Target: "/etc", FSType: "tmpfs"}, "matches no pattern", "", 0},
		{"dotdot", MountRequest{Target: "/mnt/../etc", FSType: "tmpfs"}, "matches no pattern", "", 0},
		{"deep", MountRequest{Target: "/mnt/a/b", FSType: "tmpfs"}, "matches no pattern", "", 0},
		{"relative", MountRequest{Target: "mnt/a", FSType: "tmpfs"}, "not an absolute path", "", 0},
		{"fstype", MountRequest{Target: "/mnt/a", FSType: "proc"}, `"proc" is not tmpfs`, "", 0},
		{"remount", MountRequest{Target: "/mnt/a", FSType: "tmpfs", Flags: 0x20}, "mount flags 0x20 not allowed", "", 0},
		{"bind", MountRequest{Source: "/models", Target: "/data/m", Flags: msBind}, "", "", msRdonly | msNosuid | msNodev},
		{"bind other source", MountRequest{Source: "/etc", Target: "/data/m", Flags: msBind}, "bind source", "", 0},
		{"bind recursive", MountRequest{Source: "/models", Target: "/data/m", Flags: msBind | msRec}, "recursive", "", 0},
		{"bind on /data itself", MountRequest{Source: "/models", Target: "/data", Flags: msBind}, "matches no pattern", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := pr.Mount(tc.req)
			if tc.want != "" {
				if err == nil || !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("err = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var opts []string
			for _, o := range plan.Options {
				opts = append(opts, o[0]+"="+o[1])
			}
			if strings.Join(opts, ",") != tc.opts || plan.Flags != tc.fl {
				t.Errorf("plan = %+v, want options %s flags %#x", plan, tc.opts, tc.fl)
			}
		})
	}
}

func TestMknodDecisions(t *testing.T) {
	pr := mustParse(t, example).Profile("scratch")
	for _, tc := range []struct {
		target       string
		block        bool
		perm, ma, mi uint32
		want         string
	}{
		{"/dev/null2", false, 0o666, 1, 3, ""},
		{"/tmp/zero", false, 0o600, 1, 5, ""},
		{"/dev/misc", false, 0o600, 10, 200, ""},
		{"/dev/sda", true, 0o600, 8, 0, "allows b 8:0"},
		{"/dev/mem", false, 0o600, 1, 1, "allows c 1:1"},
		{"/etc/null", false, 0o666, 1, 3, "matches no pattern"},
		{"/dev/null2", false, 0o4777, 1, 3, "exceeds 0666"},
	} {
		_, err := pr.Mknod(tc.target, tc.block, tc.perm, tc.ma, tc.mi)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Mknod(%s %v %o %d:%d) = %v, want %q", tc.target, tc.block, tc.perm, tc.ma, tc.mi, err, tc.want)
		}
	}
	if err := pr.Sethostname("edge-1"); err != nil {
		t.Error(err)
	}
	if err := pr.Sethostname("core"); err == nil {
		t.Error("sethostname core allowed")
	}
	if _, err := pr.Umount("/mnt/a"); err != nil {
		t.Error(err)
	}
	if _, err := pr.Umount("/"); err == nil {
		t.Error("umount / allowed")
	}
	if got := strings.Join(pr.Syscalls(), " "); got != "mount umount2 mknod mknodat sethostname" {
		t.Errorf("Syscalls = %s", got)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"4096": 4096, "64M": 64 << 20, "64Mi": 64 << 20, "1g": 1 << 30, "2k": 2048} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "M", "1i", "50%", "-1", "1T", "99999999999999999999"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

// TestValidName pins the name rule validName implements (it replaced the
// regexp ^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$).
func TestValidName(t *testing.T) {
	long := strings.Repeat("a", 64)
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"a", true}, {"0", true}, {"a.b_c-d", true}, {"ab", true}, {long, true},
		{"", false}, {long + "a", false}, {"-a", false}, {"a-", false}, {".", false},
		{"A", false}, {"a b", false}, {"a/b", false}, {"é", false}, {"a\x00", false},
	} {
		if got := validName(tc.s); got != tc.want {
			t.Errorf("validName(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

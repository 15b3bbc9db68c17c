package installer

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestInstallRefuses: bad or unexpected input is an error that names the
// problem, and every file stays as it was.
func TestInstallRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		dist   string
		files  []fixture
		is     error
		errHas string
	}{
		{name: "unparsable TOML", files: []fixture{{cdConfig, "bad-unparsable.toml"}},
			errHas: "is not valid TOML (line 2"},
		{name: "sl written by someone else (version 2)", files: []fixture{{cdConfig, "bad-foreign-sl-v2.toml"}},
			is: ErrForeignRuntime},
		{name: "sl in an inline table (version 3)", files: []fixture{{cdConfig, "bad-foreign-sl-v3-inline.toml"}},
			is: ErrForeignRuntime},
		{name: "inline runtimes table cannot take ours", files: []fixture{{cdConfig, "bad-inline-runtimes-v2.toml"}},
			errHas: "would break it"},
		{name: "version 1", files: []fixture{{cdConfig, "bad-version1.toml"}},
			errHas: "config version 1 is not supported"},
		{name: "version 2 relying on the default runtimes", files: []fixture{{cdConfig, "bad-v2-no-runtimes.toml"}},
			errHas: "would then lose its default runc"},
		{name: "no config", files: nil, errHas: "does not exist"},
		{name: "sl in another imported drop-in",
			files: []fixture{{cdConfig, "containerd-2.4-default.toml"}, {"/etc/containerd/conf.d/gvisor.toml", "bad-foreign-dropin.toml"}},
			is:    ErrForeignRuntime},
		{name: "someone else's file where the drop-in goes",
			files:  []fixture{{cdConfig, "containerd-2.4-default.toml"}, {"/etc/containerd/conf.d/slrt.toml", "containerd-2-registry.toml"}},
			errHas: "was not written by slrt install"},
		{name: "k3s template with its own sl", dist: K3s,
			files: []fixture{{k3sConfig, "k3s-v3-rendered.toml"}, {k3sDir + "/config-v3.toml.tmpl", "bad-k3s-tmpl-foreign-sl.tmpl"}},
			is:    ErrForeignRuntime},
		{name: "k3s template that does not parse", dist: K3s,
			files:  []fixture{{k3sConfig, "k3s-v2-rendered.toml"}, {k3sDir + "/config.toml.tmpl", "bad-k3s-tmpl-broken.tmpl"}},
			errHas: "is not a valid template"},
		{name: "k3s never started", dist: K3s, files: nil, errHas: "start k3s once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := caseTree(t, tc.files)
			before := snapshot(t, root)
			_, err := Install(options(root, tc.dist))
			switch {
			case err == nil:
				t.Fatal("install succeeded")
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Fatalf("error %q, want %v", err, tc.is)
			case tc.errHas != "" && !strings.Contains(err.Error(), tc.errHas):
				t.Fatalf("error %q, want it to say %q", err, tc.errHas)
			}
			t.Log(err)
			diffSnapshots(t, before, snapshot(t, root))
		})
	}
}

// TestInstallReadOnlyFile: a config without write bits is left alone even
// by root, and the drop-in planned with it is not written either.
func TestInstallReadOnlyFile(t *testing.T) {
	root := caseTree(t, []fixture{{cdConfig, "containerd-2-v3-runtimes.toml"}})
	if err := os.Chmod(root+cdConfig, 0o444); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, root)
	_, err := Install(options(root, ""))
	if !errors.Is(err, ErrReadOnly) {
		t.Fatalf("install: %v, want %v", err, ErrReadOnly)
	}
	diffSnapshots(t, before, snapshot(t, root))
}

// TestInstallReadOnlyMount: writing fails half way (the drop-in's directory
// is on a read-only mount); what was written is undone.
func TestInstallReadOnlyMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
	root := caseTree(t, []fixture{{cdConfig, "containerd-2-v3-runtimes.toml"}})
	ro := root + "/etc/containerd/conf.d"
	if err := os.Mkdir(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, root)
	if err := unix.Mount(ro, ro, "", unix.MS_BIND, ""); err != nil {
		t.Skipf("bind mount: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(ro, unix.MNT_DETACH) })
	if err := unix.Mount("", ro, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
		t.Skipf("remount read-only: %v", err)
	}
	_, err := Install(options(root, ""))
	if !errors.Is(err, unix.EROFS) {
		t.Fatalf("install: %v, want EROFS", err)
	}
	t.Log(err)
	diffSnapshots(t, before, snapshot(t, root))
}

// TestHostRoot: with --host-root the node's paths are read and written under
// it, while the config keeps naming host paths (runtime_path, imports).
func TestHostRoot(t *testing.T) {
	root := t.TempDir()
	src := t.TempDir()
	for _, d := range []string{"/etc/containerd", "/opt/bin"} {
		os.MkdirAll(root+d, 0o755)
	}
	data, _ := os.ReadFile("testdata/containerd-2-v3-runtimes.toml")
	os.WriteFile(root+cdConfig, data, 0o600)
	for _, b := range Binaries {
		os.WriteFile(filepath.Join(src, b), []byte("binary "+b), 0o755)
	}
	before := snapshot(t, root)
	o := Options{HostRoot: root, BinDir: "/opt/bin", SourceDir: src}
	res, err := Install(o)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, c := range res.Changes {
		paths = append(paths, c.Path)
	}
	want := []string{"/opt/bin/" + ShimBinary, "/opt/bin/" + CLIBinary, "/etc/containerd/conf.d/slrt.toml", cdConfig}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Fatalf("changed %q, want %q", paths, want)
	}
	cfg, _ := os.ReadFile(root + cdConfig)
	if !strings.Contains(string(cfg), `imports = ["/etc/containerd/conf.d/slrt.toml"]`) {
		t.Errorf("config imports no host path:\n%s", cfg)
	}
	if fi, _ := os.Stat(root + cdConfig); fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v, want the original 0600", fi.Mode().Perm())
	}
	dropin, _ := os.ReadFile(root + "/etc/containerd/conf.d/slrt.toml")
	if !strings.Contains(string(dropin), `runtime_path = "/opt/bin/containerd-shim-slrt-v2"`) {
		t.Errorf("drop-in:\n%s", dropin)
	}
	if fi, err := os.Stat(root + "/opt/bin/" + ShimBinary); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("shim: %v %v", fi, err)
	}
	// A new binary is copied again, without a restart.
	os.WriteFile(filepath.Join(src, ShimBinary), []byte("binary v2"), 0o755)
	res, err = Install(o)
	if err != nil || len(res.Changes) != 1 || res.NeedsRestart {
		t.Fatalf("install of a new binary: %+v %v", res, err)
	}
	if _, err := Uninstall(o); err != nil {
		t.Fatal(err)
	}
	diffSnapshots(t, before, snapshot(t, root))
}

func TestParseRestart(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      bool
	}{
		{in: "none", want: "none"},
		{in: "", want: "none"},
		{in: "command:systemctl restart k3s", want: "command:systemctl restart k3s"},
		{in: "signal:/run/containerd.pid:TERM", want: "signal:/run/containerd.pid:SIGTERM"},
		{in: "signal:/run/a:b.pid:sighup", want: "signal:/run/a:b.pid:SIGHUP"},
		{in: "signal:/run/k3s.pid:15", want: "signal:/run/k3s.pid:SIGTERM"},
		{in: "command:", err: true},
		{in: "signal:/run/x.pid", err: true},
		{in: "signal:/run/x.pid:NOPE", err: true},
		{in: "none:x", err: true},
		{in: "systemd", err: true},
	} {
		r, err := ParseRestart(tc.in)
		if (err != nil) != tc.err || (err == nil && r.String() != tc.want) {
			t.Errorf("ParseRestart(%q) = %v, %v; want %q (error %v)", tc.in, r, err, tc.want, tc.err)
		}
	}
}

// TestRestartOnlyOnChange: the restart runs when the config changed, and
// not on a second install.
func TestRestartOnlyOnChange(t *testing.T) {
	root := caseTree(t, []fixture{{cdConfig, "containerd-1.7-default.toml"}})
	mark := filepath.Join(root, "restarted")
	o := options(root, "")
	o.Restart = Restart{Kind: "command", Command: "echo x >> " + mark}
	for i, want := range []string{"x\n", "x\n"} {
		if _, err := Install(o); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(mark); string(got) != want {
			t.Fatalf("install %d: restarts %q, want %q", i+1, got, want)
		}
	}
	pid := filepath.Join(root, "pid")
	os.WriteFile(pid, []byte("999999999\n"), 0o644)
	o.Restart = Restart{Kind: "signal", PIDFile: pid, Signal: unix.SIGTERM}
	if _, err := Uninstall(o); err == nil || !strings.Contains(err.Error(), "999999999") {
		t.Fatalf("uninstall with a dead pid: %v, want an error naming it", err)
	}
}

// TestHostCommandJoinsMountNamespace: a command restart runs in the mount
// namespace of the host's init (here: a process in a namespace of its own,
// with a tmpfs only it sees), not in the installer's.
func TestHostCommandJoinsMountNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to unshare")
	}
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe")
	os.Mkdir(probe, 0o755)
	os.WriteFile(filepath.Join(probe, "outside"), nil, 0o644)
	ready := filepath.Join(dir, "ready")
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c",
		"mount -t tmpfs t "+probe+" && touch "+probe+"/inside "+ready+" && exec sleep 60")
	if err := cmd.Start(); err != nil {
		t.Skipf("unshare: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	saved := hostPID
	hostPID = cmd.Process.Pid
	t.Cleanup(func() { hostPID = saved })
	out := filepath.Join(dir, "seen")
	if err := hostCommand("ls "+probe+" > "+out, os.Stderr); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); strings.TrimSpace(string(got)) != "inside" {
		t.Fatalf("the command saw %q in %s, want the other namespace's %q", got, probe, "inside")
	}
}

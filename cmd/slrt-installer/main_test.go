package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// node makes a host tree under a temp dir: containerd 2.4's default config
// at /etc/containerd/config.toml, an empty /usr/local/bin, and a source dir
// holding the two binaries install copies. It returns the host root and the
// source dir.
func node(t *testing.T, config string) (string, string) {
	t.Helper()
	root := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join("..", "..", "k8s", "installer", "testdata", config))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"etc/containerd", "usr/local/bin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc/containerd/config.toml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	for _, b := range []string{"slrt", "containerd-shim-slrt-v2"} {
		if err := os.WriteFile(filepath.Join(src, b), []byte("#!/bin/true\n"+b+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root, src
}

// tree maps each path under root to its mode and content.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		v := info.Mode().String()
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(b)
		}
		m[strings.TrimPrefix(p, root)] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func runArgs(t *testing.T, args ...string) (int, string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	waited := 0
	code := run(args, &stdout, &stderr, func() { waited++ })
	return code, stdout.String(), stderr.String(), waited
}

// TestInstallUninstall: install copies both binaries and registers sl (a
// drop-in plus an imports entry on containerd 2.x's default config),
// --wait waits only after that, a second install changes nothing, and
// uninstall gives the node back byte for byte.
func TestInstallUninstall(t *testing.T) {
	root, src := node(t, "containerd-2.4-default.toml")
	before := tree(t, root)
	flags := []string{"--host-root", root, "--source-dir", src, "--restart", "none"}

	code, out, errs, waited := runArgs(t, append([]string{"install", "--wait"}, flags...)...)
	if code != 0 {
		t.Fatalf("install: exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"/usr/local/bin/containerd-shim-slrt-v2: binary installed\n",
		"/usr/local/bin/slrt: binary installed\n",
		"/etc/containerd/conf.d/slrt.toml: ",
		"slrt installed; restart containerd (or k3s) for it to take effect\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("install output lacks %q:\n%s", want, out)
		}
	}
	if waited != 1 {
		t.Errorf("--wait waited %d times, want 1", waited)
	}
	for _, b := range []string{"slrt", "containerd-shim-slrt-v2"} {
		got, err := os.ReadFile(filepath.Join(root, "usr/local/bin", b))
		want, _ := os.ReadFile(filepath.Join(src, b))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s on the host: %q, %v; want the source's", b, got, err)
		}
	}
	dropin, err := os.ReadFile(filepath.Join(root, "etc/containerd/conf.d/slrt.toml"))
	if err != nil || !bytes.Contains(dropin, []byte(`runtime_type = "io.containerd.slrt.v2"`)) {
		t.Errorf("drop-in: %q, %v", dropin, err)
	}
	installed := tree(t, root)

	code, out, errs, waited = runArgs(t, append([]string{"install"}, flags...)...)
	if code != 0 || out != "slrt installed: nothing to change\n" || waited != 0 {
		t.Errorf("second install: exit %d, waited %d, out %q, err %q", code, waited, out, errs)
	}
	if !reflect.DeepEqual(tree(t, root), installed) {
		t.Error("second install changed files")
	}

	code, out, errs, _ = runArgs(t, append([]string{"uninstall"}, flags...)...)
	if code != 0 || !strings.Contains(out, "slrt uninstalled; restart containerd") {
		t.Fatalf("uninstall: exit %d, out %q, err %q", code, out, errs)
	}
	if got := tree(t, root); !reflect.DeepEqual(got, before) {
		t.Errorf("uninstall left the node as\n%v\nwant\n%v", got, before)
	}
}

// TestRefusals: a bad command line or an install the node refuses exits
// non-zero with a message naming what is wrong, and writes nothing.
func TestRefusals(t *testing.T) {
	root, src := node(t, "containerd-2.4-default.toml")
	bad, _ := node(t, "bad-unparsable.toml")
	empty := t.TempDir()
	host := []string{"--host-root", root, "--source-dir", src}
	for _, tc := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"no command", nil, 2, "Usage:"},
		{"unknown command", []string{"frob"}, 2, `unknown command "frob": want install or uninstall`},
		{"unknown flag", append([]string{"install", "--nope"}, host...), 2, "flag provided but not defined: -nope"},
		{"argument", append([]string{"install", "extra"}, host...), 2, `unexpected argument "extra": install takes only flags`},
		{"wait on uninstall", append([]string{"uninstall", "--wait"}, host...), 2, "flag provided but not defined: -wait"},
		{"restart method", append([]string{"install", "--restart", "systemd"}, host...), 1, `"systemd"`},
		{"distribution", append([]string{"install", "--distribution", "k8s"}, host...), 1, `distribution "k8s": want containerd or k3s`},
		{"relative config", append([]string{"install", "--config", "etc/containerd/config.toml"}, host...), 1, "a host path must be absolute"},
		{"label", append([]string{"install", "--label-node", "n1", "--label", "novalue"}, host...), 1, `--label "novalue": want key=value`},
		{"no binaries", []string{"install", "--host-root", root, "--source-dir", empty}, 1, "binary to install"},
		{"unparsable config", []string{"install", "--host-root", bad, "--source-dir", src}, 1, "config.toml"},
		{"bin dir missing", append([]string{"install", "--bin-dir", "/opt/none"}, host...), 1, "bin dir /opt/none does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, beforeBad := tree(t, root), tree(t, bad)
			code, out, errs, waited := runArgs(t, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.err) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, tc.code, tc.err)
			}
			if out != "" || waited != 0 {
				t.Errorf("stdout %q, waited %d; want nothing", out, waited)
			}
			if !reflect.DeepEqual(tree(t, root), before) || !reflect.DeepEqual(tree(t, bad), beforeBad) {
				t.Error("files changed")
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "slrt-installer uninstall [flags]"},
		{[]string{"help"}, "slrt-installer install [flags]"},
		{[]string{"install", "--help"}, "-restart string"},
		{[]string{"install", "-h"}, "-wait"},
		{[]string{"uninstall", "--help"}, "-label-node string"},
		{[]string{"--version"}, "slrt-installer version "},
	} {
		code, out, errs, _ := runArgs(t, tc.args...)
		if code != 0 || !strings.Contains(out, tc.want) || errs != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 0 and %q", tc.args, code, out, errs, tc.want)
		}
	}
	if _, out, _, _ := runArgs(t, "uninstall", "--help"); strings.Contains(out, "-wait") {
		t.Errorf("uninstall --help lists --wait:\n%s", out)
	}
}

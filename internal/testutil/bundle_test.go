package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

const imageDir = "../../images/busybox"

// buildImage runs images/busybox/build.sh into a fresh directory.
func buildImage(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(Busybox); err != nil {
		t.Skipf("%s missing: apt-get install busybox-static", Busybox)
	}
	out := t.TempDir()
	cmd := exec.Command(filepath.Join(imageDir, "build.sh"), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, b)
	}
	return out
}

func TestBundle(t *testing.T) {
	image := buildImage(t)
	for name, env := range map[string]string{"from SLRT_IMAGE": image, "from busybox": ""} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("SLRT_IMAGE", env)
			b := Bundle(t, "true")
			spec := ReadSpec(t, b)
			if !reflect.DeepEqual(spec.Process.Args, []string{"true"}) || spec.Process.Terminal {
				t.Errorf("process = %+v, want args [true] without terminal", spec.Process)
			}
			if fi, err := os.Stat(filepath.Join(b, "rootfs/bin/busybox")); err != nil || fi.Mode()&0o111 == 0 {
				t.Errorf("rootfs/bin/busybox: %v, %v", fi, err)
			}
			if l, err := os.Readlink(filepath.Join(b, "rootfs/bin/sh")); err != nil || l != "../bin/busybox" {
				t.Errorf("rootfs/bin/sh -> %q, %v", l, err)
			}
			if fi, err := os.Stat(filepath.Join(b, "rootfs/tmp")); err != nil || fi.Mode()&(fs.ModePerm|fs.ModeSticky) != 0o777|fs.ModeSticky {
				t.Errorf("rootfs/tmp: %v, %v; want 1777", fi.Mode(), err)
			}
			if fi, err := os.Stat(b); err != nil || fi.Mode().Perm() != 0o711 {
				t.Errorf("bundle dir mode %v, %v; want 0711 so a user namespace can reach it", fi.Mode(), err)
			}

			// A test may change its bundle without touching the image.
			os.WriteFile(filepath.Join(b, "rootfs/etc/passwd"), []byte("changed\n"), 0o644)
			if b2 := Bundle(t); string(readFile(t, filepath.Join(b2, "rootfs/etc/passwd"))) == "changed\n" {
				t.Error("bundles share their rootfs")
			}
			if env != "" && string(readFile(t, filepath.Join(image, "rootfs/etc/passwd"))) == "changed\n" {
				t.Error("changing a bundle changed the image")
			}
		})
	}
}

func TestWriteReadSpec(t *testing.T) {
	dir := t.TempDir()
	spec := DefaultSpec("sleep", "1")
	spec.Hostname = "other"
	WriteSpec(t, dir, spec)
	if got := ReadSpec(t, dir); !reflect.DeepEqual(got, spec) {
		t.Errorf("ReadSpec = %+v, want %+v", got, spec)
	}
}

// The Go fallback must build what build.sh builds, and DefaultSpec must be
// config.sh's spec: tests behave the same with and without make.
func TestBuildRootfsMatchesImage(t *testing.T) {
	image := buildImage(t)
	fallback := filepath.Join(t.TempDir(), "rootfs")
	if err := BuildRootfs(fallback, Busybox); err != nil {
		t.Fatal(err)
	}
	want, got := listTree(t, filepath.Join(image, "rootfs")), listTree(t, fallback)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("BuildRootfs differs from build.sh:\n got %d entries: %s\nwant %d entries: %s",
			len(got), diffLines(got, want), len(want), diffLines(want, got))
	}
	if len(want) < 200 {
		t.Errorf("image has %d entries, want a link per applet", len(want))
	}
}

func TestDefaultSpecMatchesImage(t *testing.T) {
	image := buildImage(t)
	got := DefaultSpec(DefaultArgs...)
	want := ReadSpec(t, image)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultSpec differs from images/busybox/config.json:\n got %+v\nwant %+v", got, want)
	}
}

// listTree describes every entry under root: path, type and mode, link
// target or content hash.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v", rel, info.Mode())
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(path)
			line += " -> " + l
		case d.Type().IsRegular():
			sum := sha256.Sum256(readFile(t, path))
			line += " " + hex.EncodeToString(sum[:8])
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// diffLines lists the lines of a not in b.
func diffLines(a, b []string) string {
	in := map[string]bool{}
	for _, l := range b {
		in[l] = true
	}
	var d []string
	for _, l := range a {
		if !in[l] {
			d = append(d, l)
		}
	}
	return strings.Join(d, "; ")
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

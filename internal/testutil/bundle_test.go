package testutil

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

const imageDir = "../../images/busybox"

// buildImage runs images/busybox/build.sh into a fresh directory.
func buildImage(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("/bin/busybox missing: apt-get install busybox-static")
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
	for name, env := range map[string]string{"from SLRT_IMAGE": image, "SLRT_IMAGE unset": ""} {
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
			img, err := Image()
			if err != nil {
				t.Fatal(err)
			}
			if string(readFile(t, filepath.Join(img, "rootfs/etc/passwd"))) == "changed\n" {
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

// DefaultSpec must be config.sh's spec: bundles from the image and from
// Bundle run the same way.
func TestDefaultSpecMatchesImage(t *testing.T) {
	image := buildImage(t)
	got := DefaultSpec(DefaultArgs...)
	want := ReadSpec(t, image)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultSpec differs from images/busybox/config.json:\n got %+v\nwant %+v", got, want)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

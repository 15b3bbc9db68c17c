// Package testutil holds what every integration test of the engine and the
// CLI needs: OCI bundles made from the busybox test image, spec helpers,
// root and binary guards, and a leak checker (see Leaks).
//
// The image comes from $SLRT_IMAGE (make test sets it to build/busybox, made
// by images/busybox/build.sh); without it Bundle builds the same rootfs from
// /bin/busybox (Debian's busybox-static) directly.
package testutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultArgs is the process the busybox image's own config.json runs: it
// shows that the workload ran inside the image (os-release) and as whom.
var DefaultArgs = []string{"sh", "-c", "echo hello from slrt; cat /etc/os-release 2>/dev/null; id"}

// Busybox is the static busybox Bundle uses when $SLRT_IMAGE is unset.
var Busybox = "/bin/busybox"

// Bundle makes a fresh bundle directory (removed when the test ends): a
// private copy of the busybox rootfs, so a test may change it freely, and a
// config.json from DefaultSpec running args (DefaultArgs when none).
func Bundle(t testing.TB, args ...string) string {
	t.Helper()
	if len(args) == 0 {
		args = DefaultArgs
	}
	dir := t.TempDir()
	// t.TempDir makes 0700 directories. A user-namespaced container's root
	// (an unprivileged uid on the host) must still reach its rootfs.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatalf("chmod bundle dir: %v", err)
		}
	}
	rootfs := filepath.Join(dir, "rootfs")
	if img := os.Getenv("SLRT_IMAGE"); img != "" {
		if err := copyTree(filepath.Join(img, "rootfs"), rootfs); err != nil {
			t.Fatalf("copy rootfs from $SLRT_IMAGE: %v", err)
		}
	} else if err := BuildRootfs(rootfs, Busybox); err != nil {
		t.Fatalf("build rootfs ($SLRT_IMAGE unset): %v", err)
	}
	WriteSpec(t, dir, DefaultSpec(args...))
	return dir
}

// WriteSpec writes spec as bundle/config.json.
func WriteSpec(t testing.TB, bundle string, spec *specs.Spec) {
	t.Helper()
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		t.Fatalf("encode spec: %v", err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		t.Fatalf("write spec: %v", err)
	}
}

// ReadSpec reads bundle/config.json.
func ReadSpec(t testing.TB, bundle string) *specs.Spec {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatalf("read spec: %v", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatalf("decode %s/config.json: %v", bundle, err)
	}
	return &spec
}

// RequireRoot skips the test when it cannot create containers: not root,
// or go test -short (unit tests only).
func RequireRoot(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("integration test: needs root")
	}
}

// Binary returns the slrt CLI under test ($SLRT_BIN, set by make test), or
// skips the test when it is unset.
func Binary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("SLRT_BIN")
	if bin == "" {
		t.Skip("$SLRT_BIN not set: run CLI tests through make test")
	}
	return bin
}

// StateRoot makes a fresh, empty state root for the engine, removed when the
// test ends. It lives under /run/slrt-test when root can write there: /run
// is tmpfs on a normal host, as the engine's DefaultRoot is, and the path is
// short, so unix sockets made in it stay under the 108-byte limit whatever
// the test's name. Call it before Leaks so Leaks sees it while it still
// exists.
func StateRoot(t testing.TB) string {
	t.Helper()
	base := "/run/slrt-test"
	if err := os.MkdirAll(base, 0o700); err != nil {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp(base, "")
	if err != nil {
		t.Fatalf("state root: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// copyTree copies the rootfs src to dst, which must not exist. Files are
// copied, not hard-linked: user-namespace tests chown their rootfs, and that
// must not change the shared image (a copy of the ~2 MB image takes a few ms
// with copy_file_range).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		case d.Type().IsRegular():
			if err := copyFile(path, target); err != nil {
				return err
			}
		default:
			return fmt.Errorf("copy %s: unsupported file type %v", path, d.Type())
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
			if err := os.Lchown(target, int(st.Uid), int(st.Gid)); err != nil {
				return err
			}
		}
		if d.Type()&fs.ModeSymlink == 0 {
			// After chown: chown clears setuid/setgid bits.
			return os.Chmod(target, info.Mode()&(fs.ModePerm|fs.ModeSticky|fs.ModeSetuid|fs.ModeSetgid))
		}
		return nil
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// Files of the busybox image besides busybox and its applet links; the same
// as images/busybox/build.sh writes (TestBuildRootfsMatchesImage checks).
var imageFiles = []struct {
	path string
	mode fs.FileMode
	data string
}{
	{"etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
	{"etc/group", 0o644, "root:x:0:\nnogroup:x:65534:\n"},
	{"etc/hosts", 0o644, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"},
	{"etc/resolv.conf", 0o644, ""},
}

var imageDirs = []struct {
	path string
	mode fs.FileMode
}{
	{"bin", 0o755}, {"sbin", 0o755}, {"usr", 0o755}, {"usr/bin", 0o755}, {"usr/sbin", 0o755},
	{"etc", 0o755}, {"root", 0o700}, {"proc", 0o755}, {"sys", 0o755}, {"dev", 0o755},
	{"tmp", 0o777 | fs.ModeSticky}, {"run", 0o755}, {"var", 0o755}, {"var/tmp", 0o777 | fs.ModeSticky},
}

// BuildRootfs makes the busybox image's rootfs at dir (which must not exist)
// from the static busybox binary: the fallback when $SLRT_IMAGE is unset.
func BuildRootfs(dir, busybox string) error {
	list, err := exec.Command(busybox, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("%s --list-full (apt-get install busybox-static): %w", busybox, err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	for _, d := range imageDirs {
		p := filepath.Join(dir, d.path)
		if err := os.Mkdir(p, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(p, d.mode); err != nil {
			return err
		}
	}
	bb := filepath.Join(dir, "bin/busybox")
	if err := copyFile(busybox, bb); err != nil {
		return err
	}
	if err := os.Chmod(bb, 0o755); err != nil {
		return err
	}
	for _, applet := range strings.Split(string(bytes.TrimSpace(list)), "\n") {
		if applet == "" || applet == "bin/busybox" {
			continue
		}
		target := strings.Repeat("../", strings.Count(applet, "/")) + "bin/busybox"
		if err := os.Symlink(target, filepath.Join(dir, applet)); err != nil {
			return err
		}
	}
	files := imageFiles
	version := busyboxVersion(busybox)
	osRelease := fmt.Sprintf("NAME=\"slrt busybox\"\nID=slrt-busybox\nVERSION_ID=%s\nPRETTY_NAME=\"slrt busybox test image (BusyBox %s)\"\n", version, version)
	files = append(files, struct {
		path string
		mode fs.FileMode
		data string
	}{"etc/os-release", 0o644, osRelease})
	for _, f := range files {
		p := filepath.Join(dir, f.path)
		if err := os.WriteFile(p, []byte(f.data), f.mode); err != nil {
			return err
		}
		if err := os.Chmod(p, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// busyboxVersion is "1.35.0" from busybox's banner "BusyBox v1.35.0 (...)".
func busyboxVersion(busybox string) string {
	out, _ := exec.Command(busybox).Output() // exits 0 with usage; the banner is all we need
	line, _, _ := strings.Cut(string(out), "\n")
	if v, ok := strings.CutPrefix(line, "BusyBox v"); ok {
		v, _, _ = strings.Cut(v, " ")
		return v
	}
	return "unknown"
}

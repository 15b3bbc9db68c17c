// Package testutil holds what every integration test of the engine and the
// CLI needs: OCI bundles made from the busybox test image, spec helpers,
// root and binary guards, and a leak checker (see Leaks).
//
// The image comes from $SLRT_IMAGE (make test sets it to build/busybox, made
// by images/busybox/build.sh); without it (plain go test) Bundle runs
// build.sh itself, once per process, into the user's cache directory.
package testutil

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultArgs is the process the busybox image's own config.json runs: it
// shows that the workload ran inside the image (os-release) and as whom.
var DefaultArgs = []string{"sh", "-c", "echo hello from slrt; cat /etc/os-release 2>/dev/null; id"}

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
	img, err := Image()
	if err != nil {
		t.Fatal(err)
	}
	if err := copyTree(filepath.Join(img, "rootfs"), filepath.Join(dir, "rootfs")); err != nil {
		t.Fatalf("copy rootfs of %s: %v", img, err)
	}
	WriteSpec(t, dir, DefaultSpec(args...))
	return dir
}

var built struct {
	once sync.Once
	dir  string
	err  error
}

// Image returns the busybox image directory (rootfs/, config.json):
// $SLRT_IMAGE, or else one images/busybox/build.sh makes in the user's cache
// directory (it rebuilds only when the script or /bin/busybox changed).
func Image() (string, error) {
	if img := os.Getenv("SLRT_IMAGE"); img != "" {
		return img, nil
	}
	built.once.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			built.err = fmt.Errorf("$SLRT_IMAGE unset and no image to build: %w", err)
			return
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			built.err = fmt.Errorf("$SLRT_IMAGE unset: %w", err)
			return
		}
		built.dir = filepath.Join(cache, "slrt", "busybox")
		out, err := exec.Command(filepath.Join(root, "images/busybox/build.sh"), built.dir).CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("$SLRT_IMAGE unset; images/busybox/build.sh %s: %v\n%s", built.dir, err, out)
		}
	})
	return built.dir, built.err
}

// moduleRoot finds the slrt checkout from the working directory, which go
// test sets to the package's own directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if mod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.HasPrefix(mod, []byte("module github.com/slrt/slrt\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the github.com/slrt/slrt module")
		}
		dir = parent
	}
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

// ChownTree gives every file under root (symlinks themselves, not their
// targets) to uid and gid id: a user-namespaced or rootless container's
// rootfs must belong to the uid its root maps to.
func ChownTree(t testing.TB, root string, id int) {
	t.Helper()
	err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, id, id)
	})
	if err != nil {
		t.Fatalf("chown %s to %d: %v", root, id, err)
	}
}

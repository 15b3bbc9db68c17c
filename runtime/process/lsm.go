package process

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// procRoot is the procfs the init writes LSM attributes through, and
// isProcfs the check that an fd is on a real procfs; tests replace both
// to exercise the writes on a fake tree.
var (
	procRoot = "/proc"
	isProcfs = func(fd int) error {
		var st unix.Statfs_t
		if err := unix.Fstatfs(fd, &st); err != nil {
			return err
		}
		if st.Type != unix.PROC_SUPER_MAGIC {
			return errors.New("not on procfs")
		}
		return nil
	}
)

// applyLSM sets the labels the workload gets at its execve, the way
// libapparmor's aa_change_onexec and libselinux's setexeccon do: AppArmor
// takes "exec <profile>" in attr/apparmor/exec (attr/exec before Linux
// 5.1), SELinux the label in attr/exec. It runs after the hooks the init
// runs itself, so they are not confined by the workload's profile. The
// parent already refused a profile or label the host cannot apply.
func applyLSM(pp *channel.ProcessPlan) error {
	if pp.ApparmorProfile != "" {
		if err := writeAttr([]string{"apparmor/exec", "exec"}, "exec "+pp.ApparmorProfile); err != nil {
			return fmt.Errorf("apply process.apparmorProfile %q: %w", pp.ApparmorProfile, err)
		}
	}
	if pp.SelinuxLabel != "" {
		if err := writeAttr([]string{"exec"}, pp.SelinuxLabel); err != nil {
			return fmt.Errorf("apply process.selinuxLabel %q: %w", pp.SelinuxLabel, err)
		}
	}
	return nil
}

// writeAttr writes value to the first attr file of names that exists for
// the calling thread, only through a verified procfs: the container owns
// its /proc mount point and what is mounted below it, and a symlink or a
// bind mount there must not turn this write into one on a file of its
// choosing (CVE-2019-16884, CVE-2025-52881). The attr files are per
// thread; the init runs on its locked main thread, so <tid> is the one
// that execs.
func writeAttr(names []string, value string) error {
	root, err := unix.Openat2(unix.AT_FDCWD, procRoot, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return fmt.Errorf("open %s: %w", procRoot, err)
	}
	defer unix.Close(root)
	if err := isProcfs(root); err != nil {
		return fmt.Errorf("%s: %w", procRoot, err)
	}
	dir := fmt.Sprintf("%d/attr/", unix.Gettid())
	for i, name := range names {
		path := procRoot + "/" + dir + name
		fd, err := unix.Openat2(root, dir+name, &unix.OpenHow{
			Flags:   unix.O_WRONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
		})
		if errors.Is(err, unix.ENOENT) && i < len(names)-1 {
			continue // an older kernel: try the legacy name
		}
		if err != nil {
			if errors.Is(err, unix.EXDEV) {
				return fmt.Errorf("open %s: something is mounted over it", path)
			}
			return fmt.Errorf("open %s: %w", path, err)
		}
		defer unix.Close(fd)
		if err := isProcfs(fd); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		// One write: the kernel takes an attribute only whole.
		if n, err := unix.Write(fd, []byte(value)); err != nil || n != len(value) {
			if err == nil {
				err = fmt.Errorf("short write (%d of %d bytes)", n, len(value))
			}
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	return nil
}

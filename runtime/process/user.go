package process

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// setUser switches to the plan's groups, gid and uid, in that order: once the
// uid is not 0 the others can no longer be changed. Go's syscall.Setuid and
// friends (which x/sys/unix calls) apply to every thread of the process,
// which the init needs: a thread left as root would be a way back.
func setUser(uid, gid uint32, groups []uint32) error {
	if err := setGroups(groups); err != nil {
		return err
	}
	if err := unix.Setgid(int(gid)); err != nil {
		return fmt.Errorf("setgid %d: %w%s", gid, err, unmappedHint(err))
	}
	if err := unix.Setuid(int(uid)); err != nil {
		return fmt.Errorf("setuid %d: %w%s", uid, err, unmappedHint(err))
	}
	return nil
}

// setGroups replaces the supplementary groups, so none of the host's leak
// in. A user namespace set up without a helper has setgroups denied (to
// stop a process from dropping a group that denies it access); with no
// additionalGids that is fine, as the namespace's creator held no groups
// it could carry in.
func setGroups(groups []uint32) error {
	gids := make([]int, len(groups))
	for i, g := range groups {
		gids[i] = int(g)
	}
	err := unix.Setgroups(gids)
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.EPERM) && setgroupsDenied() {
		if len(gids) == 0 {
			return nil
		}
		return fmt.Errorf("setgroups %v: %w (the user namespace has /proc/self/setgroups set to deny: additionalGids cannot be used)", groups, err)
	}
	return fmt.Errorf("setgroups %v: %w%s", groups, err, unmappedHint(err))
}

func setgroupsDenied() bool {
	b, err := os.ReadFile("/proc/self/setgroups")
	return err == nil && strings.TrimSpace(string(b)) == "deny"
}

// unmappedHint explains the EINVAL that set*id returns for an id that has no
// mapping in the container's user namespace.
func unmappedHint(err error) string {
	if errors.Is(err, unix.EINVAL) {
		return " (the id is not mapped in the container's user namespace)"
	}
	return ""
}

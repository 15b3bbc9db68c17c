package container

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/apparmor"
	"github.com/slrt/slrt/runtime/channel"
	"github.com/slrt/slrt/runtime/selinux"
)

// checkLSM refuses a process.apparmorProfile or process.selinuxLabel the
// host cannot apply, as runc does (README "Security notes"): a container
// asked to run confined must not silently run unconfined. runc fails the
// SELinux case in its config validator and the AppArmor case when the
// init's write to attr/exec is refused; slrt fails both here, before
// anything exists, with a message that says why.
func checkLSM(p *specs.Process) error {
	if p == nil {
		return nil
	}
	if p.ApparmorProfile != "" && !apparmor.Enabled() {
		return fmt.Errorf("process.apparmorProfile %q: AppArmor is not enabled on this host", p.ApparmorProfile)
	}
	if p.SelinuxLabel != "" && !selinux.Enabled() {
		return fmt.Errorf("process.selinuxLabel %q: SELinux is disabled or not supported on this host", p.SelinuxLabel)
	}
	return nil
}

// unlabelled are the filesystems linux.mountLabel is not given to, as in
// runc: procfs and sysfs label their files themselves (and reject
// context=), cgroup hierarchies are the host's.
var unlabelled = map[string]bool{"proc": true, "sysfs": true, "cgroup": true, "cgroup2": true}

// labelMounts gives linux.mountLabel to every filesystem the container
// mounts anew (a bind keeps the labels of the files it shows). Without
// SELinux there is nothing to apply it: it is ignored, as runc does.
func labelMounts(label string, rp *channel.RootfsPlan) {
	if label == "" || !selinux.Enabled() {
		return
	}
	for i := range rp.Mounts {
		m := &rp.Mounts[i]
		if m.Bind || unlabelled[m.Type] {
			continue
		}
		m.Data = selinux.WithMountLabel(m.Data, label)
	}
}

/*
 * The labels the workload gets at its execve, the way libapparmor's
 * aa_change_onexec and libselinux's setexeccon set them: AppArmor takes
 * "exec <profile>" in attr/apparmor/exec (attr/exec before Linux 5.1),
 * SELinux the label in attr/exec. The parent already refused a profile or
 * label the host cannot apply.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "process.h"

/*
 * write_attr writes value to the first of the calling thread's attr files
 * in names that exists, only through a verified procfs (a symlink or bind
 * mount in the container's /proc must not turn it into a write to a file of
 * the container's choosing: CVE-2019-16884). The attr files are per thread;
 * the init has one, the one that execs.
 */
static int write_attr(const char *const *names, int n, const char *value)
{
	char rel[64];
	int proc, rc = 0;
	long tid = syscall(SYS_gettid);

	proc = procfs_open("/proc");
	if (proc < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		snprintf(rel, sizeof rel, "%ld/attr/%s", tid, names[i]);
		rc = procfs_write(proc, "/proc", rel, value, strlen(value));
		/* ENOENT on an older kernel: try the legacy name. */
		if (rc == 0 || errno != ENOENT || i == n - 1)
			break;
	}
	close(proc);
	return rc;
}

int apply_lsm(const struct process_plan *pp)
{
	static const char *const apparmor[] = { "apparmor/exec", "exec" };
	static const char *const selinux[] = { "exec" };
	char value[4096];

	if (pp->apparmor_profile && *pp->apparmor_profile) {
		snprintf(value, sizeof value, "exec %s", pp->apparmor_profile);
		if (write_attr(apparmor, 2, value) < 0)
			return wrapf("apply process.apparmorProfile \"%s\"", pp->apparmor_profile);
	}
	if (pp->selinux_label && *pp->selinux_label) {
		if (write_attr(selinux, 1, pp->selinux_label) < 0)
			return wrapf("apply process.selinuxLabel \"%s\"", pp->selinux_label);
	}
	return 0;
}

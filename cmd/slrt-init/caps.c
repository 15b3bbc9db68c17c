/*
 * Capabilities (channel.Caps). They are per thread: the init calls this on
 * the thread that execs, and execve makes that thread's sets the
 * workload's. The kernel needs this order (capabilities(7)):
 *  1. drop the bounding set while uid 0 with CAP_SETPCAP effective;
 *  2. PR_SET_KEEPCAPS, then setgroups/setgid/setuid (process.c), which keeps
 *     the permitted set and clears the effective one;
 *  3. capset(effective, permitted, inheritable), then the ambient set, which
 *     only takes capabilities both permitted and inheritable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "process.h"

#define CAP_VERSION_3 0x20080522
#define CAP_AMBIENT_CLEAR_ALL 4
#define CAP_AMBIENT_RAISE 2

struct cap_header {
	uint32_t version;
	int pid;
};

struct cap_data {
	uint32_t effective;
	uint32_t permitted;
	uint32_t inheritable;
};

static const char *const cap_names[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

#define N_CAP_NAMES (int)(sizeof cap_names / sizeof cap_names[0])

/* cap_name is the name of capability n; numbers newer than this table are
 * written as Go's caps.Name writes them. */
static const char *cap_name(int n, char buf[16])
{
	if (n >= 0 && n < N_CAP_NAMES)
		return cap_names[n];
	snprintf(buf, 16, "CAP_%d", n);
	return buf;
}

/*
 * last_cap is the highest capability the running kernel knows:
 * PR_CAPBSET_READ refuses with EINVAL one it lacks. Probing instead of
 * reading /proc/sys/kernel/cap_last_cap leaves nothing to the container's
 * /proc, where a file mounted over it could make the init drop too little.
 */
static int last_cap(void)
{
	for (int n = 63; n >= 0; n--)
		if (prctl(PR_CAPBSET_READ, n, 0, 0, 0) >= 0)
			return n;
	return errnof("find the last capability: PR_CAPBSET_READ");
}

static uint64_t valid_mask(int last)
{
	return last >= 63 ? ~(uint64_t)0 : ((uint64_t)1 << (last + 1)) - 1;
}

/* Capabilities already out of the set are skipped, so a call without
 * CAP_SETPCAP that has nothing left to drop still succeeds. */
int caps_drop_bounding(const struct caps *c)
{
	char buf[16];
	int last = last_cap();

	if (last < 0)
		return -1;
	for (int n = 0; n <= last; n++) {
		int in;

		if (c->bounding & ((uint64_t)1 << n))
			continue;
		in = prctl(PR_CAPBSET_READ, n, 0, 0, 0);
		if (in < 0)
			return errnof("read %s from the bounding set", cap_name(n, buf));
		if (in == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, n, 0, 0, 0) < 0) {
			int e = errno;

			return errorf("drop %s from the bounding set: %s%s", cap_name(n, buf),
				      errtext(e), e == EPERM ? " (needs CAP_SETPCAP)" : "");
		}
	}
	return 0;
}

static int cap_set(uint64_t eff, uint64_t perm, uint64_t inh)
{
	struct cap_header hdr = { .version = CAP_VERSION_3 };
	struct cap_data data[2];

	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(eff >> (32 * i));
		data[i].permitted = (uint32_t)(perm >> (32 * i));
		data[i].inheritable = (uint32_t)(inh >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0) {
		int e = errno;

		return errorf("capset effective=0x%llx permitted=0x%llx inheritable=0x%llx: %s%s",
			      (unsigned long long)eff, (unsigned long long)perm,
			      (unsigned long long)inh, errtext(e),
			      e == EPERM ? " (permitted must stay within the current permitted set, "
					   "inheritable within the bounding set, effective within permitted)" : "");
	}
	return 0;
}

static int set_ambient(uint64_t mask)
{
	char buf[16];

	if (prctl(PR_CAP_AMBIENT, CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		if (mask == 0 && errno == EINVAL)
			return 0; /* a kernel without ambient capabilities */
		return errnof("clear the ambient set");
	}
	for (int n = 0; n < 64; n++) {
		if (!(mask & ((uint64_t)1 << n)))
			continue;
		if (prctl(PR_CAP_AMBIENT, CAP_AMBIENT_RAISE, n, 0, 0) < 0) {
			int e = errno;

			return errorf("raise ambient %s: %s%s", cap_name(n, buf), errtext(e),
				      e == EPERM ? " (it must be both permitted and inheritable)" : "");
		}
	}
	return 0;
}

/*
 * Capabilities above the kernel's last are left out rather than failing (a
 * spec written for a newer kernel keeps working, as with runc), and so are
 * ambient ones not both permitted and inheritable: runc's own default spec
 * asks for those, and the kernel would refuse to raise them.
 */
int caps_apply(const struct caps *c)
{
	int last = last_cap();
	uint64_t valid;

	if (last < 0)
		return -1;
	valid = valid_mask(last);
	if (cap_set(c->effective & valid, c->permitted & valid, c->inheritable & valid) < 0)
		return -1;
	return set_ambient(c->ambient & c->permitted & c->inheritable & valid);
}

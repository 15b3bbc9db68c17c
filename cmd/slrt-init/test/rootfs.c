/*
 * rootfs: plays slrt-init's filesystem part for runtime/rootfs's
 * TestCRootfs: receive a Plan on fd 3 (the sync socket, wire format in
 * plan.h), then rootfs_prepare, rootfs_pivot, rootfs_finish, and exec
 * busybox with the script in argv[1]. Between prepare and pivot it checks that every mount
 * prepare made is inside the rootfs (after pivot_root the host's mounts are
 * out of view, so one that escaped could no longer be seen). Exit codes:
 * 2 a step failed (its message on stderr), 3 a mount escaped. Not part of
 * slrt-init.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../err.h"
#include "../init.h"
#include "../wire.h"

#define SYNC_FD 3
#define EXIT_FAIL 2
#define EXIT_ESCAPE 3

static void fail(int code, const char *step, const char *msg)
{
	fprintf(stderr, "%s: %s\n", step, msg);
	exit(code);
}

/* mount_ids lists the ids of the mounts in /proc/self/mountinfo. */
static size_t mount_ids(long *ids, size_t max)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		fail(EXIT_FAIL, "mountinfo", "cannot open /proc/self/mountinfo");
	size_t n = 0;
	char line[8192];
	while (n < max && fgets(line, sizeof(line), f))
		ids[n++] = strtol(line, NULL, 10);
	fclose(f);
	return n;
}

static bool known(const long *ids, size_t n, long id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static bool inside(const char *point, const char *root)
{
	size_t n = strlen(root);
	return strncmp(point, root, n) == 0 && (point[n] == '\0' || point[n] == '/');
}

/* check_no_escape fails when a mount not in before lies outside root. */
static void check_no_escape(const long *before, size_t n, const char *root)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		fail(EXIT_FAIL, "mountinfo", "cannot open /proc/self/mountinfo");
	char line[8192], point[4096], fstype[256];
	long id;
	while (fgets(line, sizeof(line), f)) {
		const char *dash = strstr(line, " - ");
		if (sscanf(line, "%ld %*d %*s %*s %4095s", &id, point) != 2 || !dash ||
		    sscanf(dash, " - %255s", fstype) != 1)
			fail(EXIT_FAIL, "mountinfo", line);
		if (!known(before, n, id) && !inside(point, root)) {
			fprintf(stderr, "ESCAPE: %s mounted on %s, outside the rootfs %s\n", fstype,
				point, root);
			exit(EXIT_ESCAPE);
		}
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		fail(EXIT_FAIL, "usage", "rootfs SCRIPT (the plan on fd 3)");
	struct message m;
	int fds[WIRE_MAX_FDS];
	uint32_t n_fds = 0;
	if (wire_recv(SYNC_FD, &m, fds, &n_fds) < 0)
		fail(EXIT_FAIL, "receive plan", errmsg());
	if (m.kind != KIND_PLAN || !m.plan)
		fail(EXIT_FAIL, "receive plan", "not a plan");
	struct plan *p = m.plan;
	static long before[65536];
	size_t n = mount_ids(before, sizeof(before) / sizeof(before[0]));
	if (rootfs_prepare(&p->rootfs, p->new_user_ns) < 0)
		fail(EXIT_FAIL, "prepare", errmsg());
	check_no_escape(before, n, p->rootfs.path);
	if (rootfs_pivot(&p->rootfs) < 0)
		fail(EXIT_FAIL, "pivot", errmsg());
	if (rootfs_finish(&p->rootfs) < 0)
		fail(EXIT_FAIL, "finish", errmsg());
	char *const env[] = {"PATH=/bin", NULL};
	execve("/bin/busybox", (char *const[]){"sh", "-c", argv[1], NULL}, env);
	fail(EXIT_FAIL, "exec busybox", "failed");
}

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "fds.h"
#include "wire.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static int sys_close_range(unsigned first, unsigned last, unsigned flags)
{
	return syscall(SYS_close_range, first, last, flags);
}

/* The stdio fds come first, then the init's extra files from 4 on. */
static int target(uint32_t i)
{
	return i < 3 ? (int)i : (int)i + 1;
}

/*
 * Each fd is first copied above every target, so no move overwrites one
 * still to come; dup2 then clears close-on-exec, as on fds inherited at
 * clone.
 */
int place_files(const int *fds, uint32_t n)
{
	int high[WIRE_MAX_FDS];
	int floor;

	if (n == 0)
		return 0;
	if (n < 3)
		return errorf("plan came with %u fds, want stdin, stdout and stderr first", n);
	if (n > WIRE_MAX_FDS)
		return errorf("plan came with %u fds, more than %d", n, WIRE_MAX_FDS);
	floor = target(n - 1) + 1;
	for (uint32_t i = 0; i < n; i++) {
		high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, floor);
		if (high[i] < 0)
			return errnof("move passed fd %u", i);
		close(fds[i]);
	}
	for (uint32_t i = 0; i < n; i++) {
		if (dup2(high[i], target(i)) < 0)
			return errnof("move passed fd %u to %d", i, target(i));
		close(high[i]);
	}
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* plan_fds lists every fd p refers to and the sync socket (channel's
 * Plan.FDs): a new fd field of the Plan must be added here too. */
static int *plan_fds(const struct plan *p, size_t *n)
{
	const struct process_plan *pp = &p->proc;
	int *keep = calloc(5 + p->n_preserve_fds + 2 * (size_t)p->rootfs.n_mounts, sizeof(int));
	size_t k = 0;

	if (!keep)
		return NULL;
	keep[k++] = SYNC_FD;
	keep[k++] = p->listen_fd;
	keep[k++] = p->console_fd;
	keep[k++] = p->mount_ns_fd;
	keep[k++] = pp->seccomp_listener_fd;
	for (uint32_t i = 0; i < p->n_preserve_fds; i++)
		keep[k++] = p->preserve_fds[i];
	for (uint32_t i = 0; i < p->rootfs.n_mounts; i++) {
		keep[k++] = p->rootfs.mounts[i].source_fd;
		keep[k++] = p->rootfs.mounts[i].mount_fd;
	}
	*n = k;
	return keep;
}

int close_unknown_fds(const struct plan *p)
{
	size_t n;
	int *keep = plan_fds(p, &n);
	int next = 3;

	if (!keep)
		return errorf("close inherited fds: out of memory");
	qsort(keep, n, sizeof(int), cmp_int);
	for (size_t i = 0; i < n; i++) {
		int fd = keep[i];
		if (fd < next)
			continue;
		if (fd > next && sys_close_range(next, fd - 1, 0) < 0)
			return errnof("close inherited fds %d-%d", next, fd - 1);
		next = fd + 1;
	}
	free(keep);
	if (sys_close_range(next, ~0U, 0) < 0)
		return errnof("close inherited fds from %d", next);
	return 0;
}

int mark_fds_cloexec(void)
{
	if (sys_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return errnof("mark fds close-on-exec");
	return 0;
}

/* The fds are first copied above every target (so a move never overwrites
 * a source still to come), then dup2'd into place, clearing close-on-exec. */
int preserve_fds(const int32_t *fds, uint32_t n)
{
	int *high;

	if (n == 0)
		return 0;
	high = calloc(n, sizeof(int));
	if (!high)
		return errorf("preserve fds: out of memory");
	for (uint32_t i = 0; i < n; i++) {
		high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + n + 64);
		if (high[i] < 0)
			return errnof("preserve fd %d", fds[i]);
	}
	for (uint32_t i = 0; i < n; i++)
		if (dup2(high[i], 3 + i) < 0)
			return errnof("preserve fd as %u", 3 + i);
	free(high);
	return 0;
}

/*
 * /dev inside the rootfs: the plan's device nodes and the links
 * runtime-spec config-linux.md "Default Devices" and Linux conventions
 * expect.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "err.h"
#include "rootfs.h"

static int mknod_device(const struct root *r, const struct device *d)
{
	char dir[PATH_MAX];
	const char *name;
	if (split_path(d->path, dir, sizeof(dir), &name) < 0)
		return -1;
	autoclose int parent = root_mkdir_all(r, dir, 0755);
	if (parent < 0)
		return -1;
	dev_t dev = makedev((unsigned)d->major, (unsigned)d->minor);
	if (mknodat(parent, name, d->type | d->mode, dev) < 0) {
		if (errno == EEXIST)
			return 0; /* the image (or a /dev bind) already has it: keep it, as runc does */
		return errnof("mknod " WHERE " (%lld:%lld)", W(r, d->path), (long long)d->major,
			      (long long)d->minor);
	}
	if (fchownat(parent, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return errnof("chown " WHERE " to %u:%u", W(r, d->path), d->uid, d->gid);
	return 0;
}

/* bind_device: in a user namespace the kernel forbids mknod of real
 * devices, so the host's node is bind-mounted onto an empty file instead,
 * as runc does. */
static int bind_device(const struct root *r, const struct device *d)
{
	autoclose int target = root_create(r, d->path, true);
	if (target < 0)
		return -1;
	/* The host's node, from the init's view before pivot_root. */
	if (mount(d->path, fd_path(target).s, NULL, MS_BIND, NULL) < 0)
		return errnof("bind host device %s on " WHERE, d->path, W(r, d->path));
	return 0;
}

int create_devices(const struct root *r, const struct rootfs_plan *p, bool new_userns)
{
	/* The spec's mode is the node's mode, not one filtered by our umask. */
	mode_t old = umask(0);
	int ret = 0;
	for (uint32_t i = 0; i < p->n_devices && ret == 0; i++)
		ret = new_userns ? bind_device(r, &p->devices[i]) : mknod_device(r, &p->devices[i]);
	umask(old);
	return ret;
}

/* link_ptmx points /dev/ptmx at the container's own devpts instance, so a
 * pty opened in the container comes from its namespace, not the host's. */
static int link_ptmx(const struct root *r, int dev)
{
	if (unlinkat(dev, "ptmx", 0) < 0 && errno != ENOENT)
		return errnof("remove " WHERE, W(r, "/dev/ptmx"));
	if (symlinkat("pts/ptmx", dev, "ptmx") < 0)
		return errnof("symlink " WHERE " -> pts/ptmx", W(r, "/dev/ptmx"));
	return 0;
}

static int dev_link(const struct root *r, int dev, const char *target, const char *name)
{
	if (symlinkat(target, dev, name) == 0 || errno == EEXIST)
		return 0;
	char path[64];
	snprintf(path, sizeof(path), "/dev/%s", name);
	return errnof("symlink " WHERE " -> %s", W(r, path), target);
}

int dev_symlinks(const struct root *r, const struct rootfs_plan *p)
{
	autoclose int dev = root_mkdir_all(r, "/dev", 0755);
	if (dev < 0)
		return -1;
	static const char *const links[][2] = {
		{"/proc/self/fd", "fd"},
		{"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"},
	};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (dev_link(r, dev, links[i][0], links[i][1]) < 0)
			return -1;
	bool devpts = false;
	for (uint32_t i = 0; i < p->n_mounts; i++) {
		const struct mount *m = &p->mounts[i];
		/* Kernels without CONFIG_PROC_KCORE have no /proc/kcore; the
		 * host's /proc (still visible before pivot) tells. */
		if (strcmp(m->target, "/proc") == 0 && strcmp(m->type, "proc") == 0 &&
		    access("/proc/kcore", F_OK) == 0 && dev_link(r, dev, "/proc/kcore", "core") < 0)
			return -1;
		if (strcmp(m->target, "/dev/pts") == 0 && strcmp(m->type, "devpts") == 0)
			devpts = true;
	}
	return devpts ? link_ptmx(r, dev) : 0;
}

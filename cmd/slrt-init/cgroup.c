/*
 * The container's /sys/fs/cgroup (runtime-spec config.md mounts of type
 * "cgroup"). On a unified host, or when cgroup2
 * is asked for, that is one cgroup2 mount. On a v1 or hybrid host it is a
 * tmpfs holding every hierarchy the host has: mounted afresh inside a
 * cgroup namespace (the kernel roots each at the namespace's cgroup), or
 * else bind-mounted from the host directory of the container's own cgroup,
 * so the container never sees its siblings.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "err.h"
#include "rootfs.h"

#define HOST_CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP2_SUPER_MAGIC 0x63677270

/* One host cgroup mount under /sys/fs/cgroup. */
struct hierarchy {
	const char *name;    /* directory name there ("cpu,cpuacct", "unified") */
	const char *fstype;  /* cgroup or cgroup2 */
	char subsys[256];    /* v1 subsystems and name=..., as mount data */
	char src[PATH_MAX];  /* host directory of our cgroup in it (no cgroup ns) */
};

/* /proc/self/cgroup, one "ID:CONTROLLERS:PATH" per line, cut in place. */
struct own_cgroups {
	char *buf;
	size_t n;
	struct { char *controllers; char *path; } *e;
};

static void own_free(struct own_cgroups *o)
{
	free(o->e);
	free(o->buf);
}

static int own_read(struct own_cgroups *o)
{
	memset(o, 0, sizeof(*o));
	o->buf = rootfs_read_file("/proc/self/cgroup");
	if (!o->buf)
		return wrapf("read own cgroups");
	size_t lines = 1;
	for (const char *s = o->buf; *s; s++)
		lines += *s == '\n';
	o->e = calloc(lines, sizeof(*o->e));
	if (!o->e) {
		own_free(o);
		return errnof("read own cgroups");
	}
	char *save = NULL;
	for (char *l = strtok_r(o->buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *c = strchr(l, ':');
		char *p = c ? strchr(c + 1, ':') : NULL;
		if (!p)
			continue;
		*p = '\0';
		o->e[o->n].controllers = c + 1;
		o->e[o->n].path = p + 1;
		o->n++;
	}
	return 0;
}

/* own_path is our cgroup in the hierarchy whose /proc/self/cgroup
 * controller list is key ("" for cgroup2). */
static const char *own_path(const struct own_cgroups *o, const char *key)
{
	const char *found = NULL;
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->e[i].controllers, key) == 0)
			found = o->e[i].path; /* a key listed twice: the last line wins */
	return found;
}

static bool has_controller(const struct own_cgroups *o, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < o->n; i++)
		for (const char *c = o->e[i].controllers; *c;) {
			const char *end = strchrnul(c, ',');
			if ((size_t)(end - c) == n && strncmp(c, name, n) == 0)
				return true;
			c = *end ? end + 1 : end;
		}
	return false;
}

/* v1_subsys keeps the superblock options that name a subsystem we are in
 * (or a named hierarchy): they are the mount data and the key into
 * /proc/self/cgroup. */
static void v1_subsys(const struct own_cgroups *o, const char *super, char *out, size_t len)
{
	char opts[1024];
	snprintf(opts, sizeof(opts), "%s", super);
	size_t off = 0;
	out[0] = '\0';
	char *save = NULL;
	for (char *s = strtok_r(opts, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		if (strncmp(s, "name=", 5) != 0 && !has_controller(o, s))
			continue;
		int n = snprintf(out + off, len - off, "%s%s", off ? "," : "", s);
		if (n > 0 && (size_t)n < len - off)
			off += (size_t)n;
	}
}

/* host_src finds the host directory of our cgroup in mount e; false when
 * our cgroup is outside what the mount shows. Paths in mountinfo's root and
 * /proc/self/cgroup are both relative to the hierarchy's root. */
static bool host_src(const struct own_cgroups *o, const struct mountinfo_entry *e,
		     const char *key, char *out, size_t len)
{
	const char *path = own_path(o, key);
	if (!path)
		return false;
	size_t n = strlen(e->root);
	if (n > 0 && e->root[n - 1] == '/')
		n--;
	if (strncmp(path, e->root, n) != 0)
		return false;
	const char *rel = path + n;
	if (*rel != '\0' && *rel != '/')
		return false;
	if (strcmp(rel, "/") == 0)
		rel = "";
	return snprintf(out, len, "%s%s", e->point, rel) < (int)len;
}

static bool seen(const struct hierarchy *hs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(hs[i].name, name) == 0)
			return true;
	return false;
}

/* hierarchies lists the host's cgroup mounts directly under /sys/fs/cgroup
 * into hs (room for every cgroup mount of mi), with our cgroup in each when
 * binding. */
static size_t hierarchies(const struct mountinfo *mi, const struct own_cgroups *o,
			  bool cgroup_ns, struct hierarchy *hs)
{
	size_t n = 0;
	for (size_t i = 0; i < mi->n; i++) {
		const struct mountinfo_entry *e = &mi->e[i];
		bool v1 = strcmp(e->fstype, "cgroup") == 0;
		if (!v1 && strcmp(e->fstype, "cgroup2") != 0)
			continue;
		const char *slash = strrchr(e->point, '/');
		if (!slash || (size_t)(slash - e->point) != strlen(HOST_CGROUP_ROOT) ||
		    strncmp(e->point, HOST_CGROUP_ROOT, strlen(HOST_CGROUP_ROOT)) != 0 || !slash[1])
			continue;
		struct hierarchy *h = &hs[n];
		h->name = slash + 1;
		h->fstype = e->fstype;
		if (seen(hs, n, h->name))
			continue; /* mounted twice: the later one hides the earlier */
		h->subsys[0] = '\0';
		if (v1) {
			v1_subsys(o, e->super, h->subsys, sizeof(h->subsys));
			if (!h->subsys[0])
				continue; /* a hierarchy this process is not in */
		}
		if (!cgroup_ns && !host_src(o, e, h->subsys, h->src, sizeof(h->src)))
			continue;
		n++;
	}
	return n;
}

/* co_mount_links makes co-mounted controllers ("cpu,cpuacct") reachable
 * by each name too, as on the host and in runc. */
static int co_mount_links(const struct root *r, const struct mount *m, int dir,
			  const struct hierarchy *h)
{
	if (!strchr(h->name, ','))
		return 0;
	char subsys[sizeof(h->subsys)];
	memcpy(subsys, h->subsys, sizeof(subsys));
	char *save = NULL;
	for (char *s = strtok_r(subsys, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		if (strcmp(s, h->name) == 0 || strncmp(s, "name=", 5) == 0)
			continue;
		if (symlinkat(h->name, dir, s) < 0 && errno != EEXIST)
			return errnof("symlink %s/%s%s -> %s", m->target, s, r->in, h->name);
	}
	return 0;
}

/* mount_hierarchy puts one host hierarchy under the cgroup tmpfs (dir, an
 * fd only this process can reach: the container does not run yet). */
static int mount_hierarchy(const struct root *r, const struct mount *m, int dir,
			   const struct hierarchy *h, bool cgroup_ns)
{
	char where[PATH_MAX + 16];
	snprintf(where, sizeof(where), "%s/%s%s", m->target, h->name, r->in);
	if (mkdirat(dir, h->name, 0755) < 0 && errno != EEXIST)
		return errnof("mkdir %s", where);
	{
		autoclose int sub = openat(dir, h->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return errnof("open %s", where);
		uint64_t flags = m->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | ATIME_FLAGS);
		if (cgroup_ns) {
			if (mount(h->fstype, fd_path(sub).s, h->fstype, flags, mount_data(h->subsys)) < 0)
				return errnof("mount %s (%s) on %s", h->fstype, h->subsys, where);
		} else if (mount(h->src, fd_path(sub).s, NULL, MS_BIND, NULL) < 0) {
			return errnof("bind %s on %s", h->src, where);
		}
	}
	autoclose int mnt = openat(dir, h->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (mnt < 0)
		return errnof("open %s", where);
	uint64_t f = m->flags & PER_MOUNT_FLAGS;
	if (f && mount(NULL, fd_path(mnt).s, NULL, MS_REMOUNT | MS_BIND | f, NULL) < 0) {
		char names[FLAG_NAMES_LEN];
		return errnof("remount %s (%s)", where, flag_names(f, names, sizeof(names)));
	}
	return co_mount_links(r, m, dir, h);
}

/* mount_hierarchies fills the tmpfs at dir with every hierarchy. */
static int mount_hierarchies(const struct root *r, const struct mount *m, int dir,
			     const struct mountinfo *mi, const struct own_cgroups *o, bool cgroup_ns)
{
	size_t max = 1;
	for (size_t i = 0; i < mi->n; i++)
		max += strncmp(mi->e[i].fstype, "cgroup", 6) == 0;
	struct hierarchy *hs = calloc(max, sizeof(*hs));
	if (!hs)
		return errnof("mount cgroup on " WHERE, W(r, m->target));
	size_t n = hierarchies(mi, o, cgroup_ns, hs);
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = mount_hierarchy(r, m, dir, &hs[i], cgroup_ns);
	free(hs);
	return ret;
}

/* fill_v1 mounts the tmpfs on target and every hierarchy under it. */
static int fill_v1(const struct root *r, const struct mount *m, int target, uint64_t before,
		   const struct mountinfo *mi, const struct own_cgroups *o, bool cgroup_ns)
{
	/* The tmpfs stays writable until the hierarchy directories exist. */
	uint64_t flags = m->flags & ~(uint64_t)(MS_RDONLY | MS_REMOUNT);
	if (mount("tmpfs", fd_path(target).s, "tmpfs", flags, "mode=755") < 0)
		return errnof("mount tmpfs for cgroup on " WHERE, W(r, m->target));
	autoclose int dir = root_reopen(r, m->target, before);
	if (dir < 0 || mount_hierarchies(r, m, dir, mi, o, cgroup_ns) < 0)
		return -1;
	uint64_t f = m->flags & PER_MOUNT_FLAGS;
	if (f && mount(NULL, fd_path(dir).s, NULL, MS_REMOUNT | MS_BIND | f, NULL) < 0) {
		char names[FLAG_NAMES_LEN];
		return errnof("remount tmpfs on " WHERE " (%s)", W(r, m->target),
			      flag_names(f, names, sizeof(names)));
	}
	return propagate(r, m, dir);
}

/* mount_v1 builds the /sys/fs/cgroup of a v1 (or hybrid) host, from the
 * mount table and our cgroups read before anything is mounted. */
static int mount_v1(const struct root *r, const struct mount *m, int target, uint64_t before,
		    bool cgroup_ns)
{
	struct mountinfo mi;
	struct own_cgroups o;
	if (mountinfo_read("/proc/self/mountinfo", &mi) < 0)
		return wrapf("mount cgroup on " WHERE, W(r, m->target));
	if (own_read(&o) < 0) {
		mountinfo_free(&mi);
		return wrapf("mount cgroup on " WHERE, W(r, m->target));
	}
	int ret = fill_v1(r, m, target, before, &mi, &o, cgroup_ns);
	own_free(&o);
	mountinfo_free(&mi);
	return ret;
}

int mount_cgroup(const struct root *r, struct mount *m, bool cgroup_ns)
{
	autoclose int target = root_create(r, m->target, false);
	if (target < 0)
		return -1;
	uint64_t before;
	if (mount_id(target, &before) < 0)
		return errnof("statx " WHERE, W(r, m->target));
	struct statfs st;
	bool unified = statfs(HOST_CGROUP_ROOT, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
	if (!unified && strcmp(m->type, "cgroup2") != 0)
		return mount_v1(r, m, target, before, cgroup_ns);
	if (mount("cgroup2", fd_path(target).s, "cgroup2", m->flags, mount_data(m->data)) < 0)
		return errnof("mount cgroup2 on " WHERE, W(r, m->target));
	return propagate_new(r, m, before);
}

/*
 * decode: reads one message (wire format, plan.h) on stdin, decodes it with
 * wire.c and prints every decoded value, one a line, in wire order: lists
 * as their count then the elements, optional values as 0/1 then the value.
 * runtime/channel's TestCDecoder builds it with wire.c and err.c and
 * compares its output with the same walk over the Go message it encoded,
 * so a field known to one side only shows up. Not part of slrt-init.
 *
 * "decode recv" instead receives the message on fd 3 (a SOCK_SEQPACKET
 * socket) as the init does, with its fds, and prints "fd DEV:INO" for each
 * one received (then closes it), and "kept N", how many more fds are open
 * than before: a refused message must leave none behind.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>

#include "../err.h"
#include "../wire.h"

static void bytes(const void *v, uint32_t n)
{
	const unsigned char *b = v;

	for (uint32_t i = 0; i < n; i++) {
		if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\')
			putchar(b[i]);
		else
			printf("\\x%02x", b[i]);
	}
	putchar('\n');
}

static void str(const char *s) { bytes(s, strlen(s)); }
static void u(uint64_t v) { printf("%" PRIu64 "\n", v); }
static void i(int64_t v) { printf("%" PRId64 "\n", v); }

static void strs(const struct strs *v)
{
	u(v->n);
	for (uint32_t k = 0; k < v->n; k++)
		str(v->v[k]);
}

static void hooks(const struct hook *h, uint32_t n)
{
	u(n);
	for (uint32_t k = 0; k < n; k++) {
		str(h[k].path);
		strs(&h[k].args);
		strs(&h[k].env);
		i(h[k].timeout);
	}
}

static void rootfs(const struct rootfs_plan *r)
{
	str(r->path);
	u(r->readonly);
	u(r->propagation);
	u(r->no_pivot);
	u(r->n_mounts);
	for (uint32_t k = 0; k < r->n_mounts; k++) {
		const struct mount *m = &r->mounts[k];
		str(m->source);
		str(m->target);
		str(m->type);
		u(m->flags);
		u(m->n_prop_flags);
		for (uint32_t j = 0; j < m->n_prop_flags; j++)
			u(m->prop_flags[j]);
		str(m->data);
		u(m->bind);
		u(m->source_is_file);
		i(m->source_fd);
		u(m->idmap);
		u(m->idmap_recursive);
		i(m->mount_fd);
		u(m->rec_attr_set);
		u(m->rec_attr_clr);
	}
	u(r->n_devices);
	for (uint32_t k = 0; k < r->n_devices; k++) {
		const struct device *d = &r->devices[k];
		str(d->path);
		u(d->type);
		i(d->major);
		i(d->minor);
		u(d->mode);
		u(d->uid);
		u(d->gid);
	}
	strs(&r->masked_paths);
	strs(&r->readonly_paths);
	str(r->mount_label);
	u(r->default_symlink);
	u(r->cgroup_ns);
}

static void process(const struct process_plan *p)
{
	strs(&p->args);
	strs(&p->env);
	str(p->cwd);
	u(p->uid);
	u(p->gid);
	u(p->n_additional_gids);
	for (uint32_t k = 0; k < p->n_additional_gids; k++)
		u(p->additional_gids[k]);
	u(p->has_umask);
	if (p->has_umask)
		u(p->umask);
	u(p->has_caps);
	if (p->has_caps) {
		u(p->caps.bounding);
		u(p->caps.effective);
		u(p->caps.permitted);
		u(p->caps.inheritable);
		u(p->caps.ambient);
	}
	u(p->no_new_privileges);
	u(p->n_rlimits);
	for (uint32_t k = 0; k < p->n_rlimits; k++) {
		i(p->rlimits[k].resource);
		str(p->rlimits[k].name);
		u(p->rlimits[k].soft);
		u(p->rlimits[k].hard);
	}
	u(p->has_oom_score_adj);
	if (p->has_oom_score_adj)
		i(p->oom_score_adj);
	str(p->apparmor_profile);
	str(p->selinux_label);
	u(p->has_scheduler);
	if (p->has_scheduler) {
		u(p->scheduler.policy);
		i(p->scheduler.nice);
		u(p->scheduler.priority);
		u(p->scheduler.flags);
		u(p->scheduler.runtime);
		u(p->scheduler.deadline);
		u(p->scheduler.period);
	}
	u(p->has_ioprio);
	if (p->has_ioprio) {
		i(p->ioprio.class);
		i(p->ioprio.priority);
	}
	str(p->cpus);
	str(p->initial_cpus);
	bytes(p->seccomp, p->seccomp_len);
	u(p->seccomp_flags);
	i(p->seccomp_listener_fd);
	bytes(p->seccomp_state, p->seccomp_state_len);
}

static void plan(const struct plan *p)
{
	u(p->exec);
	rootfs(&p->rootfs);
	process(&p->proc);
	str(p->hostname);
	u(p->set_hostname);
	str(p->domainname);
	u(p->set_domainname);
	u(p->n_sysctls);
	for (uint32_t k = 0; k < p->n_sysctls; k++) {
		str(p->sysctls[k].key);
		str(p->sysctls[k].value);
	}
	hooks(p->create_ctr_hooks, p->n_create_ctr_hooks);
	hooks(p->start_ctr_hooks, p->n_start_ctr_hooks);
	u(p->console);
	u(p->console_rows);
	u(p->console_cols);
	i(p->listen_fd);
	i(p->console_fd);
	u(p->new_user_ns);
	u(p->unshare_cgroup_ns);
	u(p->time_ns);
	u(p->n_time_offsets);
	for (uint32_t k = 0; k < p->n_time_offsets; k++) {
		str(p->time_offsets[k].clock);
		i(p->time_offsets[k].secs);
		u(p->time_offsets[k].nanos);
	}
	i(p->mount_ns_fd);
	u(p->n_preserve_fds);
	for (uint32_t k = 0; k < p->n_preserve_fds; k++)
		i(p->preserve_fds[k]);
}

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = -1; /* the directory's own fd */

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 2; /* "." and ".." */
}

static void dump(const struct message *m)
{
	u(m->kind);
	str(m->error);
	bytes(m->state, m->state_len);
	u(m->files);
	u(m->plan != NULL);
	if (m->plan)
		plan(m->plan);
	u(m->start != NULL);
	if (m->start) {
		strs(&m->start->args);
		u(m->start->has_env);
		if (m->start->has_env)
			strs(&m->start->env);
		str(m->start->cwd);
		str(m->start->cpus);
	}
}

static int recv_main(void)
{
	int fds[WIRE_MAX_FDS];
	uint32_t n;
	struct message m;
	struct stat st;
	int before = count_open_fds();
	int rc = wire_recv(3, &m, fds, &n);

	if (rc < 0)
		printf("error: %s\n", errmsg());
	for (uint32_t k = 0; rc == 0 && k < n; k++) {
		if (fstat(fds[k], &st) < 0)
			return 2;
		printf("fd %ju:%ju\n", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
		close(fds[k]);
	}
	printf("kept %d\n", count_open_fds() - before);
	return rc < 0;
}

int main(int argc, char **argv)
{
	static unsigned char buf[1 << 20];
	struct message m;
	size_t n;

	if (argc > 1 && strcmp(argv[1], "recv") == 0)
		return recv_main();
	n = fread(buf, 1, sizeof(buf), stdin);
	if (wire_decode(buf, n, &m) < 0) {
		printf("error: %s\n", errmsg());
		return 1;
	}
	dump(&m);
	return 0;
}

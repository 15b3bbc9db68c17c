/*
 * The wire format of runtime/channel (plan.h describes it; wire.go is the
 * other end). The decoder trusts nothing about lengths: every read is
 * bounds-checked and a count cannot promise more elements than bytes are
 * left, so a bad message is an error, never a wild allocation or read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "wire.h"

/* The parent's bound for one message (channel.maxMessage). */
#define MAX_MESSAGE (1u << 20)

static const char *const kind_names[] = {
	[KIND_PLAN] = "plan",
	[KIND_MOUNTS_READY] = "mounts-ready",
	[KIND_CONTINUE] = "continue",
	[KIND_CREATED] = "created",
	[KIND_START] = "start",
	[KIND_ERROR] = "error",
};

const char *kind_name(uint8_t kind)
{
	if (kind < sizeof(kind_names) / sizeof(kind_names[0]) && kind_names[kind])
		return kind_names[kind];
	return "unknown";
}

struct dec {
	const unsigned char *b;
	size_t len, off;
	bool failed;
};

/* fail records the first error only: later reads are no-ops, so the
 * decoding code reads straight through and checks once at the end. */
__attribute__((format(printf, 3, 4)))
static void fail(struct dec *d, const char *field, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (d->failed)
		return;
	d->failed = true;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	errorf("%s: %s", field, what);
}

static const unsigned char *take(struct dec *d, const char *field, size_t n)
{
	const unsigned char *p;

	if (d->failed)
		return NULL;
	if (n > d->len - d->off) {
		fail(d, field, "needs %zu bytes at offset %zu, the message has %zu", n, d->off, d->len);
		return NULL;
	}
	p = d->b + d->off;
	d->off += n;
	return p;
}

#define READER(name, type)                                             \
	static type name(struct dec *d, const char *field)             \
	{                                                              \
		type v = 0;                                            \
		const unsigned char *p = take(d, field, sizeof(v));    \
		if (p)                                                 \
			memcpy(&v, p, sizeof(v));                      \
		return v;                                              \
	}
READER(rd_u8, uint8_t)
READER(rd_u32, uint32_t)
READER(rd_u64, uint64_t)
READER(rd_i32, int32_t)
READER(rd_i64, int64_t)

static bool rd_bool(struct dec *d, const char *field)
{
	uint8_t v = rd_u8(d, field);

	if (v > 1)
		fail(d, field, "bool is %u, not 0 or 1", v);
	return v == 1;
}

/* rd_count reads a list length whose elements take at least min bytes. */
static uint32_t rd_count(struct dec *d, const char *field, size_t min)
{
	uint32_t n = rd_u32(d, field);

	if (!d->failed && (uint64_t)n * min > d->len - d->off) {
		fail(d, field, "%u elements cannot fit in the %zu bytes left", n, d->len - d->off);
		return 0;
	}
	return n;
}

/* alloc_array gives n zeroed elements; n was bounded by rd_count. */
static void *alloc_array(struct dec *d, const char *field, size_t n, size_t size)
{
	void *p;

	if (d->failed)
		return NULL;
	p = calloc(n + 1, size);
	if (!p)
		fail(d, field, "out of memory for %zu elements", n);
	return p;
}

static unsigned char *rd_bytes(struct dec *d, const char *field, uint32_t *len)
{
	uint32_t n = rd_count(d, field, 1);
	const unsigned char *p = take(d, field, n);
	unsigned char *v;

	*len = 0;
	if (!p)
		return NULL;
	v = alloc_array(d, field, n, 1);
	if (v) {
		memcpy(v, p, n);
		*len = n;
	}
	return v;
}

/* rd_str refuses a NUL inside: C would silently cut the string there. */
static char *rd_str(struct dec *d, const char *field)
{
	uint32_t n;
	char *s = (char *)rd_bytes(d, field, &n);

	if (!d->failed && s && memchr(s, '\0', n))
		fail(d, field, "a NUL byte inside the string");
	if (!d->failed && !s)
		s = alloc_array(d, field, 0, 1);
	return s;
}

static void rd_strs(struct dec *d, const char *field, struct strs *v)
{
	uint32_t n = rd_count(d, field, 4);

	v->n = 0;
	v->v = alloc_array(d, field, n, sizeof(char *));
	for (uint32_t i = 0; i < n && !d->failed; i++)
		v->v[i] = rd_str(d, field);
	if (!d->failed)
		v->n = n;
}

static void rd_hooks(struct dec *d, const char *field, uint32_t *n, struct hook **hs)
{
	*n = rd_count(d, field, 20);
	*hs = alloc_array(d, field, *n, sizeof(**hs));
	for (uint32_t i = 0; i < *n && !d->failed; i++) {
		struct hook *h = &(*hs)[i];
		h->path = rd_str(d, "hook path");
		rd_strs(d, "hook args", &h->args);
		rd_strs(d, "hook env", &h->env);
		h->timeout = rd_i64(d, "hook timeout");
	}
}

static void rd_mount(struct dec *d, struct mount *m)
{
	m->source = rd_str(d, "mount source");
	m->target = rd_str(d, "mount target");
	m->type = rd_str(d, "mount type");
	m->flags = rd_u64(d, "mount flags");
	m->n_prop_flags = rd_count(d, "mount propFlags", 8);
	m->prop_flags = alloc_array(d, "mount propFlags", m->n_prop_flags, sizeof(uint64_t));
	for (uint32_t i = 0; i < m->n_prop_flags && !d->failed; i++)
		m->prop_flags[i] = rd_u64(d, "mount propFlags");
	m->data = rd_str(d, "mount data");
	m->bind = rd_bool(d, "mount bind");
	m->source_is_file = rd_bool(d, "mount sourceIsFile");
	m->source_fd = rd_i32(d, "mount sourceFd");
	m->idmap = rd_bool(d, "mount idmap");
	m->idmap_recursive = rd_bool(d, "mount idmapRecursive");
	m->mount_fd = rd_i32(d, "mount mountFd");
	m->rec_attr_set = rd_u64(d, "mount recAttrSet");
	m->rec_attr_clr = rd_u64(d, "mount recAttrClr");
}

static void rd_device(struct dec *d, struct device *v)
{
	v->path = rd_str(d, "device path");
	v->type = rd_u32(d, "device type");
	v->major = rd_i64(d, "device major");
	v->minor = rd_i64(d, "device minor");
	v->mode = rd_u32(d, "device mode");
	v->uid = rd_u32(d, "device uid");
	v->gid = rd_u32(d, "device gid");
}

static void rd_rootfs(struct dec *d, struct rootfs_plan *r)
{
	r->path = rd_str(d, "rootfs path");
	r->readonly = rd_bool(d, "rootfs readonly");
	r->propagation = rd_u64(d, "rootfs propagation");
	r->no_pivot = rd_bool(d, "rootfs noPivot");
	r->n_mounts = rd_count(d, "rootfs mounts", 56);
	r->mounts = alloc_array(d, "rootfs mounts", r->n_mounts, sizeof(*r->mounts));
	for (uint32_t i = 0; i < r->n_mounts && !d->failed; i++)
		rd_mount(d, &r->mounts[i]);
	r->n_devices = rd_count(d, "rootfs devices", 36);
	r->devices = alloc_array(d, "rootfs devices", r->n_devices, sizeof(*r->devices));
	for (uint32_t i = 0; i < r->n_devices && !d->failed; i++)
		rd_device(d, &r->devices[i]);
	rd_strs(d, "rootfs maskedPaths", &r->masked_paths);
	rd_strs(d, "rootfs readonlyPaths", &r->readonly_paths);
	r->mount_label = rd_str(d, "rootfs mountLabel");
	r->default_symlink = rd_bool(d, "rootfs defaultSymlinks");
	r->cgroup_ns = rd_bool(d, "rootfs cgroupNS");
}

static void rd_rlimit(struct dec *d, struct rlimit_plan *r)
{
	r->resource = rd_i64(d, "rlimit resource");
	r->name = rd_str(d, "rlimit name");
	r->soft = rd_u64(d, "rlimit soft");
	r->hard = rd_u64(d, "rlimit hard");
}

static void rd_caps(struct dec *d, struct caps *c)
{
	c->bounding = rd_u64(d, "caps bounding");
	c->effective = rd_u64(d, "caps effective");
	c->permitted = rd_u64(d, "caps permitted");
	c->inheritable = rd_u64(d, "caps inheritable");
	c->ambient = rd_u64(d, "caps ambient");
}

static void rd_scheduler(struct dec *d, struct scheduler *s)
{
	s->policy = rd_u32(d, "scheduler policy");
	s->nice = rd_i32(d, "scheduler nice");
	s->priority = rd_u32(d, "scheduler priority");
	s->flags = rd_u64(d, "scheduler flags");
	s->runtime = rd_u64(d, "scheduler runtime");
	s->deadline = rd_u64(d, "scheduler deadline");
	s->period = rd_u64(d, "scheduler period");
}

static void rd_process(struct dec *d, struct process_plan *p)
{
	rd_strs(d, "process args", &p->args);
	rd_strs(d, "process env", &p->env);
	p->cwd = rd_str(d, "process cwd");
	p->uid = rd_u32(d, "process uid");
	p->gid = rd_u32(d, "process gid");
	p->n_additional_gids = rd_count(d, "process additionalGids", 4);
	p->additional_gids = alloc_array(d, "process additionalGids", p->n_additional_gids, sizeof(uint32_t));
	for (uint32_t i = 0; i < p->n_additional_gids && !d->failed; i++)
		p->additional_gids[i] = rd_u32(d, "process additionalGids");
	if ((p->has_umask = rd_bool(d, "process umask")))
		p->umask = rd_u32(d, "process umask");
	if ((p->has_caps = rd_bool(d, "process caps")))
		rd_caps(d, &p->caps);
	p->no_new_privileges = rd_bool(d, "process noNewPrivileges");
	p->n_rlimits = rd_count(d, "process rlimits", 28);
	p->rlimits = alloc_array(d, "process rlimits", p->n_rlimits, sizeof(*p->rlimits));
	for (uint32_t i = 0; i < p->n_rlimits && !d->failed; i++)
		rd_rlimit(d, &p->rlimits[i]);
	if ((p->has_oom_score_adj = rd_bool(d, "process oomScoreAdj")))
		p->oom_score_adj = rd_i64(d, "process oomScoreAdj");
	p->apparmor_profile = rd_str(d, "process apparmorProfile");
	p->selinux_label = rd_str(d, "process selinuxLabel");
	if ((p->has_scheduler = rd_bool(d, "process scheduler")))
		rd_scheduler(d, &p->scheduler);
	if ((p->has_ioprio = rd_bool(d, "process ioPrio"))) {
		p->ioprio.class = rd_i64(d, "ioPrio class");
		p->ioprio.priority = rd_i64(d, "ioPrio priority");
	}
	p->cpus = rd_str(d, "process cpus");
	p->initial_cpus = rd_str(d, "process initialCpus");
	p->seccomp = rd_bytes(d, "process seccomp", &p->seccomp_len);
	p->seccomp_flags = rd_u32(d, "process seccompFlags");
	p->seccomp_listener_fd = rd_i32(d, "process seccompListenerFd");
	p->seccomp_state = rd_bytes(d, "process seccompState", &p->seccomp_state_len);
}

static void rd_plan(struct dec *d, struct plan *p)
{
	p->exec = rd_bool(d, "plan exec");
	rd_rootfs(d, &p->rootfs);
	rd_process(d, &p->proc);
	p->hostname = rd_str(d, "plan hostname");
	p->set_hostname = rd_bool(d, "plan setHostname");
	p->domainname = rd_str(d, "plan domainname");
	p->set_domainname = rd_bool(d, "plan setDomainname");
	p->n_sysctls = rd_count(d, "plan sysctls", 8);
	p->sysctls = alloc_array(d, "plan sysctls", p->n_sysctls, sizeof(*p->sysctls));
	for (uint32_t i = 0; i < p->n_sysctls && !d->failed; i++) {
		p->sysctls[i].key = rd_str(d, "sysctl key");
		p->sysctls[i].value = rd_str(d, "sysctl value");
	}
	rd_hooks(d, "plan createContainerHooks", &p->n_create_ctr_hooks, &p->create_ctr_hooks);
	rd_hooks(d, "plan startContainerHooks", &p->n_start_ctr_hooks, &p->start_ctr_hooks);
	p->console = rd_bool(d, "plan console");
	p->console_rows = rd_u32(d, "plan consoleRows");
	p->console_cols = rd_u32(d, "plan consoleCols");
	p->listen_fd = rd_i32(d, "plan listenFd");
	p->console_fd = rd_i32(d, "plan consoleFd");
	p->new_user_ns = rd_bool(d, "plan newUserNS");
	p->unshare_cgroup_ns = rd_bool(d, "plan unshareCgroupNS");
	p->time_ns = rd_bool(d, "plan timeNS");
	p->n_time_offsets = rd_count(d, "plan timeOffsets", 16);
	p->time_offsets = alloc_array(d, "plan timeOffsets", p->n_time_offsets, sizeof(*p->time_offsets));
	for (uint32_t i = 0; i < p->n_time_offsets && !d->failed; i++) {
		p->time_offsets[i].clock = rd_str(d, "timeOffset clock");
		p->time_offsets[i].secs = rd_i64(d, "timeOffset secs");
		p->time_offsets[i].nanos = rd_u32(d, "timeOffset nanos");
	}
	p->mount_ns_fd = rd_i32(d, "plan mountNsFd");
	p->n_preserve_fds = rd_count(d, "plan preserveFds", 4);
	p->preserve_fds = alloc_array(d, "plan preserveFds", p->n_preserve_fds, sizeof(int32_t));
	for (uint32_t i = 0; i < p->n_preserve_fds && !d->failed; i++)
		p->preserve_fds[i] = rd_i32(d, "plan preserveFds");
}

static void rd_start(struct dec *d, struct start_request *r)
{
	rd_strs(d, "start args", &r->args);
	if ((r->has_env = rd_bool(d, "start env")))
		rd_strs(d, "start env", &r->env);
	r->cwd = rd_str(d, "start cwd");
	r->cpus = rd_str(d, "start cpus");
}

int wire_decode(const unsigned char *b, size_t len, struct message *m)
{
	struct dec d = { .b = b, .len = len };
	uint32_t magic = rd_u32(&d, "magic");

	memset(m, 0, sizeof(*m));
	if (!d.failed && magic != WIRE_MAGIC)
		return errorf("decode message: magic: %#x is not a slrt message (want %#x)", magic, WIRE_MAGIC);
	m->kind = rd_u8(&d, "kind");
	if (!d.failed && (m->kind == 0 || m->kind > KIND_ERROR))
		return errorf("decode message: kind: unknown code %u", m->kind);
	m->error = rd_str(&d, "error");
	m->state = rd_bytes(&d, "state", &m->state_len);
	m->files = rd_u32(&d, "files");
	if (rd_bool(&d, "plan") && (m->plan = alloc_array(&d, "plan", 0, sizeof(*m->plan))))
		rd_plan(&d, m->plan);
	if (rd_bool(&d, "start") && (m->start = alloc_array(&d, "start", 0, sizeof(*m->start))))
		rd_start(&d, m->start);
	if (!d.failed && d.off != d.len)
		return errorf("decode message: %zu bytes follow the last field", d.len - d.off);
	if (d.failed)
		return wrapf("decode message");
	return 0;
}

static ssize_t recv_retry(int sock, struct msghdr *mh, int flags)
{
	ssize_t n;

	do
		n = recvmsg(sock, mh, flags);
	while (n < 0 && errno == EINTR);
	return n;
}

/* collect_fds copies the SCM_RIGHTS fds of mh into fds. */
static uint32_t collect_fds(struct msghdr *mh, int *fds)
{
	uint32_t n = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && n < WIRE_MAX_FDS; i++)
			memcpy(&fds[n++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	return n;
}

static void close_all(const int *fds, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		close(fds[i]);
}

int wire_recv(int sock, struct message *m, int *fds, uint32_t *n_fds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * WIRE_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	char one;
	struct iovec iov = { .iov_base = &one, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t size;
	unsigned char *buf;
	int rc;

	*n_fds = 0;
	/* Peek for the datagram's size, so the buffer is exactly that big. */
	size = recv_retry(sock, &mh, MSG_PEEK | MSG_TRUNC);
	if (size < 0)
		return errnof("receive message");
	if (size == 0)
		return errorf("EOF"), WIRE_EOF;
	if ((size_t)size > MAX_MESSAGE)
		return errorf("receive message: %zd bytes is more than the %u allowed", size, MAX_MESSAGE);
	buf = malloc(size);
	if (!buf)
		return errorf("receive message: out of memory for %zd bytes", size);
	iov = (struct iovec){ .iov_base = buf, .iov_len = size };
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	size = recv_retry(sock, &mh, MSG_CMSG_CLOEXEC);
	if (size < 0) {
		free(buf);
		return errnof("receive message");
	}
	*n_fds = collect_fds(&mh, fds);
	if (mh.msg_flags & MSG_CTRUNC) {
		free(buf);
		close_all(fds, *n_fds);
		return errorf("receive message: fds were dropped (control message truncated)");
	}
	rc = wire_decode(buf, size, m);
	free(buf);
	if (rc < 0) {
		close_all(fds, *n_fds);
		return -1;
	}
	if (*n_fds != m->files) {
		close_all(fds, *n_fds);
		return errorf("receive %s message: %u fds arrived, %u were sent",
			      kind_name(m->kind), *n_fds, m->files);
	}
	return 0;
}

int wire_expect(int sock, uint8_t want, struct message *m)
{
	int fds[WIRE_MAX_FDS];
	uint32_t n;
	int rc = wire_recv(sock, m, fds, &n);

	if (rc < 0)
		return rc;
	/* No step expects fds here: drop any rather than leak them. */
	close_all(fds, n);
	if (m->kind == KIND_ERROR)
		return errorf("%s", m->error);
	if (m->kind != want)
		return errorf("protocol: got \"%s\" message, want \"%s\"", kind_name(m->kind), kind_name(want));
	return 0;
}

/* put appends n bytes at *p; the caller sized the buffer. */
static unsigned char *put(unsigned char *p, const void *v, size_t n)
{
	memcpy(p, v, n);
	return p + n;
}

int wire_send(int sock, uint8_t kind, const char *error)
{
	uint32_t magic = WIRE_MAGIC, elen = error ? strlen(error) : 0, zero = 0;
	uint8_t absent = 0;
	size_t size = 4 + 1 + 4 + elen + 4 + 4 + 1 + 1;
	unsigned char *buf = malloc(size), *p = buf;
	ssize_t n;

	if (!buf)
		return errorf("send %s message: out of memory", kind_name(kind));
	p = put(p, &magic, 4);
	p = put(p, &kind, 1);
	p = put(p, &elen, 4);
	p = put(p, error ? error : "", elen);
	p = put(p, &zero, 4);  /* state */
	p = put(p, &zero, 4);  /* files */
	p = put(p, &absent, 1); /* plan */
	put(p, &absent, 1);     /* start */
	do
		n = send(sock, buf, size, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	free(buf);
	if (n < 0)
		return errnof("send %s message", kind_name(kind));
	return 0;
}

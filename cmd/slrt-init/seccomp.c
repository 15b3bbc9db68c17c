/*
 * The seccomp filter: a classic-BPF program runtime/seccomp compiled into
 * the plan, installed with seccomp(2) on the thread that execs; with a
 * notify listener, the notify fd goes to it with the ContainerProcessState
 * (runtime-spec config-linux.md#seccomp).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "init.h"
#include "process.h"

#define SECCOMP_SET_MODE_FILTER 1
#define FILTER_FLAG_TSYNC (1u << 0)
#define FILTER_FLAG_NEW_LISTENER (1u << 3)
#define FILTER_FLAG_TSYNC_ESRCH (1u << 4)

#define BPF_MAXINSNS 4096
#define INSN_SIZE 8

/* The notify fd's name in ContainerProcessState.fds. */
#define NOTIFY_FD_NAME "seccompFd"

struct sock_filter_insn {
	uint16_t code;
	uint8_t jt;
	uint8_t jf;
	uint32_t k;
};

struct sock_fprog_v {
	unsigned short len;
	struct sock_filter_insn *filter;
};

/*
 * The filter should come as late as possible (fewer of the init's syscalls
 * run under it), so with no_new_privs process_exec loads it right before
 * execve. Without no_new_privs, installing it needs CAP_SYS_ADMIN, which
 * process_finish drops for most workloads: then, as runc and crun do, it is
 * loaded now, and the profile must allow what Finish does.
 * It also keeps the listener socket clear of the fd numbers the preserved
 * fds are about to take (3, 4, ...).
 */
int seccomp_before_finish(struct process_plan *pp, uint32_t n_preserve)
{
	int fd;

	if (pp->seccomp_len == 0)
		return 0;
	if (!pp->no_new_privileges) {
		if (seccomp_load(pp) < 0)
			return wrapf("load seccomp filter");
		pp->seccomp_len = 0; /* loaded: process_exec has nothing left to do */
		return 0;
	}
	if (pp->seccomp_listener_fd > 0 && (uint32_t)pp->seccomp_listener_fd < 3 + n_preserve) {
		fd = fcntl(pp->seccomp_listener_fd, F_DUPFD_CLOEXEC, (int)(3 + n_preserve));
		if (fd < 0)
			return errnof("move the seccomp listener socket");
		pp->seccomp_listener_fd = fd;
	}
	return 0;
}

/* install loads the program; it returns the notify fd (close-on-exec) when
 * flags ask for a listener, else -2; -1 on error. */
static int install(const unsigned char *prog, uint32_t len, uint32_t flags)
{
	uint32_t n = len / INSN_SIZE;
	struct sock_filter_insn *insns;
	struct sock_fprog_v fprog;
	long r;
	int e;

	if (n == 0 || len % INSN_SIZE != 0 || n > BPF_MAXINSNS)
		return errorf("seccomp program of %u bytes is not 1–4096 instructions", len);
	/* A copy: the decoded bytes need not be aligned for the struct. */
	insns = malloc(len);
	if (!insns)
		return errnof("seccomp program of %u bytes", len);
	memcpy(insns, prog, len);
	fprog.len = (unsigned short)n;
	fprog.filter = insns;
	/* The kernel refuses TSYNC with a listener unless a failed sync is
	 * reported as ESRCH rather than as a thread id. */
	if ((flags & FILTER_FLAG_TSYNC) && (flags & FILTER_FLAG_NEW_LISTENER))
		flags |= FILTER_FLAG_TSYNC_ESRCH;
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
	e = errno;
	free(insns);
	if (r < 0 && e == EACCES)
		return errorf("seccomp(SECCOMP_SET_MODE_FILTER): %s (needs no_new_privs or CAP_SYS_ADMIN)",
			      errtext(e));
	if (r < 0)
		return errorf("seccomp(SECCOMP_SET_MODE_FILTER, flags 0x%x): %s", flags, errtext(e));
	if (flags & FILTER_FLAG_NEW_LISTENER)
		return (int)r;
	if ((flags & FILTER_FLAG_TSYNC) && r != 0)
		return errorf("seccomp: thread %ld could not be synchronised", r);
	return -2;
}

/* The caller frees the message. */
char *seccomp_state_message(const unsigned char *state, uint32_t len, size_t *out_len)
{
	static const char head[] = "{\"fds\":[\"" NOTIFY_FD_NAME "\"]";
	const unsigned char *s = state, *end = state + len, *rest;
	char *msg;
	size_t n;

	while (s < end && isspace(*s))
		s++;
	while (end > s && isspace(end[-1]))
		end--;
	if (end - s < 2 || s[0] != '{') {
		errorf("seccomp listener state is not a JSON object");
		return NULL;
	}
	for (rest = s + 1; rest < end && isspace(*rest); rest++)
		;
	msg = malloc(sizeof head + 1 + (size_t)(end - s));
	if (!msg) {
		errnof("seccomp listener state");
		return NULL;
	}
	n = sizeof head - 1;
	memcpy(msg, head, n);
	if (rest < end && *rest != '}')
		msg[n++] = ',';
	memcpy(msg + n, s + 1, (size_t)(end - s - 1));
	*out_len = n + (size_t)(end - s - 1);
	return msg;
}

/* send_state sends the message in one sendmsg, the fd riding with its first
 * byte; a stream socket may take it in parts (a signal), the fd went with
 * the first. */
static int send_state(int sock, const char *msg, size_t len, int notify_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct cmsghdr *c;
	bool with_fd = true;

	while (len > 0) {
		struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (with_fd) {
			memset(&ctl, 0, sizeof ctl);
			mh.msg_control = ctl.buf;
			mh.msg_controllen = sizeof ctl.buf;
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &notify_fd, sizeof(int));
		}
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errnof("send seccomp notify fd to the listener");
		msg += n;
		len -= (size_t)n;
		with_fd = false;
	}
	return 0;
}

/* With a listener, the message is built before the filter is installed, so
 * that as few of the init's syscalls as possible run under it. */
int seccomp_load(struct process_plan *pp)
{
	bool notify = pp->seccomp_flags & FILTER_FLAG_NEW_LISTENER;
	size_t len = 0;
	char *msg = NULL;
	int fd, rc;

	if (pp->seccomp_len == 0)
		return 0;
	if (notify && pp->seccomp_listener_fd <= 0)
		return errorf("the filter has a notify fd but the plan has no listener socket");
	if (notify) {
		msg = seccomp_state_message(pp->seccomp_state, pp->seccomp_state_len, &len);
		if (!msg)
			return -1;
	}
	fd = install(pp->seccomp, pp->seccomp_len, pp->seccomp_flags);
	if (fd < 0 || !notify) {
		free(msg);
		return fd == -1 ? -1 : 0;
	}
	rc = send_state(pp->seccomp_listener_fd, msg, len, fd);
	free(msg);
	close(fd);
	close(pp->seccomp_listener_fd);
	pp->seccomp_listener_fd = -1;
	return rc;
}

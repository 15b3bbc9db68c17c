/*
 * slrt-init sets a container up from inside its namespaces and then becomes
 * the workload by execve. The engine execs it from a sealed memfd (see
 * runtime/inithelper) with fd 3 the sync socket to its parent, and sends it
 * a Plan (runtime/channel). The steps read top to bottom in the order the
 * kernel and the OCI lifecycle need them; the process is single-threaded,
 * so capabilities, namespaces and the exec all concern this one thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "fds.h"
#include "init.h"
#include "wire.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static void exit_on_signal(int sig)
{
	(void)sig;
	_exit(2);
}

static void ignore_signal(int sig)
{
	(void)sig;
}

/*
 * init_signals gives the init the dispositions runc's init (and slrt's
 * former Go init) has from the Go runtime: SIGHUP, SIGINT, SIGQUIT and SIGTERM end it (exit 2), the other
 * asynchronous ones are ignored. As pid 1 of its namespace, the init gets no
 * signal it has no handler for except from an ancestor namespace, so without
 * these `kill TERM` of a created container would do nothing (runc's init
 * dies). Handlers, unlike SIG_IGN, are reset by execve: the workload starts
 * with the default dispositions.
 */
static void init_signals(void)
{
	static const int exits[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM };
	static const int ignores[] = { SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE, SIGVTALRM,
				       SIGPROF, SIGIO, SIGPWR, SIGSTKFLT };
	struct sigaction sa = { .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	sa.sa_handler = exit_on_signal;
	for (size_t i = 0; i < sizeof(exits) / sizeof(exits[0]); i++)
		sigaction(exits[i], &sa, NULL);
	sa.sa_handler = ignore_signal;
	for (size_t i = 0; i < sizeof(ignores) / sizeof(ignores[0]); i++)
		sigaction(ignores[i], &sa, NULL);
}

/* recv_plan waits for the plan and puts any fds passed with it where a
 * freshly cloned init would have had them. */
static int recv_plan(struct message *m)
{
	int fds[WIRE_MAX_FDS];
	uint32_t n;

	if (wire_recv(SYNC_FD, m, fds, &n) < 0)
		return -1;
	if (m->kind != KIND_PLAN || !m->plan) {
		for (uint32_t i = 0; i < n; i++)
			close(fds[i]);
		return errorf("protocol: got \"%s\" message, want \"plan\"", kind_name(m->kind));
	}
	return place_files(fds, n);
}

static int finish_and_exec(struct process_plan *pp, const int32_t *preserve, uint32_t n_preserve)
{
	char path[4096];

	if (seccomp_before_finish(pp, n_preserve) < 0)
		return -1;
	if (process_finish(pp) < 0)
		return -1;
	if (process_lookup(pp->args.v[0], pp->env.v, path, sizeof(path)) < 0)
		return -1;
	/* No fd of ours may reach the workload: the sync and listening
	 * sockets, the console socket, anything inherited by mistake. */
	if (mark_fds_cloexec() < 0)
		return -1;
	if (preserve_fds(preserve, n_preserve) < 0)
		return -1;
	return process_exec(pp);
}

/*
 * wait_start parks the init until someone asks it to start: the parent on
 * the sync socket (in-process callers) or a CLI `start` connecting to the
 * listening socket. It fills m and returns the socket to answer on.
 */
static int wait_start(struct plan *p, struct message *m)
{
	struct pollfd fds[2] = {
		{ .fd = SYNC_FD, .events = POLLIN },
		{ .fd = p->listen_fd, .events = POLLIN },
	};
	nfds_t n = p->listen_fd > 0 ? 2 : 1;

	for (;;) {
		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return errnof("wait for start");
		}
		if (fds[0].revents && fds[0].fd >= 0) {
			int rc = wire_expect(SYNC_FD, KIND_START, m);
			if (rc == 0)
				return SYNC_FD;
			/* The creating CLI exited; starts come on the listener. */
			if (rc == WIRE_EOF && p->listen_fd > 0)
				fds[0].fd = -1;
			else
				return wrapf("wait for start");
		}
		if (n > 1 && fds[1].revents) {
			int conn = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (conn < 0)
				continue;
			if (wire_expect(conn, KIND_START, m) < 0) {
				close(conn);
				continue;
			}
			return conn;
		}
	}
}

/* start applies the replacement process of a fast start (empty fields keep
 * the spec's), runs the startContainer hooks and execs the workload. */
static int start(struct plan *p, struct message *m)
{
	struct start_request *r = m->start;

	if (r) {
		if (r->args.n > 0)
			p->proc.args = r->args;
		if (r->has_env)
			p->proc.env = r->env;
		if (r->cwd[0])
			p->proc.cwd = r->cwd;
		if (r->cpus[0])
			p->proc.cpus = r->cpus;
	}
	if (hooks_run("startContainer", p->start_ctr_hooks, p->n_start_ctr_hooks,
		      m->state, m->state_len) < 0)
		return -1;
	return finish_and_exec(&p->proc, p->preserve_fds, p->n_preserve_fds);
}

/* create_container builds the container and parks until started; *reply
 * is the socket a failure is reported on (the starter's once it asked). */
static int create_container(struct plan *p, int *reply)
{
	char path[4096];
	struct message cont, req;

	if (p->unshare_cgroup_ns && unshare(CLONE_NEWCGROUP) < 0)
		return errnof("unshare cgroup namespace");
	if (rootfs_prepare(&p->rootfs, p->new_user_ns) < 0)
		return -1;
	if (wire_send(SYNC_FD, KIND_MOUNTS_READY, NULL) < 0)
		return -1;
	/* The parent runs prestart and createRuntime hooks now. */
	if (wire_expect(SYNC_FD, KIND_CONTINUE, &cont) < 0)
		return wrapf("wait for the runtime's hooks");
	if (hooks_run("createContainer", p->create_ctr_hooks, p->n_create_ctr_hooks,
		      cont.state, cont.state_len) < 0)
		return -1;
	if (rootfs_pivot(&p->rootfs) < 0)
		return -1;
	/* After pivot_root, as runc does: /dev/ptmx must be the container's
	 * (its own devpts instance), not the host's. */
	if (p->console && console_setup(p) < 0)
		return -1;
	if (set_names(p) < 0 || write_sysctls(p) < 0)
		return -1;
	if (rootfs_finish(&p->rootfs) < 0)
		return -1;
	if (time_namespace(p) < 0)
		return -1;
	if (process_prepare(&p->proc) < 0)
		return -1;
	/* Fail at create, as runc does, when the workload cannot be found. */
	if (process_lookup(p->proc.args.v[0], p->proc.env.v, path, sizeof(path)) < 0)
		return -1;
	if (wire_send(SYNC_FD, KIND_CREATED, NULL) < 0)
		return -1;
	int conn = wait_start(p, &req);
	if (conn < 0)
		return -1;
	*reply = conn;
	return start(p, &req);
}

static int exec_process(struct plan *p)
{
	if (p->mount_ns_fd > 0) {
		if (unshare(CLONE_FS) < 0)
			return errnof("unshare fs attributes");
		if (setns(p->mount_ns_fd, CLONE_NEWNS) < 0)
			return errnof("join the container's mount namespace");
		close(p->mount_ns_fd);
	}
	if (p->console && console_setup(p) < 0)
		return -1;
	if (process_prepare(&p->proc) < 0)
		return -1;
	return finish_and_exec(&p->proc, p->preserve_fds, p->n_preserve_fds);
}

/*
 * fail ends the init after a step failed: the message goes to whoever
 * waits on reply, and to stderr only before the plan's steps run: later,
 * stderr is the container's, and the parent reports the error itself.
 */
static void fail(int reply, bool to_stderr)
{
	if (to_stderr)
		fprintf(stderr, "slrt-init: %s\n", errmsg());
	if (reply >= 0)
		wire_send(reply, KIND_ERROR, errmsg());
	exit(1);
}

int main(void)
{
	struct message m;
	int reply = SYNC_FD, rc;

	/* Not dumpable until the workload's execve: no process of the
	 * container can open /proc/PID/exe, /proc/PID/fd or /proc/PID/mem of
	 * the init (CVE-2019-5736 needed /proc/PID/exe of the runtime). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		errnof("prctl(PR_SET_DUMPABLE)");
		fail(-1, true);
	}
	init_signals();
	/* A shell waits here, parked, until it is given a container: then its
	 * stdio and extra files come with the plan. */
	if (recv_plan(&m) < 0)
		fail(SYNC_FD, true);
	/* Anything else inherited is closed before any path is resolved: an
	 * fd to a host directory would be a way out through /proc/self/fd/N
	 * as process.cwd (CVE-2024-21626). */
	if (close_unknown_fds(m.plan) < 0)
		fail(-1, true);
	if (m.plan->proc.args.n == 0) {
		errorf("the plan has no process args");
		fail(SYNC_FD, false);
	}
	if (m.plan->exec)
		rc = exec_process(m.plan);
	else
		rc = create_container(m.plan, &reply);
	/* Reaching here means no execve happened: tell whoever waits why. */
	if (rc == 0)
		errorf("init returned without executing the workload");
	fail(reply, false);
}

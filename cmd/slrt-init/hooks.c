/*
 * OCI hooks the init runs inside the container's namespaces
 * (createContainer, startContainer), as runtime/hooks runs them: the hook's
 * binary with its args and env, the state JSON on stdin, its stdout and
 * stderr kept for the error, killed when its timeout passes.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "init.h"
#include "process.h"

#define CLOSE_RANGE_CLOEXEC_FLAG (1u << 2)
#define OUTPUT_MAX 4096

/* A running hook and the init's ends of its pipes (-1 once closed). */
struct child {
	pid_t pid;
	int pidfd;
	int in;   /* its stdin */
	int out;  /* its stdout and stderr */
	int err;  /* carries execve's errno; EOF when the exec succeeded */
	char output[OUTPUT_MAX];
	size_t outlen;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* exec_child runs in the forked child. Every fd from 3 up is marked
 * close-on-exec, so the sync, listening and console sockets never reach the
 * hook; the errno pipe is already, and reports a failed execve. */
static _Noreturn void exec_child(const struct hook *h, const char *prog, int in, int out,
				 int err, const sigset_t *mask)
{
	static char *const no_env[] = { NULL };
	char *argv0[] = { (char *)h->path, NULL };
	/* runtime-spec: args are execv's argv, args[0] included. */
	char *const *argv = h->args.n > 0 ? h->args.v : argv0;
	char *const *env = h->env.v ? h->env.v : no_env;
	int e;

	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		goto fail;
	syscall(SYS_close_range, 3, ~0u, CLOSE_RANGE_CLOEXEC_FLAG);
	sigprocmask(SIG_SETMASK, mask, NULL);
	execve(prog, argv, env);
fail:
	e = errno;
	(void)!write(err, &e, sizeof e);
	_exit(127);
}

static int spawn(const struct hook *h, const char *prog, struct child *c, const sigset_t *mask)
{
	int in[2], out[2], err[2];

	if (pipe2(in, O_CLOEXEC) < 0)
		return errnof("pipe for the hook's stdin");
	if (pipe2(out, O_CLOEXEC) < 0) {
		errnof("pipe for the hook's output");
		goto close_in;
	}
	if (pipe2(err, O_CLOEXEC) < 0) {
		errnof("pipe for the hook's exec status");
		goto close_out;
	}
	c->pid = fork();
	if (c->pid == 0)
		exec_child(h, prog, in[0], out[1], err[1], mask);
	if (c->pid < 0) {
		errnof("fork/exec %s", prog);
		close(err[0]);
		close(err[1]);
		goto close_out;
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	c->in = in[1];
	c->out = out[0];
	c->err = err[0];
	fcntl(c->in, F_SETFL, O_NONBLOCK);
	fcntl(c->out, F_SETFL, O_NONBLOCK);
	return 0;
close_out:
	close(out[0]);
	close(out[1]);
close_in:
	close(in[0]);
	close(in[1]);
	return -1;
}

/* feed writes what is left of the state; a hook that exits or closes
 * stdin without reading it is no error (EPIPE), as with Go's exec. */
static void feed(struct child *c, const unsigned char **state, uint32_t *left)
{
	ssize_t n = write(c->in, *state, *left);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		close_fd(&c->in);
		return;
	}
	*state += n;
	*left -= (uint32_t)n;
	if (*left == 0)
		close_fd(&c->in);
}

/* drain keeps the first OUTPUT_MAX bytes of the output, reads the rest
 * away, and closes the pipe at EOF. At most reads reads: a hook (or a
 * child it left behind) writing without end must not keep the init here
 * past the timeout. */
static void drain(struct child *c, int reads)
{
	char buf[4096];

	while (reads-- > 0) {
		ssize_t n = read(c->out, buf, sizeof buf);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			close_fd(&c->out);
		if (n <= 0)
			return;
		for (ssize_t i = 0; i < n && c->outlen < OUTPUT_MAX - 1; i++)
			c->output[c->outlen++] = buf[i];
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* supervise feeds stdin and collects output until the hook exits (1), its
 * deadline (-1: none) passes (0) or poll fails (-1). */
static int supervise(struct child *c, const unsigned char *state, uint32_t len, int64_t deadline)
{
	if (len == 0)
		close_fd(&c->in);
	for (;;) {
		struct pollfd fds[3] = {
			{ .fd = c->pidfd, .events = POLLIN },
			{ .fd = c->in, .events = POLLOUT },
			{ .fd = c->out, .events = POLLIN },
		};
		int wait = -1, n;

		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return 0;
			wait = left > INT_MAX ? INT_MAX : (int)left;
		}
		n = poll(fds, 3, wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errnof("wait for the hook");
		if (fds[1].revents)
			feed(c, &state, &len);
		if (fds[2].revents)
			drain(c, 1);
		if (fds[0].revents)
			return 1;
	}
}

/* exit_text says how the hook ended in Go's words ("exit status 1",
 * "signal: killed"); "" when it succeeded. */
static const char *exit_text(int status, char *buf, size_t size)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return "";
	if (WIFEXITED(status)) {
		snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
	} else {
		const char *sig = strsignal(WTERMSIG(status));

		snprintf(buf, size, "signal: %c%s%s", tolower((unsigned char)sig[0]), sig + 1,
			 WCOREDUMP(status) ? " (core dumped)" : "");
	}
	return buf;
}

/* outcome turns the hook's end into 0 or an error carrying its output. */
static int outcome(struct child *c, const char *prog, int status)
{
	char how[96];
	const char *out = c->output;
	size_t n = c->outlen;
	int e;

	if (read(c->err, &e, sizeof e) == (ssize_t)sizeof e)
		return errorf("fork/exec %s: %s", prog, errtext(e));
	if (!*exit_text(status, how, sizeof how))
		return 0;
	while (n > 0 && isspace((unsigned char)*out))
		out++, n--;
	while (n > 0 && isspace((unsigned char)out[n - 1]))
		n--;
	if (n == 0)
		return errorf("%s", how);
	return errorf("%s: %.*s", how, (int)n, out);
}

/* reap waits for the hook; ECHILD (SIGCHLD ignored by whoever started the
 * init) must not pass for a clean exit. */
static int reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

static int run_hook(const struct hook *h, const unsigned char *state, uint32_t len,
		    const sigset_t *mask)
{
	struct child c = { .pid = -1, .pidfd = -1, .in = -1, .out = -1, .err = -1 };
	char prog[PATH_MAX];
	int64_t deadline = h->timeout > 0 ? now_ms() + h->timeout * 1000 : -1;
	int status = 0, done, rc;

	/* Fail as Go's exec does on a missing or non-executable hook. */
	if (process_lookup(h->path, NULL, prog, sizeof prog) < 0)
		return -1;
	if (spawn(h, prog, &c, mask) < 0)
		return -1;
	c.pidfd = (int)syscall(SYS_pidfd_open, c.pid, 0);
	if (c.pidfd < 0) {
		rc = errnof("pidfd_open of hook process %d", (int)c.pid);
		done = -1;
	} else {
		done = supervise(&c, state, len, deadline);
		rc = done == 0 ? errorf("timed out after %llds", (long long)h->timeout) : -1;
	}
	if (done != 1)
		kill(c.pid, SIGKILL); /* not reaped yet: the pid is still the hook's */
	if (reap(c.pid, &status) < 0 && done == 1) {
		rc = errnof("wait for hook process %d", (int)c.pid);
		done = -1;
	}
	if (done == 1) {
		/* What the hook wrote before it exited is in the pipe: 16 reads
		 * take a full default pipe (64 KiB). */
		drain(&c, 16);
		rc = outcome(&c, prog, status);
	}
	close_fd(&c.pidfd);
	close_fd(&c.in);
	close_fd(&c.out);
	close_fd(&c.err);
	return rc;
}

/*
 * SIGPIPE is blocked while hooks run: a hook that exits without reading its
 * stdin must not kill the init. Any SIGPIPE it left pending is taken before
 * the mask is restored, so the workload starts with the init's mask.
 */
int hooks_run(const char *name, const struct hook *h, uint32_t n,
	      const unsigned char *state, uint32_t state_len)
{
	const struct timespec zero = { 0, 0 };
	sigset_t pipe_only, old;
	int rc = 0;

	if (n == 0)
		return 0;
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_only, &old);
	for (uint32_t i = 0; i < n && rc == 0; i++)
		if (run_hook(&h[i], state, state_len, &old) < 0)
			rc = wrapf("%s hook #%u (%s)", name, i, h[i].path);
	while (sigtimedwait(&pipe_only, NULL, &zero) == SIGPIPE)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/*
 * The workload's process attributes, as runtime/process planned them
 * (channel.ProcessPlan). Several are per thread (capabilities, no_new_privs,
 * scheduling attributes, I/O priority, affinity): everything here runs on
 * the init's only thread, the one that execs, so the workload inherits them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "init.h"
#include "process.h"

int err_suffix(const char *text)
{
	char msg[4096];

	snprintf(msg, sizeof msg, "%s", errmsg());
	return errorf("%s%s", msg, text);
}

/* --- Prepare: what needs root inside the container --- */

static int apply_oom_score_adj(const struct process_plan *pp)
{
	char rel[32], val[24];
	int proc, e;

	if (!pp->has_oom_score_adj)
		return 0;
	proc = procfs_open("/proc");
	if (proc < 0)
		return wrapf("write oom_score_adj");
	snprintf(rel, sizeof rel, "%d/oom_score_adj", (int)getpid());
	snprintf(val, sizeof val, "%lld", (long long)pp->oom_score_adj);
	if (procfs_write(proc, "/proc", rel, val, strlen(val)) == 0) {
		close(proc);
		return 0;
	}
	e = errno;
	close(proc);
	wrapf("write %s to /proc/self/oom_score_adj", val);
	if (e == EACCES || e == EPERM)
		err_suffix(" (lowering oom_score_adj below its current minimum needs CAP_SYS_RESOURCE)");
	return -1;
}

/* limit_text prints RLIM_INFINITY as the word everyone knows it by. */
static const char *limit_text(uint64_t v, char buf[24])
{
	if (v == (uint64_t)RLIM_INFINITY)
		return "unlimited";
	snprintf(buf, 24, "%llu", (unsigned long long)v);
	return buf;
}

static int apply_rlimits(const struct process_plan *pp)
{
	for (uint32_t i = 0; i < pp->n_rlimits; i++) {
		const struct rlimit_plan *r = &pp->rlimits[i];
		struct rlimit lim = { .rlim_cur = r->soft, .rlim_max = r->hard };
		char soft[24], hard[24];
		const char *why = "";
		int e;

		if (prlimit(0, (int)r->resource, &lim, NULL) == 0)
			continue;
		e = errno;
		if (e == EPERM)
			why = r->resource == RLIMIT_NOFILE
				? " (raising limits needs CAP_SYS_RESOURCE; RLIMIT_NOFILE also cannot exceed fs.nr_open)"
				: " (raising limits needs CAP_SYS_RESOURCE)";
		return errorf("setrlimit %s soft=%s hard=%s: %s%s", r->name,
			      limit_text(r->soft, soft), limit_text(r->hard, hard), errtext(e), why);
	}
	return 0;
}

#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_WHO_PROCESS 1

/* who=0 of IOPRIO_WHO_PROCESS is the calling thread, the one that execs. */
static int apply_ioprio(const struct process_plan *pp)
{
	long prio;
	int e;

	if (!pp->has_ioprio)
		return 0;
	prio = (long)(pp->ioprio.class << IOPRIO_CLASS_SHIFT | pp->ioprio.priority);
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio) == 0)
		return 0;
	e = errno;
	return errorf("ioprio_set class=%lld priority=%lld: %s%s", (long long)pp->ioprio.class,
		      (long long)pp->ioprio.priority, errtext(e),
		      e == EPERM ? " (IOPRIO_CLASS_RT needs CAP_SYS_ADMIN or CAP_SYS_NICE)" : "");
}

/* struct sched_attr up to the utilization clamps (SCHED_ATTR_SIZE_VER1),
 * which the SCHED_FLAG_UTIL_CLAMP_* flags need present. */
struct sched_attr_v1 {
	uint32_t size;
	uint32_t policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime;
	uint64_t deadline;
	uint64_t period;
	uint32_t util_min;
	uint32_t util_max;
};

static const char *sched_hint(const struct scheduler *s, int e)
{
	if (e != EPERM)
		return "";
	/* With CONFIG_RT_GROUP_SCHED a cgroup starts with no real-time
	 * budget and root is refused too: the capability hint alone would
	 * send the user the wrong way. */
	if (s->policy == SCHED_FIFO || s->policy == SCHED_RR)
		return " (real-time policies need CAP_SYS_NICE or RLIMIT_RTPRIO, and on kernels with "
		       "real-time group scheduling a cpu.rt_runtime_us budget in the container's cgroup "
		       "and its parents: linux.resources.cpu.realtimeRuntime)";
	return " (real-time policies and negative nice need CAP_SYS_NICE or RLIMIT_RTPRIO/RLIMIT_NICE)";
}

static int apply_scheduler(const struct process_plan *pp)
{
	const struct scheduler *s = &pp->scheduler;
	struct sched_attr_v1 attr = {
		.size = sizeof attr, .policy = s->policy, .flags = s->flags,
		.nice = s->nice, .priority = s->priority,
		.runtime = s->runtime, .deadline = s->deadline, .period = s->period,
	};
	int e;

	if (!pp->has_scheduler)
		return 0;
	if (syscall(SYS_sched_setattr, 0, &attr, 0) == 0)
		return 0;
	e = errno;
	return errorf("sched_setattr policy=%u nice=%d priority=%u flags=0x%llx: %s%s",
		      s->policy, s->nice, s->priority, (unsigned long long)s->flags,
		      errtext(e), sched_hint(s, e));
}

/*
 * cwd_inside fails when the working directory is outside the root: one
 * reached through an fd of a host directory (/proc/self/fd/N,
 * CVE-2024-21626) is, and getcwd(2) then answers "(unreachable)/...".
 * The raw syscall, so no libc second-guesses that answer.
 */
static int cwd_inside(const char *cwd, char *wd, size_t size)
{
	long n = syscall(SYS_getcwd, wd, size);

	if (n <= 0 || wd[0] != '/')
		return errorf("process.cwd \"%s\" is outside the container's root filesystem", cwd);
	return 0;
}

/*
 * cwd is entered while still root, so a workload user without search
 * permission on it still starts there (as with runc); process_exec enters it
 * again with the workload's rights.
 */
int process_prepare(struct process_plan *pp)
{
	char wd[PATH_MAX];

	if (apply_oom_score_adj(pp) < 0 || apply_rlimits(pp) < 0 ||
	    apply_ioprio(pp) < 0 || apply_scheduler(pp) < 0)
		return -1;
	if (chdir(pp->cwd) < 0)
		return errnof("chdir to process.cwd \"%s\"", pp->cwd);
	if (cwd_inside(pp->cwd, wd, sizeof wd) < 0)
		return -1;
	if (pp->has_caps && caps_drop_bounding(&pp->caps) < 0)
		return -1;
	/* setuid then keeps the permitted set, which process_finish narrows. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return errnof("prctl PR_SET_KEEPCAPS");
	return 0;
}

/* --- Finish: the workload's user and what must follow the switch --- */

static const char *unmapped_hint(int e)
{
	return e == EINVAL ? " (the id is not mapped in the container's user namespace)" : "";
}

/* gid_list prints groups as Go prints a []uint32: "[1 2 3]". */
static const char *gid_list(const struct process_plan *pp, char *buf, size_t size)
{
	size_t len = 0;

	buf[len++] = '[';
	for (uint32_t i = 0; i < pp->n_additional_gids && len + 12 < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%u", i ? " " : "",
					pp->additional_gids[i]);
	snprintf(buf + len, size - len, "]");
	return buf;
}

/* setgroups_denied: a user namespace set up without a helper refuses
 * setgroups, to stop a process from shedding a group that denies it
 * access. Read through the verified procfs: a file mounted over it must not
 * make a real refusal pass for this one. */
static int setgroups_denied(void)
{
	char rel[32], buf[8] = { 0 };
	int proc = procfs_open("/proc"), fd;
	ssize_t n = -1;

	if (proc < 0)
		return 0;
	snprintf(rel, sizeof rel, "%d/setgroups", (int)getpid());
	fd = sys_openat2(proc, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW,
			 RSLV_BENEATH | RSLV_NO_SYMLINKS | RSLV_NO_MAGICLINKS | RSLV_NO_XDEV);
	if (fd >= 0) {
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
	}
	close(proc);
	return n >= 4 && strncmp(buf, "deny", 4) == 0;
}

/* Groups first, then gid, then uid: once the uid is not 0 the others can
 * no longer change. The supplementary groups are always replaced, so none
 * of the host's leak in. Raw syscalls: the init has one thread, so libc's
 * broadcast of the change to every thread is not needed, and its extra
 * syscalls would run under a filter loaded before Finish (no_new_privs off)
 * that need not allow them. */
static int set_user(const struct process_plan *pp)
{
	char groups[256];
	int e;

	if (syscall(SYS_setgroups, pp->n_additional_gids, pp->additional_gids) < 0) {
		e = errno;
		if (e == EPERM && setgroups_denied()) {
			/* With no additionalGids that is fine: the namespace's
			 * creator held no groups it could carry in. */
			if (pp->n_additional_gids == 0)
				goto ids;
			return errorf("setgroups %s: %s (the user namespace has /proc/self/setgroups set "
				      "to deny: additionalGids cannot be used)",
				      gid_list(pp, groups, sizeof groups), errtext(e));
		}
		return errorf("setgroups %s: %s%s", gid_list(pp, groups, sizeof groups),
			      errtext(e), unmapped_hint(e));
	}
ids:
	if (syscall(SYS_setresgid, pp->gid, pp->gid, pp->gid) < 0) {
		e = errno;
		return errorf("setgid %u: %s%s", pp->gid, errtext(e), unmapped_hint(e));
	}
	if (syscall(SYS_setresuid, pp->uid, pp->uid, pp->uid) < 0) {
		e = errno;
		return errorf("setuid %u: %s%s", pp->uid, errtext(e), unmapped_hint(e));
	}
	return 0;
}

/* The seccomp filter is not loaded here but by process_exec, last. */
int process_finish(struct process_plan *pp)
{
	if (set_user(pp) < 0)
		return -1;
	/* setuid cleared the effective set: capset restores what the
	 * workload gets. */
	if (pp->has_caps && caps_apply(&pp->caps) < 0)
		return -1;
	if (pp->has_umask)
		umask(pp->umask);
	if (set_affinity(pp->cpus) < 0)
		return -1;
	if (pp->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errnof("prctl PR_SET_NO_NEW_PRIVS");
	return 0;
}

/* --- Lookup and Exec --- */

/* executable checks that p is a regular file the caller may execute, with
 * the texts Go's os/exec gives: the engine's users know them from runc's
 * Go-based tools too. */
static int executable(const char *p)
{
	struct stat st;

	if (stat(p, &st) < 0)
		return errnof("stat %s", p);
	if (S_ISDIR(st.st_mode))
		return errorf("%s: is a directory", p);
	if (!S_ISREG(st.st_mode))
		return errorf("%s: not a regular file", p);
	/* AT_EACCESS: with the effective ids, the ones execve checks. */
	if (syscall(SYS_faccessat2, AT_FDCWD, p, X_OK, AT_EACCESS) < 0 &&
	    (errno != ENOSYS || faccessat(AT_FDCWD, p, X_OK, AT_EACCESS) < 0))
		return errnof("access %s", p);
	return 0;
}

/* path_of is the value of the last PATH= in env, as when the variables
 * are set in order. */
static const char *path_of(char *const *env)
{
	const char *path = "";

	for (; env && *env; env++)
		if (strncmp(*env, "PATH=", 5) == 0)
			path = *env + 5;
	return path;
}

/* clean_abs is Go's filepath.Clean for an absolute path: no "//", no "."
 * elements, ".." folded (and "/.." is "/"). */
static void clean_abs(char *p)
{
	char *out = p + 1, *in = p + 1;

	while (*in) {
		char *end = strchrnul(in, '/');
		size_t n = (size_t)(end - in);

		if (n == 2 && in[0] == '.' && in[1] == '.') {
			while (out > p + 1 && *--out != '/')
				;
		} else if (n > 0 && !(n == 1 && in[0] == '.')) {
			if (out > p + 1)
				*out++ = '/';
			memmove(out, in, n);
			out += n;
		}
		in = *end ? end + 1 : end;
	}
	*out = '\0';
}

/* candidate is dir/arg0 as Go's filepath.Join makes it; an empty element
 * means the cwd, kept as "./arg0" so that execve does not search again. */
static int candidate(const char *dir, size_t dirlen, const char *arg0, char *out, size_t outlen)
{
	int n;

	if (dirlen == 0 || (dirlen == 1 && dir[0] == '.'))
		n = snprintf(out, outlen, "./%s", arg0);
	else
		n = snprintf(out, outlen, "%.*s/%s", (int)dirlen, dir, arg0);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	if (out[0] == '/')
		clean_abs(out);
	return 0;
}

int process_lookup(const char *arg0, char *const *env, char *out, size_t outlen)
{
	const char *path = path_of(env);

	if (!arg0 || !*arg0)
		return errorf("exec: \"\": empty program name");
	if (strchr(arg0, '/')) {
		if (executable(arg0) < 0)
			return wrapf("exec: \"%s\"", arg0);
		if (snprintf(out, outlen, "%s", arg0) >= (int)outlen)
			return errorf("exec: \"%s\": path too long", arg0);
		return 0;
	}
	/* An empty PATH has no element at all, as in Go's SplitList. */
	for (const char *dir = path, *end; *path; dir = end + 1) {
		end = strchrnul(dir, ':');
		if (candidate(dir, (size_t)(end - dir), arg0, out, outlen) == 0 &&
		    executable(out) == 0)
			return 0;
		if (!*end)
			break;
	}
	return errorf("exec: \"%s\": executable file not found in $PATH", arg0);
}

/*
 * Entering cwd again as the workload's user makes a cwd that is a symlink
 * or was replaced resolve with that user's rights. A user without search
 * permission stays where root put it, but only if root put it there: a
 * start request may have changed cwd since.
 */
static int enter_cwd(const char *cwd)
{
	char wd[PATH_MAX], want[PATH_MAX];
	int e;

	if (chdir(cwd) < 0) {
		e = errno;
		snprintf(want, sizeof want, "%s", cwd);
		if (want[0] == '/')
			clean_abs(want);
		if ((e != EACCES && e != EPERM) || syscall(SYS_getcwd, wd, sizeof wd) <= 0 ||
		    strcmp(wd, want) != 0) {
			errno = e;
			return errnof("chdir to process.cwd \"%s\"", cwd);
		}
	}
	return cwd_inside(cwd, wd, sizeof wd);
}

int process_exec(struct process_plan *pp)
{
	static char *const no_env[] = { NULL };
	char *const *env = pp->env.v ? pp->env.v : no_env;
	char prog[PATH_MAX];

	if (enter_cwd(pp->cwd) < 0)
		return -1;
	if (process_lookup(pp->args.n ? pp->args.v[0] : NULL, env, prog, sizeof prog) < 0)
		return -1;
	if (apply_lsm(pp) < 0)
		return -1;
	/* The filter comes last: it may forbid the very syscalls the steps
	 * above need, and no_new_privs (set by process_finish) lets an
	 * unprivileged process install it. */
	if (pp->seccomp_len > 0 && seccomp_load(pp) < 0)
		return wrapf("load seccomp filter");
	execve(prog, pp->args.v, env);
	return errnof("exec \"%s\"", prog);
}

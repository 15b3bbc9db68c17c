/*
 * slrt-nsenter: join a container's user namespace, then become slrt-init.
 *
 * A process can only join a user namespace while it is single-threaded
 * (setns(2): EINVAL otherwise), and a Go program never is: its runtime
 * starts threads before main. So exec into a user-namespaced container
 * goes through this helper: the engine spawns it (already in the
 * container's other namespaces, joined on a locked thread before the
 * fork), it calls setns(userns) and execs the sealed slrt-init memfd,
 * which then enters the mount namespace and runs the exec plan.
 *
 * Creating a container inside an existing user namespace (a Kubernetes pod
 * with hostUsers: false, whose user namespace containerd pins) needs more:
 * the container's new namespaces must be made after the join, so that the
 * user namespace owns them (otherwise its root may not mount in its own
 * mount namespace, nor mount proc for its pid namespace). A new pid
 * namespace takes a fork, so with CLONE_FLAGS the helper joins, becomes
 * root there and clones the init with those flags and CLONE_PARENT: the
 * init is the engine's child, as every other init is, and the helper just
 * exits. The init first sends one byte, "P", on the sync socket (fd 3):
 * the engine reads its host pid from the credentials the kernel attaches
 * (SCM_CREDENTIALS, translated to the reader's pid namespace). If the
 * helper fails before that, it sends "E<errno> <what>" there instead.
 *
 * It is freestanding (no libc, raw syscalls) so that it costs a few
 * kilobytes in the binary and nothing at start-up.
 *
 * usage: slrt-nsenter USERNS_FD INIT_FD [CLONE_FLAGS]   (decimal numbers)
 */

#if defined(__x86_64__)
#define SYS_write 1
#define SYS_clone 56
#define SYS_prctl 157
#define SYS_exit 60
#define SYS_setgroups 116
#define SYS_setresuid 117
#define SYS_setresgid 119
#define SYS_setns 308
#define SYS_execveat 322
static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}
static long sys5(long n, long a, long b, long c, long d, long e)
{
	long r;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8) : "rcx", "r11", "memory");
	return r;
}
#elif defined(__aarch64__)
#define SYS_write 64
#define SYS_exit 93
#define SYS_prctl 167
#define SYS_clone 220
#define SYS_setresuid 147
#define SYS_setresgid 149
#define SYS_setgroups 159
#define SYS_setns 268
#define SYS_execveat 281
static long sys5(long n, long a, long b, long c, long d, long e)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
	return x0;
}
static long sys3(long n, long a, long b, long c) { return sys5(n, a, b, c, 0, 0); }
#else
#error "slrt-nsenter: unsupported architecture"
#endif

#define CLONE_NEWUSER 0x10000000
#define CLONE_PARENT 0x00008000
#define PR_SET_DUMPABLE 4
#define SIGCHLD 17
#define AT_EMPTY_PATH 0x1000
#define SYNC_FD 3

/* Set while the engine waits for "P" or "E...": failures go to it too. */
static int report_on_sync;

static long len(const char *s)
{
	long n = 0;
	while (s[n])
		n++;
	return n;
}

static void die(const char *what, long err)
{
	/* "slrt-nsenter: WHAT: errno N\n" on stderr; the engine reports the
	 * init's stderr and the failed spawn. */
	char num[24];
	int i = sizeof(num);
	unsigned long e = (unsigned long)-err;
	num[--i] = '\n';
	do {
		num[--i] = (char)('0' + e % 10);
		e /= 10;
	} while (e && i > 0);
	if (report_on_sync) {
		/* One record on the seqpacket socket: "E<errno> <what>". */
		char msg[160];
		long n = 0, k;
		msg[n++] = 'E';
		for (k = i; k < (long)sizeof(num) - 1; k++)
			msg[n++] = num[k];
		msg[n++] = ' ';
		for (k = 0; what[k] && n < (long)sizeof(msg); k++)
			msg[n++] = what[k];
		sys3(SYS_write, SYNC_FD, (long)msg, n);
	}
	sys3(SYS_write, 2, (long)"slrt-nsenter: ", 14);
	sys3(SYS_write, 2, (long)what, len(what));
	sys3(SYS_write, 2, (long)": errno ", 8);
	sys3(SYS_write, 2, (long)(num + i), (long)(sizeof(num) - i));
	sys3(SYS_exit, 127, 0, 0);
	for (;;)
		;
}

static long atoi_fd(const char *s)
{
	long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* Called from _start with the initial stack pointer. */
__attribute__((used)) void nsenter_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	long userns, init, flags = 0, r;
	static char *init_argv[] = {"slrt-init", 0};

	if (argc == 4) {
		report_on_sync = 1;
		flags = atoi_fd(argv[3]);
		/* Only namespace flags: nothing that would share memory or
		 * files with the helper, and never a new user namespace. */
		if (flags <= 0 || (flags & ~0x6e020000L))
			die("bad clone flags", -22);
	}
	if (argc != 3 && argc != 4)
		die("usage: slrt-nsenter USERNS_FD INIT_FD [CLONE_FLAGS]", -22);
	userns = atoi_fd(argv[1]);
	init = atoi_fd(argv[2]);
	if (userns < 0 || init < 0)
		die("bad fd argument", -22);
	/*
	 * Not dumpable before entering the container's user namespace (and,
	 * inherited, in the init until its execve): its root must not ptrace
	 * us nor open /proc/PID/fd, where the engine's files are (the runc
	 * exec attack, CVE-2016-9962). slrt-init sets it again after execve.
	 */
	r = sys3(SYS_prctl, PR_SET_DUMPABLE, 0, 0);
	if (r < 0)
		die("prctl(PR_SET_DUMPABLE)", r);
	r = sys3(SYS_setns, userns, CLONE_NEWUSER, 0);
	if (r < 0)
		die("join user namespace", r);
	/*
	 * setns gave us every capability in the namespace, but we are not its
	 * root (the host's uid is unmapped there), and execve would drop them
	 * all. Become its uid/gid 0 first; slrt-init sets the process's own
	 * ids later. setgroups fails when the namespace denies it (rootless):
	 * then there are no groups to drop anyway.
	 */
	sys3(SYS_setgroups, 0, 0, 0);
	r = sys3(SYS_setresgid, 0, 0, 0);
	if (r < 0)
		die("become gid 0 in the user namespace", r);
	r = sys3(SYS_setresuid, 0, 0, 0);
	if (r < 0)
		die("become uid 0 in the user namespace", r);
	if (flags) {
		/*
		 * A fork (no new stack: the child runs on a copy of ours) into
		 * namespaces owned by the joined user namespace, as a sibling:
		 * the engine's child, which it waits for and reaps.
		 */
		r = sys5(SYS_clone, flags | CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
		if (r < 0)
			die("clone the init into new namespaces", r);
		if (r > 0)
			sys3(SYS_exit, 0, 0, 0);
		report_on_sync = 0;
		r = sys3(SYS_write, SYNC_FD, (long)"P", 1);
		if (r != 1)
			die("report the init's pid", r < 0 ? r : -5);
	}
	r = sys5(SYS_execveat, init, (long)"", (long)init_argv, (long)envp, AT_EMPTY_PATH);
	die("exec slrt-init", r);
}

#if defined(__x86_64__)
__asm__(".text\n.global _start\n_start:\n"
	"  xor %rbp, %rbp\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call nsenter_main\n  hlt\n");
#elif defined(__aarch64__)
__asm__(".text\n.global _start\n_start:\n"
	"  mov x29, #0\n  mov x0, sp\n  and sp, x0, #-16\n  bl nsenter_main\n  brk #0\n");
#endif

// stamp: the workload of bench/cri's first-instruction measurement. Its
// very first act, before any libc start-up could run (there is no libc:
// _start is ours), is to read CLOCK_REALTIME; then it prints
//
//	stamp SECONDS.NANOSECONDS cpus LIST
//
// with LIST the CPUs sched_getaffinity gives it (e.g. "1" or "0-1,3"),
// and exits 0. The benchmark subtracts its own clock, read just before
// StartContainer, from the stamp: the time from StartContainer to the
// workload's first instruction, and checks LIST against the affinity hint.
//
// Raw system calls, not the vDSO: finding the vDSO needs the auxiliary
// vector parsed first, and the syscall costs well under a microsecond.
//
// Built with -nostdlib -ffreestanding -fno-stack-protector (no TLS for a
// canary) by test/e2e/cri-images.sh.

typedef unsigned long u64;

#define CLOCK_REALTIME 0

#if defined(__x86_64__)
#define SYS_write 1
#define SYS_exit_group 231
#define SYS_clock_gettime 228
#define SYS_sched_getaffinity 204
static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}
#elif defined(__aarch64__)
#define SYS_write 64
#define SYS_exit_group 94
#define SYS_clock_gettime 113
#define SYS_sched_getaffinity 123
static long sys3(long n, long a, long b, long c)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
	return x0;
}
#else
#error "stamp.c: add this architecture's system call numbers"
#endif

struct ts {
	long sec, nsec;
};

static char buf[4096];
static int len;

static void put(const char *s)
{
	while (*s && len < (int)sizeof(buf))
		buf[len++] = *s++;
}

// num writes v in decimal, zero-padded to width digits.
static void num(u64 v, int width)
{
	char d[24];
	int n = 0;
	do {
		d[n++] = '0' + v % 10;
		v /= 10;
	} while (v || n < width);
	while (n > 0 && len < (int)sizeof(buf))
		buf[len++] = d[--n];
}

__attribute__((noreturn, used)) static void run(void)
{
	struct ts t;
	sys3(SYS_clock_gettime, CLOCK_REALTIME, (long)&t, 0);

	static unsigned char mask[128]; // 1024 CPUs
	long n = sys3(SYS_sched_getaffinity, 0, sizeof(mask), (long)mask);
	put("stamp ");
	num(t.sec, 1);
	put(".");
	num(t.nsec, 9);
	put(" cpus ");
	if (n < 0) {
		put("?");
	} else {
		// ranges "a-b" of consecutive set bits, comma-separated
		int first = 1;
		for (int i = 0; i < n * 8; i++) {
			if (!(mask[i / 8] >> (i % 8) & 1))
				continue;
			int j = i;
			while (j + 1 < n * 8 && (mask[(j + 1) / 8] >> ((j + 1) % 8) & 1))
				j++;
			if (!first)
				put(",");
			first = 0;
			num(i, 1);
			if (j > i) {
				put("-");
				num(j, 1);
			}
			i = j;
		}
	}
	put("\n");
	long code = sys3(SYS_write, 1, (long)buf, len) == len ? 0 : 1;
	for (;;)
		sys3(SYS_exit_group, code, 0, 0);
}

// _start: the kernel enters here with the stack as it left it; run never
// returns, so the stack only needs the alignment the ABI asks of a call.
#if defined(__x86_64__)
__asm__(".globl _start\n_start:\n\txor %rbp, %rbp\n\tand $-16, %rsp\n\tcall run\n");
#elif defined(__aarch64__)
__asm__(".globl _start\n_start:\n\tmov x29, #0\n\tbl run\n");
#endif

/*
 * console: runs console_setup with fd 3 as the console socket, then
 * reports on its new stdio (the pty slave) what the workload would find,
 * for runtime/terminal's TestCConsole. Not part of slrt-init.
 *   console ROWS COLS
 * The report, one line on the pty: "size R C leader L ctty T inherit I"
 * (L: the process leads its session, T: the pty is its controlling
 * terminal, I: fds 0-2 survive execve).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "../err.h"
#include "../init.h"

int main(int argc, char **argv)
{
	struct plan p = { .console = true, .console_fd = 3 };
	struct winsize ws = { 0 };
	pid_t sid = -1;
	int inherit = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: console ROWS COLS\n");
		return 2;
	}
	p.console_rows = (uint32_t)atoi(argv[1]);
	p.console_cols = (uint32_t)atoi(argv[2]);
	if (console_setup(&p) < 0) {
		fprintf(stderr, "ERROR: %s\n", errmsg());
		return 3;
	}
	ioctl(1, TIOCGWINSZ, &ws);
	ioctl(0, TIOCGSID, &sid);
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) & FD_CLOEXEC)
			inherit = 0;
	printf("size %u %u leader %d ctty %d inherit %d\n", ws.ws_row, ws.ws_col,
	       getsid(0) == getpid(), sid == getpid(), inherit);
	fflush(stdout);
	/* Stay until the test has read the report: a closed slave could
	 * drop it before the master is read. */
	getchar();
	return 0;
}

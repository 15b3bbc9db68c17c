/*
 * The container's terminal: a pty of the container's own devpts, its
 * master sent over the console socket in runc's format (payload
 * "/dev/ptmx", exactly one SCM_RIGHTS fd, which every receiver written for
 * runc checks), its slave made the process's stdio and controlling
 * terminal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "err.h"
#include "init.h"
#include "process.h"

#define MASTER_NAME "/dev/ptmx"

/*
 * open_master opens a new pty master and unlocks its slave. Called after
 * pivot_root, so /dev/ptmx is the container's; it is a symlink to
 * pts/ptmx, so plain symlinks are followed, magic links never.
 * O_NOCTTY: the slave becomes the controlling terminal explicitly, later.
 */
static int open_master(void)
{
	int unlock = 0;
	int fd = sys_openat2(AT_FDCWD, MASTER_NAME, O_RDWR | O_NOCTTY | O_CLOEXEC,
			     RSLV_NO_MAGICLINKS);

	if (fd < 0)
		return errnof("open pty master: open %s", MASTER_NAME);
	if (ioctl(fd, TIOCSPTLCK, &unlock) < 0) {
		errnof("unlockpt %s", MASTER_NAME);
		close(fd);
		return -1;
	}
	return fd;
}

/* open_slave opens the master's peer through the master itself
 * (TIOCGPTPEER), so a hostile rootfs cannot swap /dev/pts/N for something
 * else between ptsname and open; kernels before 4.13 open the path. */
static int open_slave(int master)
{
	char name[32];
	unsigned int n;
	int fd;

	if (ioctl(master, TIOCGPTN, &n) < 0)
		return errnof("ptsname");
	snprintf(name, sizeof name, "/dev/pts/%u", n);
	fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno != EINVAL && errno != ENOTTY)
		return errnof("open pty slave %s", name);
	fd = sys_openat2(AT_FDCWD, name, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW,
			 RSLV_NO_SYMLINKS | RSLV_NO_MAGICLINKS);
	if (fd < 0)
		return errnof("open pty slave: open %s", name);
	return fd;
}

/* send_master sends master in runc's format; the receiver owns its copy. */
static int send_master(int sock, int master)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = MASTER_NAME, .iov_len = strlen(MASTER_NAME) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf,
	};
	struct cmsghdr *c;

	memset(&ctl, 0, sizeof ctl);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &master, sizeof(int));
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return errnof("send pty master over console socket");
	return 0;
}

/* new_pty returns the slave of a new pty whose master has gone to the
 * console socket, sized first so the workload never sees a 0x0 terminal. */
static int new_pty(struct plan *p)
{
	struct winsize ws = { .ws_row = (unsigned short)p->console_rows,
			      .ws_col = (unsigned short)p->console_cols };
	int master, slave;

	master = open_master();
	if (master < 0)
		return -1;
	slave = open_slave(master);
	if (slave < 0)
		goto fail;
	if (p->console_rows && p->console_cols && ioctl(master, TIOCSWINSZ, &ws) < 0) {
		errnof("resize terminal %s to %ux%u", MASTER_NAME, p->console_rows, p->console_cols);
		goto fail;
	}
	if (send_master(p->console_fd, master) < 0)
		goto fail;
	close(master);
	return slave;
fail:
	if (slave >= 0)
		close(slave);
	close(master);
	return -1;
}

/* attach makes slave fds 0-2 without close-on-exec: dup3 clears it on the
 * copies, fcntl on a slave that already is one of them. */
static int attach(int slave)
{
	for (int i = 0; i < 3; i++) {
		int rc = slave == i ? fcntl(i, F_SETFD, 0) : dup3(slave, i, 0);

		if (rc < 0)
			return errnof("make the pty stdio");
	}
	return 0;
}

/* setsid first, as runc's init does: it is what lets TIOCSCTTY succeed
 * without stealing a terminal from anyone. */
int console_setup(struct plan *p)
{
	int slave = new_pty(p), rc = 0;

	if (slave < 0)
		return -1;
	if (setsid() < 0)
		rc = errnof("setsid");
	else if (attach(slave) < 0)
		rc = -1;
	else if (ioctl(0, TIOCSCTTY, 0) < 0)
		rc = errnof("make the pty the controlling terminal");
	if (slave > 2)
		close(slave);
	return rc;
}

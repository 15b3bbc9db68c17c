/*
 * /proc/self/mountinfo (proc(5)), read whole and split in place:
 * "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "rootfs.h"

/* grow doubles buf when it is full; NULL (buf freed) when out of memory. */
static char *grow(char *buf, size_t len, size_t *cap)
{
	if (len + 1 < *cap)
		return buf;
	char *bigger = realloc(buf, *cap *= 2);
	if (!bigger)
		free(buf);
	return bigger;
}

char *rootfs_read_file(const char *path)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errnof("open %s", path);
		return NULL;
	}
	size_t cap = 16384, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			errnof("read %s", path);
			return NULL;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			errnof("read %s", path);
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		buf = grow(buf, len, &cap);
	}
	buf[len] = '\0';
	return buf;
}

/* unescape_octal undoes, in place, the kernel's \040-style escaping of
 * space, tab, newline and backslash in mountinfo paths. */
static void unescape_octal(char *s)
{
	char *out = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
			continue;
		}
		*out++ = *s;
	}
	*out = '\0';
}

/* next_field cuts the space-separated field at *p and advances past it. */
static char *next_field(char **p)
{
	while (**p == ' ')
		(*p)++;
	if (**p == '\0')
		return NULL;
	char *f = *p;
	char *end = strchrnul(f, ' ');
	*p = *end ? end + 1 : end;
	*end = '\0';
	return f;
}

static bool is_number(const char *s)
{
	char *end;
	strtol(s, &end, 10);
	return end != s && *end == '\0';
}

/* parse_line fills e from one line (cut in place). On a malformed line it
 * returns what is wrong (the quoted line follows). */
static const char *parse_line(char *line, struct mountinfo_entry *e)
{
	static const char *const bad = "bad mountinfo line";
	char *f[6];
	for (int i = 0; i < 6; i++)
		if (!(f[i] = next_field(&line)))
			return bad;
	/* Optional fields ("shared:1 master:2") until the lone "-". */
	char *opt;
	while ((opt = next_field(&line)) && strcmp(opt, "-") != 0)
		;
	if (!opt)
		return bad;
	char *fstype = next_field(&line), *source = next_field(&line);
	if (!fstype || !source)
		return bad;
	char *super = next_field(&line);
	if (!is_number(f[0]))
		return "bad mount id in";
	if (!is_number(f[1]))
		return "bad parent id in";
	unescape_octal(f[3]);
	unescape_octal(f[4]);
	e->root = f[3];
	e->point = f[4];
	e->fstype = fstype;
	e->super = super ? super : "";
	return NULL;
}

/* quote writes s as Go's %q does for ASCII, for messages. */
static void quote(const char *s, char *out, size_t len)
{
	size_t o = 0;
	out[o++] = '"';
	for (; *s && o + 6 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, len - o, "\\%c", c);
		else if (c == '\t')
			o += (size_t)snprintf(out + o, len - o, "\\t");
		else if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
	}
	out[o++] = '"';
	out[o] = '\0';
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n + 1;
}

int mountinfo_read(const char *path, struct mountinfo *mi)
{
	mi->n = 0;
	mi->e = NULL;
	mi->buf = rootfs_read_file(path);
	if (!mi->buf)
		return wrapf("read mount table");
	mi->e = calloc(count_lines(mi->buf), sizeof(*mi->e));
	if (!mi->e) {
		mountinfo_free(mi);
		return errnof("read mount table");
	}
	char *save = NULL;
	for (char *line = strtok_r(mi->buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* Quoted before parsing, which cuts the line. */
		char shown[512];
		quote(line, shown, sizeof(shown));
		const char *bad = parse_line(line, &mi->e[mi->n]);
		if (bad) {
			mountinfo_free(mi);
			return errorf("parse %s: %s %s", path, bad, shown);
		}
		mi->n++;
	}
	return 0;
}

void mountinfo_free(struct mountinfo *mi)
{
	free(mi->e);
	free(mi->buf);
	mi->e = NULL;
	mi->buf = NULL;
	mi->n = 0;
}

// nginx: the stand-in for the nginx test images critest runs (webserver,
// hostPID, PID namespace and host-network specs). What the specs look at:
// a process whose comm is "nginx" (pidof nginx), its pid in
// /var/run/nginx.pid, and an HTTP 200 with the page on $NGINX_PORT
// (default 80), and /proc/1/cmdline saying "master process" (the
// ContainerPID spec waits for that, as real nginx renames itself). One
// connection at a time is all a test needs.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PAGE "/usr/share/nginx/html/index.html"

static void serve(int c)
{
	char buf[4096], head[256];
	ssize_t n;
	int f, len;

	// The request line is enough: every request gets the page.
	n = read(c, buf, sizeof(buf) - 1);
	if (n <= 0)
		return;
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	printf("%s\n", buf);
	fflush(stdout);
	f = open(PAGE, O_RDONLY);
	n = f < 0 ? 0 : read(f, buf, sizeof(buf));
	if (f >= 0)
		close(f);
	if (n < 0)
		n = 0;
	len = snprintf(head, sizeof(head),
		       "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: %zd\r\nConnection: close\r\n\r\n", n);
	if (write(c, head, len) != len || write(c, buf, n) != n)
		perror("nginx: write");
}

#define MASTER "nginx: master process nginx -g daemon off;"

int main(int argc, char **argv)
{
	const char *p = getenv("NGINX_PORT");
	int port = p && *p ? atoi(p) : 80, s, c, one = 1;
	struct sockaddr_in6 a;
	FILE *pf;

	// Real nginx rewrites its argv in place; re-executing the same file
	// with the new argv[0] keeps the pid and the comm ("nginx").
	if (argc < 1 || strcmp(argv[0], MASTER) != 0) {
		char *args[] = {MASTER, NULL};
		execv("/usr/sbin/nginx", args);
		perror("nginx: re-exec");
	}
	pf = fopen("/var/run/nginx.pid", "w");
	if (pf) {
		fprintf(pf, "%d\n", (int)getpid());
		fclose(pf);
	}
	// One IPv6 socket with v6only off answers IPv4 and IPv6.
	s = socket(AF_INET6, SOCK_STREAM, 0);
	if (s < 0) {
		perror("nginx: socket");
		return 1;
	}
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	one = 0;
	setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(port);
	a.sin6_addr = in6addr_any;
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 16)) {
		perror("nginx: listen");
		return 1;
	}
	printf("nginx (slrt e2e stand-in) pid %d listening on :%d\n", (int)getpid(), port);
	fflush(stdout);
	for (;;) {
		c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		serve(c);
		close(c);
	}
}

// pause: the pod sandbox process of the CRI test images (the role of
// registry.k8s.io/pause). It holds the pod's namespaces open, reaps the
// zombies of a pod sharing its PID namespace (it is PID 1 there) and exits
// 0 on SIGINT or SIGTERM. Built static by test/e2e/cri-images.sh.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig)
{
	(void)sig;
	_exit(0);
}

static void reap(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		puts("pause (slrt e2e)");
		return 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = quit;
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return 1;
	sa.sa_handler = reap;
	sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	if (sigaction(SIGCHLD, &sa, NULL))
		return 2;
	for (;;)
		pause();
}

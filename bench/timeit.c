/*
 * timeit: runs a program (absolute path, no PATH lookup) and appends to stderr one line,
 * "timeit-ns <n>", the nanoseconds from just before its fork to its exit. The benchmarks run
 * every timed call under it: a spawn from Node costs about 2 ms by itself on the development
 * machine, which is neither implementation's cost and would blur the ratios. Exit code: the
 * program's. Built by the benchmarks with cc.
 */
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec start, end;
	pid_t pid;
	int status;

	if (argc < 2) {
		fputs("usage: timeit /path/to/program [args...]\n", stderr);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	pid = fork();
	if (pid == 0) {
		execv(argv[1], argv + 1);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return 126;
	clock_gettime(CLOCK_MONOTONIC, &end);
	fprintf(stderr, "\ntimeit-ns %lld\n",
		(long long)(end.tv_sec - start.tv_sec) * 1000000000LL + (end.tv_nsec - start.tv_nsec));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

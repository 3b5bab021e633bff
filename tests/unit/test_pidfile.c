/* The pidfile lock: who holds it, stale files, two daemons on one file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "nfflowd/pidfile.h"

static char path[64];

static int setup(void **state)
{
	char dir[] = "/tmp/nfflowd-pidfile-XXXXXX";

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/test.pid", dir);
	return 0;
}

static int teardown(void **state)
{
	char dir[64];

	unlink(path);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
	return 0;
}

/* Forks a child that takes the lock and waits; returns its pid. */
static pid_t spawn_holder(void)
{
	int fds[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = pidfile_acquire(path, NULL);

		c = fd >= 0 ? 'y' : 'n';
		if (write(fds[1], &c, 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	assert_int_equal(c, 'y');
	return pid;
}

static void reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static void test_no_file_is_not_running(void **state)
{
	assert_int_equal(pidfile_running(path), 0);
}

static void test_acquire_writes_pid(void **state)
{
	char buf[32] = { 0 };
	FILE *f;
	int fd = pidfile_acquire(path, NULL);

	assert_true(fd >= 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_int_equal(atol(buf), (long)getpid());
	pidfile_release(fd, path);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_holder_is_reported(void **state)
{
	pid_t child = spawn_holder();
	pid_t holder = 0;
	int fd;

	assert_int_equal(pidfile_running(path), child);
	fd = pidfile_acquire(path, &holder);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(holder, child);
	reap(child);
}

static void test_stale_file_after_kill(void **state)
{
	pid_t child = spawn_holder();
	int fd;

	reap(child);	/* like kill -9: the file stays, the lock goes */
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(pidfile_running(path), 0);
	fd = pidfile_acquire(path, NULL);
	assert_true(fd >= 0);
	pidfile_release(fd, path);
}

static void test_longer_stale_content_is_truncated(void **state)
{
	char buf[64] = { 0 };
	FILE *f = fopen(path, "w");
	int fd;

	assert_non_null(f);
	fputs("123456789012345678\n", f);
	fclose(f);
	fd = pidfile_acquire(path, NULL);
	assert_true(fd >= 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_int_equal(atol(buf), (long)getpid());
	pidfile_release(fd, path);
}

static void test_unwritable_directory(void **state)
{
	int fd = pidfile_acquire("/nonexistent-dir/nfflowd.pid", NULL);

	assert_int_equal(fd, -1);
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_file_is_not_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acquire_writes_pid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_holder_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_file_after_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_longer_stale_content_is_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_directory, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

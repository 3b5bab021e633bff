/* `nfflowd install`: the systemd unit, its user, daemon-reload and enable. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "install_unit.h"
#include "nfflowd/config.h"
#include "nfflowd/install.h"

/* Where a package (/lib, /usr/lib) or `meson install` (/usr/local/lib)
 * puts the unit; such a unit is enabled as it is, never copied. */
static const char *const system_unit_dirs[] = {
	"/lib/systemd/system",
	"/usr/lib/systemd/system",
	"/usr/local/lib/systemd/system",
};

static const char *const sysusers_dirs[] = {
	"/usr/lib/sysusers.d",
	"/usr/local/lib/sysusers.d",
	"/etc/sysusers.d",
};

#define SYSUSERS_OWN "/etc/sysusers.d/nfflowd.conf"
#define RUNTIME_DIR "/run/nfflowd/"

/* True if path names an existing regular file. */
static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* True if systemd is the running init (the test sd_booted() makes). */
static bool systemd_running(void)
{
	struct stat st;

	return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

/* True if path may stand as it is in a unit's command line and in a shell
 * command: no blank, quote, backslash, specifier (%), variable ($) or
 * other character either would read. */
static bool plain_path(const char *path)
{
	const unsigned char *p = (const unsigned char *)path;

	for (; *p != '\0'; p++)
		if (!isalnum(*p) && strchr("/._-+,:@", *p) == NULL)
			return false;
	return true;
}

/* Writes s as systemd reads the inside of a quoted word of a command line
 * (systemd.service(5), "Command lines"): backslash and both quotes
 * escaped, control characters as \xNN, % and $ doubled so that neither a
 * specifier nor a variable is expanded. */
static void put_unit_quoted(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"' || *p == '\'')
			fprintf(f, "\\%c", *p);
		else if (*p == '%' || *p == '$')
			fprintf(f, "%c%c", *p, *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

/* Writes path as one word of a shell command: in single quotes, each ' as
 * '\''. */
static void put_shell_quoted(FILE *f, const char *path)
{
	fputc('\'', f);
	for (; *path != '\0'; path++) {
		if (*path == '\'')
			fputs("'\\''", f);
		else
			fputc(*path, f);
	}
	fputc('\'', f);
}

/* path as a word of a shell command shown to the user (malloc'ed): as it
 * is when nothing in it needs quoting, else in single quotes; NULL when
 * out of memory. */
static char *shell_word(const char *path)
{
	char *word = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&word, &len);

	if (!f)
		return NULL;
	if (plain_path(path))
		fputs(path, f);
	else
		put_shell_quoted(f, path);
	if (fclose(f) != 0) {
		free(word);
		return NULL;
	}
	return word;
}

/* True if p, a position in text, lies within single quotes of its line,
 * which in the unit are a shell command given to sh -c. */
static bool in_single_quotes(const char *text, const char *p)
{
	const char *q = p;
	bool in = false;

	while (q > text && q[-1] != '\n')
		q--;
	for (; q < p; q++)
		if (*q == '\'' && (q == text || q[-1] != '\\'))
			in = !in;
	return in;
}

/* The compiled-in unit with every /etc/nfflowd.conf replaced by
 * config_path, quoted where needed: a word of its own in double quotes, and
 * inside a shell command (ExecCondition's sh -c '...') as a shell word in
 * single quotes, escaped for systemd. NULL when out of memory. */
static char *unit_text(const char *config_path)
{
	static const char def[] = CONFIG_DEFAULT_PATH;
	const char *src = NFFLOWD_UNIT_TEXT, *p;
	bool plain = plain_path(config_path);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	while ((p = strstr(src, def)) != NULL) {
		fwrite(src, 1, (size_t)(p - src), f);
		if (plain) {
			fputs(config_path, f);
		} else if (in_single_quotes(NFFLOWD_UNIT_TEXT, p)) {
			char *word = shell_word(config_path);

			if (!word) {
				fclose(f);
				free(buf);
				return NULL;
			}
			put_unit_quoted(f, word);
			free(word);
		} else {
			fputc('"', f);
			put_unit_quoted(f, config_path);
			fputc('"', f);
		}
		src = p + strlen(def);
	}
	fputs(src, f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}


/* Reads a whole small file into a malloc'd string; NULL if unreadable. */
static char *read_small(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t len;

	if (!f)
		return NULL;
	buf = malloc(65536);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	len = fread(buf, 1, 65535, f);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* Writes text to path through a temporary file and rename, mode 0644. */
static int write_atomic(const char *path, const char *text)
{
	char tmp[512];
	size_t len = strlen(text);
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.nfflowd-tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (fchmod(fd, 0644) < 0 || write(fd, text, len) != (ssize_t)len ||
	    fsync(fd) < 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		errno = e ? e : EIO;
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;

		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

/* Runs argv (looked up in PATH) and waits; returns its exit status, or -1
 * if it could not run. */
static int run(FILE *out, char *const argv[])
{
	pid_t pid;
	int st;
	size_t i;

	fprintf(out, "running:");
	for (i = 0; argv[i]; i++)
		fprintf(out, " %s", argv[i]);
	fprintf(out, "\n");
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "nfflowd: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	if (!WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Runs argv and reports a failure on stderr; 0 on exit status 0. */
static int run_ok(FILE *out, char *const argv[])
{
	int rc = run(out, argv);

	if (rc != 0) {
		fprintf(stderr, "nfflowd: install: %s %s failed (%s %d)\n",
			argv[0], argv[1] ? argv[1] : "",
			rc < 0 ? "status" : "exit", rc);
		return -1;
	}
	return 0;
}

/* The unit directory file a package or `meson install` put there, or NULL. */
static const char *find_system_unit(char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(system_unit_dirs) / sizeof(system_unit_dirs[0]); i++) {
		snprintf(buf, len, "%s/%s", system_unit_dirs[i], INSTALL_UNIT_NAME);
		if (is_file(buf))
			return buf;
	}
	return NULL;
}

/* The sysusers.d file that declares the unit's user, or NULL. */
static const char *find_sysusers(char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(sysusers_dirs) / sizeof(sysusers_dirs[0]); i++) {
		snprintf(buf, len, "%s/nfflowd.conf", sysusers_dirs[i]);
		if (is_file(buf))
			return buf;
	}
	return NULL;
}

/* Warns about settings that cannot work under the hardened unit: the
 * configuration must be valid and keep pidfile and control socket in the
 * unit's RuntimeDirectory, or the service fails (said on stderr, after
 * what out holds so far); kernel settings are better left to sysctl.d
 * (said on out). */
static void advise_config(const char *config_path, FILE *out)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];

	fflush(out);
	if (config_load(config_path, &cfg, err, sizeof(err)) < 0) {
		char *word = shell_word(config_path);

		fprintf(stderr, "note: the configuration is not usable yet: %s\n"
			"      the service will not start until `nfflowd -c %s check` says OK\n",
			err, word ? word : config_path);
		free(word);
		return;
	}
	if (strncmp(cfg.pidfile, RUNTIME_DIR, strlen(RUNTIME_DIR)) != 0 ||
	    strncmp(cfg.control_socket, RUNTIME_DIR, strlen(RUNTIME_DIR)) != 0)
		fprintf(stderr, "note: the unit runs nfflowd as user %s, who may write only in %s;\n"
			"      set in %s:\n"
			"        \"pidfile\": \"" RUNTIME_DIR "nfflowd.pid\",\n"
			"        \"control_socket\": \"" RUNTIME_DIR "nfflowd.sock\"\n",
			INSTALL_USER, RUNTIME_DIR, config_path);
	if (cfg.kernel_setup)
		fprintf(out, "note: under the unit nfflowd cannot change net.netfilter.* settings;\n"
			"      they come from sysctl.d/50-nfflowd.conf at boot: set \"kernel_setup\": false\n"
			"      in %s (or keep it and ignore the warning it logs)\n",
			config_path);
}

/* Prints the unit text and the commands for a host where systemd is not
 * running now (a container, a chroot, another init). */
static int print_manual(const char *config_path, const char *unit, FILE *out)
{
	char *word = shell_word(config_path);

	if (!word) {
		fprintf(stderr, "nfflowd: install: out of memory\n");
		return 1;
	}
	fprintf(out,
		"systemd is not running here (no /run/systemd/system): nothing was changed.\n"
		"\n"
		"On a systemd host, as root:\n"
		"\n"
		"1. create the user the unit runs as (if missing):\n"
		"     useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin %s\n"
		"2. write this unit to %s/%s:\n"
		"\n%s\n"
		"3. then run:\n"
		"     systemctl daemon-reload\n"
		"     systemctl enable %s\n"
		"     systemctl start %s     # once `nfflowd -c %s check` says OK\n"
		"     systemctl status %s\n"
		"\n"
		"Without systemd, start the daemon itself: nfflowd -c %s start\n",
		INSTALL_USER, INSTALL_UNIT_DIR, INSTALL_UNIT_NAME, unit,
		INSTALL_UNIT_NAME, INSTALL_UNIT_NAME, word,
		INSTALL_UNIT_NAME, word);
	free(word);
	return 0;
}

/* Creates the unit's user through systemd-sysusers unless it exists. */
static int ensure_user(FILE *out)
{
	char path[256];
	const char *file;

	if (getpwnam(INSTALL_USER)) {
		fprintf(out, "user %s exists\n", INSTALL_USER);
		return 0;
	}
	file = find_sysusers(path, sizeof(path));
	if (!file) {
		if (mkdir("/etc/sysusers.d", 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "nfflowd: install: /etc/sysusers.d: %s\n",
				strerror(errno));
			return -1;
		}
		if (write_atomic(SYSUSERS_OWN, NFFLOWD_SYSUSERS_TEXT) < 0) {
			fprintf(stderr, "nfflowd: install: %s: %s\n", SYSUSERS_OWN,
				strerror(errno));
			return -1;
		}
		fprintf(out, "wrote %s\n", SYSUSERS_OWN);
		file = SYSUSERS_OWN;
	}
	{
		char *argv[] = { "systemd-sysusers", (char *)file, NULL };

		return run_ok(out, argv);
	}
}

/* Puts the compiled-in unit into /etc/systemd/system unless it is there
 * already with the same text. */
static int place_unit(const char *unit, FILE *out)
{
	char *old = read_small(INSTALL_UNIT_DIR "/" INSTALL_UNIT_NAME);
	bool same = old && strcmp(old, unit) == 0;

	if (same) {
		fprintf(out, "unit %s/%s is up to date\n", INSTALL_UNIT_DIR,
			INSTALL_UNIT_NAME);
		free(old);
		return 0;
	}
	if (mkdir(INSTALL_UNIT_DIR, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "nfflowd: install: %s: %s\n", INSTALL_UNIT_DIR,
			strerror(errno));
		free(old);
		return -1;
	}
	if (write_atomic(INSTALL_UNIT_DIR "/" INSTALL_UNIT_NAME, unit) < 0) {
		fprintf(stderr, "nfflowd: install: %s/%s: %s\n", INSTALL_UNIT_DIR,
			INSTALL_UNIT_NAME, strerror(errno));
		free(old);
		return -1;
	}
	fprintf(out, "%s %s/%s\n", old ? "replaced" : "wrote", INSTALL_UNIT_DIR,
		INSTALL_UNIT_NAME);
	free(old);
	return 0;
}

/* Installs and enables the unit (see install.h). */
int install_run(const char *config_path, FILE *out)
{
	char sysunit_buf[256];
	const char *sysunit;
	char *unit;
	char *reload[] = { "systemctl", "daemon-reload", NULL };
	char *enable[] = { "systemctl", "enable", INSTALL_UNIT_NAME, NULL };
	int rc = 1;

	if (!config_path)
		config_path = CONFIG_DEFAULT_PATH;
	/* The unit's commands run in /: a relative path would name another
	 * file there. */
	if (config_path[0] != '/') {
		fprintf(stderr, "nfflowd: install: the configuration path must be absolute, not '%s'; nothing was changed\n",
			config_path);
		return 1;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "nfflowd: install must run as root (it writes %s and runs systemctl); nothing was changed\n",
			INSTALL_UNIT_DIR);
		return 1;
	}
	unit = unit_text(config_path);
	if (!unit) {
		fprintf(stderr, "nfflowd: install: out of memory\n");
		return 1;
	}
	if (!systemd_running()) {
		rc = print_manual(config_path, unit, out);
		free(unit);
		return rc;
	}
	sysunit = find_system_unit(sysunit_buf, sizeof(sysunit_buf));
	if (sysunit) {
		fprintf(out, "unit %s is installed (package or meson install): enabling it as it is\n",
			sysunit);
		if (is_file(INSTALL_UNIT_DIR "/" INSTALL_UNIT_NAME))
			fprintf(out, "note: %s/%s overrides it; remove that file to use %s\n",
				INSTALL_UNIT_DIR, INSTALL_UNIT_NAME, sysunit);
		if (strcmp(config_path, CONFIG_DEFAULT_PATH) != 0)
			fprintf(out, "note: that unit reads %s; for %s add a drop-in (systemctl edit %s)\n",
				CONFIG_DEFAULT_PATH, config_path, INSTALL_UNIT_NAME);
	} else if (place_unit(unit, out) < 0) {
		goto out;
	}
	if (ensure_user(out) < 0 || run_ok(out, reload) < 0 ||
	    run_ok(out, enable) < 0)
		goto out;
	advise_config(config_path, out);
	fprintf(out, "%s is enabled; start it with: systemctl start %s\n"
		"status: systemctl status %s\n",
		INSTALL_UNIT_NAME, INSTALL_UNIT_NAME, INSTALL_UNIT_NAME);
	rc = 0;
out:
	free(unit);
	return rc;
}

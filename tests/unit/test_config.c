/* Unit tests for the config module (SPEC §2). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "nfflowd/config.h"

#define NAME "test.conf"
#define MIN_V4 "\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", \"port\": 2055"

static char errbuf[CONFIG_ERR_MAX];

/* Parses a NUL-terminated text and asserts success. */
static void parse_ok(const char *text, struct config *cfg)
{
	errbuf[0] = '\0';
	if (config_parse(text, strlen(text), NAME, cfg, errbuf,
			 sizeof(errbuf)) != 0)
		fail_msg("unexpected error: %s", errbuf);
}

/* Parses len bytes and asserts failure with a message that starts with the
 * file name and contains want. */
static void parse_err_len(const char *text, size_t len, const char *want)
{
	struct config cfg;

	errbuf[0] = '\0';
	assert_int_equal(config_parse(text, len, NAME, &cfg, errbuf,
				      sizeof(errbuf)), -1);
	assert_int_equal(strncmp(errbuf, NAME ": ", strlen(NAME) + 2), 0);
	assert_null(strchr(errbuf, '\n'));
	if (strstr(errbuf, want) == NULL)
		fail_msg("message '%s' lacks '%s'", errbuf, want);
}

/* Parses a NUL-terminated text and asserts failure mentioning want. */
static void parse_err(const char *text, const char *want)
{
	parse_err_len(text, strlen(text), want);
}

/* Builds the minimal file plus one extra "key": value member, and asserts
 * failure mentioning want. */
static void extra_err(const char *member, const char *want)
{
	char text[1024];

	snprintf(text, sizeof(text), "{" MIN_V4 ", %s}", member);
	parse_err(text, want);
}

/* Builds the minimal file plus one member and asserts success. */
static void extra_ok(const char *member, struct config *cfg)
{
	char text[1024];

	snprintf(text, sizeof(text), "{" MIN_V4 ", %s}", member);
	parse_ok(text, cfg);
}

/* Writes bytes to a fresh temporary file; returns its malloc'd path. */
static char *temp_file(const void *data, size_t len)
{
	char *path = strdup("/tmp/test_config.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

/* Checks every default of SPEC §2 on cfg. */
static void assert_defaults(const struct config *cfg)
{
	assert_int_equal(cfg->ttl, 604800);
	assert_true(cfg->flush_interval == 1.0);
	assert_int_equal(cfg->engine_type, 0);
	assert_int_equal(cfg->engine_id, 0);
	assert_false(cfg->untranslated_records);
	assert_true(cfg->syslog_enabled);
	assert_int_equal(cfg->syslog_facility, LOG_LOCAL6);
	assert_int_equal(cfg->syslog_priority, LOG_INFO);
	assert_string_equal(cfg->syslog_ident, "nfflowd");
	assert_string_equal(cfg->syslog_socket, "/dev/log");
	assert_int_equal(cfg->syslog_backlog, 262144);
	assert_false(cfg->to_stdout);
	assert_string_equal(cfg->pidfile, "/run/nfflowd/nfflowd.pid");
	assert_string_equal(cfg->control_socket, "/run/nfflowd/nfflowd.sock");
	assert_true(cfg->kernel_setup);
	assert_int_equal(cfg->netlink_buffer, 64u << 20);
	assert_true(cfg->netlink_reliable);
	assert_int_equal(cfg->active_timeout, 1800);
	assert_int_equal(cfg->template_refresh_packets, 20);
	assert_int_equal(cfg->template_refresh_seconds, 600);
	assert_false(cfg->interfaces);
	assert_string_equal(cfg->state_file, "/var/lib/nfflowd/nfflowd.state");
	assert_int_equal(cfg->checkpoint_interval, 60);
	assert_int_equal(cfg->resync_interval, 10);
}

/* Checks that the v5-only names describe collectors[0]. */
static void assert_mirror(const struct config *cfg)
{
	const struct config_collector *c0 = &cfg->collectors[0];

	assert_true(cfg->ncollectors >= 1);
	assert_string_equal(cfg->source_str, c0->source_str);
	assert_string_equal(cfg->collector_str, c0->collector_str);
	assert_memory_equal(&cfg->source, &c0->source, sizeof(cfg->source));
	assert_memory_equal(&cfg->collector, &c0->collector,
			    sizeof(cfg->collector));
	assert_int_equal(cfg->addrlen, c0->addrlen);
	assert_int_equal(cfg->port, c0->port);
}

/* Checks one collector: texts, version, port in host and network order,
 * families and address length. */
static void assert_collector(const struct config_collector *cc,
			     const char *source, const char *collector,
			     unsigned port, unsigned version)
{
	assert_string_equal(cc->source_str, source);
	assert_string_equal(cc->collector_str, collector);
	assert_int_equal(cc->port, port);
	assert_int_equal(cc->version, version);
	assert_int_equal(cc->source.ss_family, cc->collector.ss_family);
	if (cc->collector.ss_family == AF_INET) {
		struct in_addr a;

		assert_int_equal(cc->addrlen, sizeof(struct sockaddr_in));
		assert_int_equal(((const struct sockaddr_in *)&cc->collector)->sin_port,
				 htons(port));
		assert_int_equal(((const struct sockaddr_in *)&cc->source)->sin_port,
				 0);
		assert_int_equal(inet_pton(AF_INET, collector, &a), 1);
		assert_int_equal(((const struct sockaddr_in *)&cc->collector)->sin_addr.s_addr,
				 a.s_addr);
		assert_int_equal(inet_pton(AF_INET, source, &a), 1);
		assert_int_equal(((const struct sockaddr_in *)&cc->source)->sin_addr.s_addr,
				 a.s_addr);
	} else {
		struct in6_addr a;

		assert_int_equal(cc->collector.ss_family, AF_INET6);
		assert_int_equal(cc->addrlen, sizeof(struct sockaddr_in6));
		assert_int_equal(((const struct sockaddr_in6 *)&cc->collector)->sin6_port,
				 htons(port));
		assert_int_equal(inet_pton(AF_INET6, collector, &a), 1);
		assert_memory_equal(&((const struct sockaddr_in6 *)&cc->collector)->sin6_addr,
				    &a, sizeof(a));
		assert_int_equal(inet_pton(AF_INET6, source, &a), 1);
		assert_memory_equal(&((const struct sockaddr_in6 *)&cc->source)->sin6_addr,
				    &a, sizeof(a));
	}
}

static void test_defaults_function(void **state)
{
	struct config cfg;

	(void)state;
	memset(&cfg, 0xa5, sizeof(cfg));
	config_defaults(&cfg);
	assert_defaults(&cfg);
}

static void test_minimal(void **state)
{
	struct config cfg;
	const struct sockaddr_in *src = (const struct sockaddr_in *)&cfg.source;
	const struct sockaddr_in *col =
		(const struct sockaddr_in *)&cfg.collector;
	struct in_addr a;

	(void)state;
	parse_ok("{" MIN_V4 "}", &cfg);
	assert_string_equal(cfg.source_str, "192.0.2.1");
	assert_string_equal(cfg.collector_str, "198.51.100.5");
	assert_int_equal(cfg.port, 2055);
	assert_int_equal(cfg.addrlen, sizeof(struct sockaddr_in));
	assert_int_equal(src->sin_family, AF_INET);
	assert_int_equal(src->sin_port, 0);
	inet_pton(AF_INET, "192.0.2.1", &a);
	assert_int_equal(src->sin_addr.s_addr, a.s_addr);
	assert_int_equal(col->sin_family, AF_INET);
	assert_int_equal(col->sin_port, htons(2055));
	inet_pton(AF_INET, "198.51.100.5", &a);
	assert_int_equal(col->sin_addr.s_addr, a.s_addr);
	assert_int_equal(cfg.ncollectors, 1);
	assert_collector(&cfg.collectors[0], "192.0.2.1", "198.51.100.5", 2055,
			 5);
	assert_mirror(&cfg);
}

static void test_minimal_defaults(void **state)
{
	struct config cfg;

	(void)state;
	parse_ok("{" MIN_V4 "}", &cfg);
	assert_defaults(&cfg);
}

static void test_load_minimal_file(void **state)
{
	struct config cfg;

	(void)state;
	assert_int_equal(config_load(TEST_DATA_DIR "/config-minimal.json",
				     &cfg, errbuf, sizeof(errbuf)), 0);
	assert_string_equal(cfg.source_str, "192.0.2.1");
	assert_int_equal(cfg.port, 2055);
	assert_defaults(&cfg);
}

static void test_load_full_file(void **state)
{
	struct config cfg;
	const struct sockaddr_in6 *col =
		(const struct sockaddr_in6 *)&cfg.collector;
	const struct sockaddr_in6 *src =
		(const struct sockaddr_in6 *)&cfg.source;
	struct in6_addr a;

	(void)state;
	if (config_load(TEST_DATA_DIR "/config-full.json", &cfg, errbuf,
			sizeof(errbuf)) != 0)
		fail_msg("%s", errbuf);
	assert_string_equal(cfg.source_str, "2001:db8::1");
	assert_string_equal(cfg.collector_str, "2001:db8:0:1::5");
	assert_int_equal(cfg.addrlen, sizeof(struct sockaddr_in6));
	assert_int_equal(src->sin6_family, AF_INET6);
	assert_int_equal(src->sin6_port, 0);
	assert_int_equal(col->sin6_family, AF_INET6);
	assert_int_equal(col->sin6_port, htons(9995));
	inet_pton(AF_INET6, "2001:db8:0:1::5", &a);
	assert_memory_equal(&col->sin6_addr, &a, sizeof(a));
	assert_int_equal(cfg.port, 9995);
	assert_int_equal(cfg.ttl, 3600);
	assert_true(cfg.flush_interval == 0.5);
	assert_int_equal(cfg.engine_type, 1);
	assert_int_equal(cfg.engine_id, 7);
	assert_true(cfg.untranslated_records);
	assert_false(cfg.syslog_enabled);
	assert_int_equal(cfg.syslog_facility, LOG_DAEMON);
	assert_int_equal(cfg.syslog_priority, LOG_NOTICE);
	assert_string_equal(cfg.syslog_ident, "flows");
	assert_true(cfg.to_stdout);
	assert_string_equal(cfg.pidfile, "/tmp/nfflowd-test.pid");
	assert_string_equal(cfg.control_socket, "/tmp/nfflowd-test.sock");
	assert_false(cfg.kernel_setup);
	assert_int_equal(cfg.netlink_buffer, 8388608);
}

static void test_example_file(void **state)
{
	struct config cfg, def;

	(void)state;
	if (config_load(TEST_DATA_DIR "/../../../config/nfflowd.conf.example",
			&cfg, errbuf, sizeof(errbuf)) != 0)
		fail_msg("%s", errbuf);
	assert_defaults(&cfg);
	assert_string_equal(cfg.source_str, "192.0.2.1");
	assert_string_equal(cfg.collector_str, "198.51.100.5");
	assert_int_equal(cfg.port, 2055);
	config_defaults(&def);
	assert_int_equal(cfg.netlink_buffer, def.netlink_buffer);
}

static void test_args_form(void **state)
{
	struct config cfg;
	const struct sockaddr_in *col =
		(const struct sockaddr_in *)&cfg.collector;

	(void)state;
	parse_ok("{\"args\": [\"192.0.2.1\", \"198.51.100.5\", 2055]}", &cfg);
	assert_string_equal(cfg.source_str, "192.0.2.1");
	assert_string_equal(cfg.collector_str, "198.51.100.5");
	assert_int_equal(cfg.port, 2055);
	assert_int_equal(col->sin_port, htons(2055));
	assert_int_equal(cfg.addrlen, sizeof(struct sockaddr_in));
	assert_defaults(&cfg);
}

static void test_args_port_string(void **state)
{
	struct config cfg;

	(void)state;
	parse_ok("{\"args\": [\"192.0.2.1\", \"198.51.100.5\", \"9996\"]}",
		 &cfg);
	assert_int_equal(cfg.port, 9996);
}

static void test_args_bad(void **state)
{
	(void)state;
	parse_err("{\"args\": [\"192.0.2.1\", \"198.51.100.5\", \"20x5\"]}",
		  "key 'args': port must be an integer 1..65535, not '20x5'");
	parse_err("{\"args\": [\"192.0.2.1\", \"198.51.100.5\", \"0\"]}",
		  "key 'args'");
	parse_err("{\"args\": [\"192.0.2.1\", \"198.51.100.5\", \"70000\"]}",
		  "key 'args'");
	parse_err("{\"args\": [\"192.0.2.1\", \"198.51.100.5\", \"\"]}",
		  "key 'args'");
	parse_err("{\"args\": [\"192.0.2.1\", \"198.51.100.5\", 0]}",
		  "key 'args': must be an integer 1..65535, not 0");
	parse_err("{\"args\": [\"192.0.2.1\", \"198.51.100.5\"]}",
		  "key 'args': must be an array [source, collector, port]");
	parse_err("{\"args\": \"192.0.2.1 198.51.100.5 2055\"}",
		  "key 'args': must be an array [source, collector, port], not a string");
	parse_err("{\"args\": [\"192.0.2.1\", \"nowhere\", 2055]}",
		  "key 'args': 'nowhere' is not an IPv4 or IPv6 address");
	parse_err("{\"args\": [\"192.0.2.1\", \"2001:db8::5\", 2055]}",
		  "both must be of the same family");
}

static void test_args_and_source(void **state)
{
	(void)state;
	parse_err("{\"args\": [\"192.0.2.1\", \"198.51.100.5\", 2055], "
		  "\"source\": \"192.0.2.1\"}",
		  "key 'source': cannot be combined with 'args'");
	parse_err("{\"port\": 2055, "
		  "\"args\": [\"192.0.2.1\", \"198.51.100.5\", 2055]}",
		  "key 'port': cannot be combined with 'args'");
}

static void test_ipv6(void **state)
{
	struct config cfg;
	const struct sockaddr_in6 *col =
		(const struct sockaddr_in6 *)&cfg.collector;

	(void)state;
	parse_ok("{\"source\": \"::1\", \"collector\": \"2001:db8::5\", "
		 "\"port\": 65535}", &cfg);
	assert_int_equal(cfg.addrlen, sizeof(struct sockaddr_in6));
	assert_int_equal(col->sin6_family, AF_INET6);
	assert_int_equal(col->sin6_port, htons(65535));
	assert_int_equal(cfg.port, 65535);
}

static void test_family_mix(void **state)
{
	(void)state;
	parse_err("{\"source\": \"192.0.2.1\", \"collector\": \"2001:db8::5\", "
		  "\"port\": 2055}",
		  "key 'collector': 2001:db8::5 is IPv6 but source 192.0.2.1 is IPv4; both must be of the same family");
	parse_err("{\"source\": \"2001:db8::1\", \"collector\": \"198.51.100.5\", "
		  "\"port\": 2055}", "same family");
}

static void test_bad_ip(void **state)
{
	(void)state;
	parse_err("{\"source\": \"firewall.example\", \"collector\": "
		  "\"198.51.100.5\", \"port\": 2055}",
		  "key 'source': 'firewall.example' is not an IPv4 or IPv6 address");
	parse_err("{\"source\": \"192.0.2.1\", \"collector\": "
		  "\"198.51.100.256\", \"port\": 2055}",
		  "key 'collector': '198.51.100.256' is not an IPv4 or IPv6 address");
	parse_err("{\"source\": \"\", \"collector\": \"198.51.100.5\", "
		  "\"port\": 2055}", "key 'source': '' is not");
	parse_err("{\"source\": \"192.0.2.1 \", \"collector\": "
		  "\"198.51.100.5\", \"port\": 2055}", "key 'source'");
}

static void test_ip_wrong_type(void **state)
{
	(void)state;
	parse_err("{\"source\": 3221225985, \"collector\": \"198.51.100.5\", "
		  "\"port\": 2055}",
		  "key 'source': must be an IPv4 or IPv6 address string, not an integer");
	parse_err("{\"source\": \"192.0.2.1\", \"collector\": [\"198.51.100.5\"], "
		  "\"port\": 2055}",
		  "key 'collector': must be an IPv4 or IPv6 address string, not an array");
}

static void test_missing_required(void **state)
{
	(void)state;
	parse_err("{\"collector\": \"198.51.100.5\", \"port\": 2055}",
		  "missing required key 'source'");
	parse_err("{\"source\": \"192.0.2.1\", \"port\": 2055}",
		  "missing required key 'collector'");
	parse_err("{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\"}",
		  "missing required key 'port'");
	parse_err("{}", "no collector: give 'source', 'collector' and 'port', or a non-empty 'collectors' array");
	parse_err("{\"source\": \"192.0.2.1\"}", "no collector");
	parse_err("{\"ttl\": 60, \"interfaces\": true}", "no collector");
}

static void test_top_level_not_object(void **state)
{
	(void)state;
	parse_err("[\"192.0.2.1\", \"198.51.100.5\", 2055]",
		  "top level must be a JSON object {...}, not an array");
	parse_err("\"hello\"", "top level must be a JSON object {...}, not a string");
	parse_err("2055", "not an integer");
	parse_err("null", "not null");
}

static void test_empty_file(void **state)
{
	(void)state;
	parse_err("", "file is empty");
	parse_err(" \n\t\n", "file is empty");
}

static void test_syntax_error_position(void **state)
{
	(void)state;
	parse_err("{\n  \"source\": \"192.0.2.1\",\n  \"collector\": "
		  "\"198.51.100.5\"\n  \"port\": 2055\n}\n",
		  "line 4, column 8: ");
	parse_err("{\"source\": \"192.0.2.1\",}", "line 1, column 24: ");
}

static void test_syntax_error_file(void **state)
{
	struct config cfg;

	(void)state;
	assert_int_equal(config_load(TEST_DATA_DIR "/config-syntax.json",
				     &cfg, errbuf, sizeof(errbuf)), -1);
	assert_string_equal(errbuf, TEST_DATA_DIR "/config-syntax.json: "
			    "line 4, column 8: '}' expected near '\"port\"'");
}

static void test_duplicate_key(void **state)
{
	(void)state;
	parse_err("{" MIN_V4 ", \"port\": 2056}", "duplicate object key");
	parse_err("{" MIN_V4 ", \"port\": 2056}", "line 1, column");
	extra_err("\"syslog\": {\"ident\": \"a\", \"ident\": \"b\"}",
		  "duplicate object key");
}

static void test_unknown_key_suggestion(void **state)
{
	(void)state;
	parse_err("{\"source\": \"192.0.2.1\", \"colector\": \"198.51.100.5\", "
		  "\"port\": 2055}",
		  "unknown key 'colector' (did you mean 'collector'?)");
	extra_err("\"prot\": 1", "unknown key 'prot' (did you mean 'port'?)");
	extra_err("\"tll\": 1", "unknown key 'tll' (did you mean 'ttl'?)");
	extra_err("\"engineid\": 1",
		  "unknown key 'engineid' (did you mean 'engine_id'?)");
	extra_err("\"flush-interval\": 1",
		  "unknown key 'flush-interval' (did you mean 'flush_interval'?)");
	extra_err("\"Stdout\": true",
		  "unknown key 'Stdout' (did you mean 'stdout'?)");
	extra_err("\"pidfle\": \"/run/x.pid\"",
		  "(did you mean 'pidfile'?)");
}

static void test_unknown_key_no_suggestion(void **state)
{
	(void)state;
	extra_err("\"verbose\": true", "unknown key 'verbose'");
	assert_null(strstr(errbuf, "did you mean"));
	extra_err("\"xyz\": 1", "unknown key 'xyz'");
	assert_null(strstr(errbuf, "did you mean"));
	extra_err("\"a\": 1", "unknown key 'a'");
	assert_null(strstr(errbuf, "did you mean"));
}

static void test_unknown_key_is_error_even_if_valid_otherwise(void **state)
{
	(void)state;
	extra_err("\"colector\": \"198.51.100.6\"",
		  "unknown key 'colector' (did you mean 'collector'?)");
	extra_err("\"colectors\": []",
		  "unknown key 'colectors' (did you mean 'collectors'?)");
	extra_err("\"interface\": true",
		  "unknown key 'interface' (did you mean 'interfaces'?)");
	extra_err("\"active-timeout\": 60",
		  "unknown key 'active-timeout' (did you mean 'active_timeout'?)");
}

static void test_port_range(void **state)
{
	(void)state;
	parse_err("{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", "
		  "\"port\": 0}",
		  "key 'port': must be an integer 1..65535, not 0");
	parse_err("{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", "
		  "\"port\": 70000}",
		  "key 'port': must be an integer 1..65535, not 70000");
	parse_err("{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", "
		  "\"port\": -1}", "not -1");
}

static void test_port_wrong_type(void **state)
{
	(void)state;
	parse_err("{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", "
		  "\"port\": \"2055\"}",
		  "key 'port': must be an integer 1..65535, not a string");
	parse_err("{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", "
		  "\"port\": true}", "key 'port': must be an integer 1..65535, not true");
	parse_err("{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", "
		  "\"port\": 2055.5}",
		  "key 'port': must be an integer 1..65535, not a fractional number");
	parse_err("{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", "
		  "\"port\": 2055.0}", "not a fractional number");
}

static void test_ttl(void **state)
{
	struct config cfg;

	(void)state;
	extra_err("\"ttl\": 0", "key 'ttl': must be an integer 1..315360000 (seconds, up to 10 years), not 0");
	extra_err("\"ttl\": -1", "key 'ttl': must be an integer 1..315360000 (seconds, up to 10 years), not -1");
	extra_err("\"ttl\": 1.5", "key 'ttl': must be an integer 1..315360000 (seconds, up to 10 years), not a fractional number");
	extra_err("\"ttl\": \"60\"", "key 'ttl': must be an integer 1..315360000 (seconds, up to 10 years), not a string");
	/* ages are 48-bit ms: a ttl of weeks or years is fine */
	extra_err("\"ttl\": 315360001", "key 'ttl': must be an integer 1..315360000 (seconds, up to 10 years), not 315360001");
	extra_err("\"ttl\": 4294967296", "key 'ttl': must be an integer 1..315360000 (seconds, up to 10 years), not 4294967296");
	extra_ok("\"ttl\": 315360000", &cfg);
	assert_int_equal(cfg.ttl, 315360000);
	extra_ok("\"ttl\": 1", &cfg);
	assert_int_equal(cfg.ttl, 1);
}

static void test_flush_interval(void **state)
{
	struct config cfg;

	(void)state;
	extra_err("\"flush_interval\": 0",
		  "key 'flush_interval': must be a number of seconds > 0");
	extra_err("\"flush_interval\": -0.5", "key 'flush_interval'");
	extra_err("\"flush_interval\": 3601", "<= 3600");
	extra_err("\"flush_interval\": \"1\"",
		  "key 'flush_interval': must be a number of seconds > 0 and <= 3600, not a string");
	extra_ok("\"flush_interval\": 0.25", &cfg);
	assert_true(cfg.flush_interval == 0.25);
	extra_ok("\"flush_interval\": 2", &cfg);
	assert_true(cfg.flush_interval == 2.0);
	extra_ok("\"flush_interval\": 3600", &cfg);
	assert_true(cfg.flush_interval == 3600.0);
}

static void test_engine(void **state)
{
	struct config cfg;

	(void)state;
	extra_err("\"engine_id\": 256",
		  "key 'engine_id': must be an integer 0..255, not 256");
	extra_err("\"engine_type\": 256",
		  "key 'engine_type': must be an integer 0..255, not 256");
	extra_err("\"engine_type\": -1", "key 'engine_type'");
	extra_err("\"engine_id\": \"1\"",
		  "key 'engine_id': must be an integer 0..255, not a string");
	extra_ok("\"engine_type\": 255, \"engine_id\": 254", &cfg);
	assert_int_equal(cfg.engine_type, 255);
	assert_int_equal(cfg.engine_id, 254);
}

static void test_booleans(void **state)
{
	struct config cfg;

	(void)state;
	extra_err("\"untranslated_records\": \"yes\"",
		  "key 'untranslated_records': must be true or false, not a string");
	extra_err("\"stdout\": 1", "key 'stdout': must be true or false, not an integer");
	extra_err("\"kernel_setup\": null",
		  "key 'kernel_setup': must be true or false, not null");
	extra_ok("\"untranslated_records\": true, \"stdout\": true, "
		 "\"kernel_setup\": false", &cfg);
	assert_true(cfg.untranslated_records);
	assert_true(cfg.to_stdout);
	assert_false(cfg.kernel_setup);
}

static void test_syslog_object(void **state)
{
	struct config cfg;

	(void)state;
	extra_err("\"syslog\": true", "key 'syslog': must be an object, not true");
	extra_err("\"syslog\": {\"enabled\": \"no\"}",
		  "key 'syslog.enabled': must be true or false, not a string");
	extra_ok("\"syslog\": {}", &cfg);
	assert_defaults(&cfg);
	extra_ok("\"syslog\": {\"priority\": \"debug\"}", &cfg);
	assert_int_equal(cfg.syslog_priority, LOG_DEBUG);
	assert_int_equal(cfg.syslog_facility, LOG_LOCAL6);
	assert_true(cfg.syslog_enabled);
}

static void test_syslog_facility(void **state)
{
	struct config cfg;

	(void)state;
	extra_err("\"syslog\": {\"facility\": \"local8\"}",
		  "key 'syslog.facility': unknown name 'local8'; must be one of kern, user,");
	assert_non_null(strstr(errbuf, "local7"));
	extra_err("\"syslog\": {\"facility\": 22}",
		  "key 'syslog.facility': must be a string");
	extra_err("\"syslog\": {\"facility\": \"LOCAL6\"}", "unknown name 'LOCAL6'");
	extra_ok("\"syslog\": {\"facility\": \"authpriv\"}", &cfg);
	assert_int_equal(cfg.syslog_facility, LOG_AUTHPRIV);
}

static void test_syslog_priority(void **state)
{
	struct config cfg;

	(void)state;
	extra_err("\"syslog\": {\"priority\": \"warn\"}",
		  "key 'syslog.priority': unknown name 'warn'; must be one of emerg, alert, crit, err, warning, notice, info, debug");
	extra_ok("\"syslog\": {\"priority\": \"emerg\"}", &cfg);
	assert_int_equal(cfg.syslog_priority, LOG_EMERG);
}

static void test_syslog_ident(void **state)
{
	struct config cfg;
	char member[200];

	(void)state;
	extra_err("\"syslog\": {\"ident\": \"\"}",
		  "key 'syslog.ident': must be a string of 1..63 characters");
	snprintf(member, sizeof(member),
		 "\"syslog\": {\"ident\": \"%064d\"}", 0);
	extra_err(member, "key 'syslog.ident'");
	snprintf(member, sizeof(member),
		 "\"syslog\": {\"ident\": \"%063d\"}", 0);
	extra_ok(member, &cfg);
	assert_int_equal(strlen(cfg.syslog_ident), 63);
	extra_err("\"syslog\": {\"ident\": 5}", "not an integer");
}

static void test_syslog_socket_and_backlog(void **state)
{
	struct config cfg;
	char member[300];

	(void)state;
	extra_ok("\"syslog\": {\"socket\": \"/run/nfflowd-log.sock\", \"backlog\": 1}",
		 &cfg);
	assert_string_equal(cfg.syslog_socket, "/run/nfflowd-log.sock");
	assert_int_equal(cfg.syslog_backlog, 1);
	extra_ok("\"syslog\": {\"backlog\": 10000000}", &cfg);
	assert_int_equal(cfg.syslog_backlog, 10000000);
	assert_string_equal(cfg.syslog_socket, "/dev/log");
	extra_err("\"syslog\": {\"backlog\": 0}",
		  "key 'syslog.backlog': must be an integer 1..10000000 (record lines), not 0");
	extra_err("\"syslog\": {\"backlog\": 10000001}",
		  "key 'syslog.backlog': must be an integer 1..10000000");
	extra_err("\"syslog\": {\"backlog\": \"64k\"}",
		  "key 'syslog.backlog': must be an integer 1..10000000 (record lines), not a string");
	extra_err("\"syslog\": {\"socket\": \"dev/log\"}",
		  "key 'syslog.socket': must be an absolute path (starting with /), not 'dev/log'");
	extra_err("\"syslog\": {\"socket\": 1}",
		  "key 'syslog.socket': must be an absolute path string, not an integer");
	/* sun_path holds 107 characters and the NUL. */
	snprintf(member, sizeof(member), "\"syslog\": {\"socket\": \"/%0107d\"}", 0);
	extra_err(member, "key 'syslog.socket': path is 108 bytes long, at most 107 allowed");
	snprintf(member, sizeof(member), "\"syslog\": {\"socket\": \"/%0106d\"}", 0);
	extra_ok(member, &cfg);
	assert_int_equal(strlen(cfg.syslog_socket), 107);
}

static void test_syslog_unknown_key(void **state)
{
	(void)state;
	extra_err("\"syslog\": {\"facilty\": \"local6\"}",
		  "unknown key 'syslog.facilty' (did you mean 'syslog.facility'?)");
	extra_err("\"syslog\": {\"program\": \"x\"}", "unknown key 'syslog.program'");
	assert_null(strstr(errbuf, "did you mean"));
}

static void test_pidfile(void **state)
{
	struct config cfg;
	char member[400];

	(void)state;
	extra_err("\"pidfile\": \"run/nfflowd.pid\"",
		  "key 'pidfile': must be an absolute path (starting with /), not 'run/nfflowd.pid'");
	extra_err("\"pidfile\": \"\"", "key 'pidfile': must be an absolute path");
	extra_err("\"pidfile\": 1", "key 'pidfile': must be an absolute path string, not an integer");
	snprintf(member, sizeof(member), "\"pidfile\": \"/%0255d\"", 0);
	extra_err(member, "key 'pidfile': path is 256 bytes long, at most 255 allowed");
	snprintf(member, sizeof(member), "\"pidfile\": \"/%0254d\"", 0);
	extra_ok(member, &cfg);
	assert_int_equal(strlen(cfg.pidfile), 255);
}

static void test_control_socket(void **state)
{
	struct config cfg;
	char member[400];

	(void)state;
	snprintf(member, sizeof(member), "\"control_socket\": \"/%0107d\"", 0);
	extra_err(member, "key 'control_socket': path is 108 bytes long, at most 107 allowed");
	snprintf(member, sizeof(member), "\"control_socket\": \"/%0106d\"", 0);
	extra_ok(member, &cfg);
	assert_int_equal(strlen(cfg.control_socket), 107);
	extra_err("\"control_socket\": \"nfflowd.sock\"",
		  "key 'control_socket': must be an absolute path");
	extra_err("\"control_socket\": [\"/run/a\"]", "not an array");
}

static void test_netlink_reliable(void **state)
{
	struct config cfg;

	extra_ok("\"netlink_reliable\": false", &cfg);
	assert_false(cfg.netlink_reliable);
	extra_ok("\"netlink_reliable\": true", &cfg);
	assert_true(cfg.netlink_reliable);
	extra_err("\"netlink_reliable\": 1",
		  "key 'netlink_reliable': must be true or false");
}

static void test_netlink_buffer(void **state)
{
	struct config cfg;

	(void)state;
	extra_ok("\"netlink_buffer\": 0", &cfg);
	assert_int_equal(cfg.netlink_buffer, 0);
	extra_ok("\"netlink_buffer\": 65536", &cfg);
	assert_int_equal(cfg.netlink_buffer, 65536);
	extra_ok("\"netlink_buffer\": 1073741824", &cfg);
	assert_int_equal(cfg.netlink_buffer, 1073741824u);
	extra_err("\"netlink_buffer\": 65535",
		  "key 'netlink_buffer': must be 0 (kernel default) or an integer 65536..1073741824 bytes");
	extra_err("\"netlink_buffer\": 1073741825", "key 'netlink_buffer'");
	extra_err("\"netlink_buffer\": \"64M\"", "key 'netlink_buffer'");
	extra_err("\"netlink_buffer\": -1", "key 'netlink_buffer'");
}

static void test_legacy_args(void **state)
{
	(void)state;
	parse_err("args 192.0.2.1 198.51.100.5 2055\n",
		  "this is the old 'args a b c' format; write it as JSON: "
		  "{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", \"port\": 2055}");
}

/* The file's last line may lack its newline; the bytes are then not
 * terminated at all, which the sanitizer build checks. */
static void test_legacy_unterminated(void **state)
{
	static const char text[] = "args 192.0.2.1 198.51.100.5 2055";
	char *copy = malloc(sizeof(text) - 1);

	(void)state;
	assert_non_null(copy);
	memcpy(copy, text, sizeof(text) - 1);
	parse_err_len(copy, sizeof(text) - 1,
		      "{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", \"port\": 2055}");
	free(copy);
}

static void test_legacy_with_comments(void **state)
{
	(void)state;
	parse_err("\n# nfflowd\n   # more\n\n  args   192.0.2.1\t198.51.100.5 2055  \n",
		  ": this is the old 'args a b c' format; write it as JSON: "
		  "{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", \"port\": 2055}");
	assert_null(strstr(errbuf, "line "));
}

static void test_legacy_file(void **state)
{
	struct config cfg;

	(void)state;
	assert_int_equal(config_load(TEST_DATA_DIR "/config-legacy.conf",
				     &cfg, errbuf, sizeof(errbuf)), -1);
	assert_string_equal(errbuf, TEST_DATA_DIR "/config-legacy.conf: "
			    "this is the old 'args a b c' format; write it as JSON: "
			    "{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", \"port\": 2055}");
}

static void test_legacy_key_value(void **state)
{
	(void)state;
	parse_err("args = 192.0.2.1 198.51.100.5 2055\nttl 3600\nstdout yes\n",
		  "{\"source\": \"192.0.2.1\", \"collector\": \"198.51.100.5\", "
		  "\"port\": 2055, \"ttl\": 3600, \"stdout\": true}");
	parse_err("pidfile /var/run/x.pid\n",
		  "this is the old 'key value' format; write it as JSON: {\"pidfile\": \"/var/run/x.pid\"}");
}

static void test_not_legacy_is_syntax_error(void **state)
{
	(void)state;
	parse_err("source: 192.0.2.1\n", "line 1, column");
	assert_null(strstr(errbuf, "old"));
	parse_err("# comment only\n", "line ");
	assert_null(strstr(errbuf, "old"));
}

static void test_nul_byte(void **state)
{
	static const char with_nul[] =
		"{\"source\": \"192.0.2.1\"\0, \"collector\": \"198.51.100.5\", \"port\": 2055}";
	static const char legacy_nul[] = "args 192.0.2.1\0 198.51.100.5 2055\n";
	static const char only_nul[] = "\0\0\0";

	(void)state;
	parse_err_len(with_nul, sizeof(with_nul) - 1, "line 1, column");
	parse_err_len(legacy_nul, sizeof(legacy_nul) - 1, "line 1, column");
	parse_err_len(only_nul, sizeof(only_nul) - 1, "line 1, column");
	parse_err("{\"source\": \"192.0.2.1\\u0000\", \"collector\": "
		  "\"198.51.100.5\", \"port\": 2055}", "line 1");
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	parse_err("{\"source\": \"\xff\xfe\"}", "line 1, column");
	parse_err("args \xff 198.51.100.5 2055\n", "write it as JSON");
}

static void test_error_leaves_config(void **state)
{
	static const char bad[] = "{\"source\": \"192.0.2.7\", \"ttl\": 5}";
	struct config cfg;

	(void)state;
	parse_ok("{" MIN_V4 ", \"ttl\": 99}", &cfg);
	assert_int_equal(config_parse(bad, strlen(bad), NAME, &cfg, errbuf,
				      sizeof(errbuf)), -1);
	assert_int_equal(cfg.ttl, 99);
	assert_string_equal(cfg.source_str, "192.0.2.1");
}

static void test_small_error_buffer(void **state)
{
	struct config cfg;
	char small[12];

	(void)state;
	memset(small, 'x', sizeof(small));
	assert_int_equal(config_parse("{}", 2, NAME, &cfg, small,
				      sizeof(small)), -1);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(strncmp(small, NAME ": ", 11), 0);
	assert_int_equal(config_parse("{}", 2, NAME, &cfg, NULL, 0), -1);
}

static void test_load_missing(void **state)
{
	struct config cfg;

	(void)state;
	assert_int_equal(config_load("/nonexistent/nfflowd.conf", &cfg, errbuf,
				     sizeof(errbuf)), -1);
	assert_string_equal(errbuf,
			    "/nonexistent/nfflowd.conf: No such file or directory");
}

/* A chmod 000 file would still be readable here because tests run as root,
 * so unreadability is exercised with a directory, which read() refuses. */
static void test_load_directory(void **state)
{
	struct config cfg;

	(void)state;
	assert_int_equal(config_load(TEST_DATA_DIR, &cfg, errbuf,
				     sizeof(errbuf)), -1);
	assert_string_equal(errbuf, TEST_DATA_DIR ": Is a directory");
}

static void test_load_too_big(void **state)
{
	struct config cfg;
	size_t len = 1024 * 1024 + 1;
	char *data = malloc(len);
	char *path;
	char want[300];

	(void)state;
	assert_non_null(data);
	memset(data, ' ', len);
	memcpy(data, "{" MIN_V4 "}", sizeof("{" MIN_V4 "}") - 1);
	path = temp_file(data, len);
	assert_int_equal(config_load(path, &cfg, errbuf, sizeof(errbuf)), -1);
	snprintf(want, sizeof(want), "%s: file is larger than", path);
	assert_non_null(strstr(errbuf, want));
	/* exactly 1 MiB is still accepted */
	unlink(path);
	free(path);
	path = temp_file(data, len - 1);
	assert_int_equal(config_load(path, &cfg, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(cfg.port, 2055);
	unlink(path);
	free(path);
	free(data);
}

static void test_load_paths_good(void **state)
{
	struct config cfg;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(config_load_paths(TEST_DATA_DIR "/config-full.json",
					   &cfg), 0);
	assert_string_equal(cfg.pidfile, "/tmp/nfflowd-test.pid");
	assert_string_equal(cfg.control_socket, "/tmp/nfflowd-test.sock");
}

static void test_load_paths_absent_keys(void **state)
{
	struct config cfg;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(config_load_paths(TEST_DATA_DIR "/config-minimal.json",
					   &cfg), 0);
	assert_string_equal(cfg.pidfile, CONFIG_DEFAULT_PIDFILE);
	assert_string_equal(cfg.control_socket, CONFIG_DEFAULT_SOCKET);
}

static void test_load_paths_invalid_config(void **state)
{
	static const char text[] =
		"{\"source\": \"nope\", \"pidfile\": \"/tmp/a.pid\", "
		"\"colector\": 1}";
	struct config cfg;
	char *path = temp_file(text, sizeof(text) - 1);

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(config_load_paths(path, &cfg), 0);
	assert_string_equal(cfg.pidfile, "/tmp/a.pid");
	assert_string_equal(cfg.control_socket, CONFIG_DEFAULT_SOCKET);
	unlink(path);
	free(path);
}

static void test_load_paths_broken(void **state)
{
	static const char bad_path[] =
		"{\"pidfile\": \"relative.pid\", \"control_socket\": \"/tmp/c.sock\"}";
	struct config cfg;
	char *path;

	(void)state;
	strcpy(cfg.pidfile, "/garbage");
	strcpy(cfg.control_socket, "/garbage");
	assert_int_equal(config_load_paths(TEST_DATA_DIR "/config-syntax.json",
					   &cfg), -1);
	assert_string_equal(cfg.pidfile, CONFIG_DEFAULT_PIDFILE);
	assert_string_equal(cfg.control_socket, CONFIG_DEFAULT_SOCKET);
	assert_int_equal(config_load_paths("/nonexistent/x.conf", &cfg), -1);
	assert_string_equal(cfg.pidfile, CONFIG_DEFAULT_PIDFILE);
	path = temp_file(bad_path, sizeof(bad_path) - 1);
	assert_int_equal(config_load_paths(path, &cfg), -1);
	assert_string_equal(cfg.pidfile, CONFIG_DEFAULT_PIDFILE);
	assert_string_equal(cfg.control_socket, "/tmp/c.sock");
	unlink(path);
	free(path);
}

static void test_facility_names(void **state)
{
	static const char *const names[] = {
		"kern", "user", "mail", "daemon", "auth", "syslog", "lpr",
		"news", "uucp", "cron", "authpriv", "ftp", "local0", "local1",
		"local2", "local3", "local4", "local5", "local6", "local7",
	};
	struct config cfg;
	char member[100];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(member, sizeof(member),
			 "\"syslog\": {\"facility\": \"%s\"}", names[i]);
		extra_ok(member, &cfg);
		assert_string_equal(config_facility_name(cfg.syslog_facility),
				    names[i]);
	}
	assert_string_equal(config_facility_name(LOG_LOCAL6), "local6");
	assert_string_equal(config_facility_name(LOG_KERN), "kern");
	assert_string_equal(config_facility_name(12345), "unknown");
}

static void test_priority_names(void **state)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "err", "warning", "notice", "info",
		"debug",
	};
	struct config cfg;
	char member[100];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(member, sizeof(member),
			 "\"syslog\": {\"priority\": \"%s\"}", names[i]);
		extra_ok(member, &cfg);
		assert_int_equal(cfg.syslog_priority, (int)i);
		assert_string_equal(config_priority_name(cfg.syslog_priority),
				    names[i]);
	}
	assert_string_equal(config_priority_name(LOG_INFO), "info");
	assert_string_equal(config_priority_name(-1), "unknown");
}

static void test_key_order_independent(void **state)
{
	struct config cfg;

	(void)state;
	parse_ok("{\"port\": 2055, \"ttl\": 10, \"collector\": \"198.51.100.5\", "
		 "\"source\": \"192.0.2.1\"}", &cfg);
	assert_int_equal(cfg.ttl, 10);
	assert_int_equal(((struct sockaddr_in *)&cfg.collector)->sin_port,
			 htons(2055));
}

static void test_long_unknown_key_shortened(void **state)
{
	char text[600];
	char key[300];

	(void)state;
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	snprintf(text, sizeof(text), "{\"%s\": 1}", key);
	parse_err(text, "unknown key 'kkkk");
	assert_non_null(strstr(errbuf, "...'"));
	assert_true(strlen(errbuf) < 100);
}

/* The source/collector/port of MIN_V4 plus a `collectors` array. */
#define TOP_V4 MIN_V4 ", \"collectors\": "

static void test_collectors_with_top_level(void **state)
{
	struct config cfg;

	(void)state;
	parse_ok("{" TOP_V4 "[{\"address\": \"198.51.100.6\", \"port\": 9995, "
		 "\"version\": 9}, {\"address\": \"203.0.113.10\", "
		 "\"port\": 4739, \"version\": 10, \"source\": \"192.0.2.2\"}]}",
		 &cfg);
	assert_int_equal(cfg.ncollectors, 3);
	assert_collector(&cfg.collectors[0], "192.0.2.1", "198.51.100.5", 2055,
			 5);
	assert_collector(&cfg.collectors[1], "192.0.2.1", "198.51.100.6", 9995,
			 9);
	assert_collector(&cfg.collectors[2], "192.0.2.2", "203.0.113.10", 4739,
			 10);
	assert_mirror(&cfg);
	assert_string_equal(cfg.collector_str, "198.51.100.5");
	assert_int_equal(cfg.port, 2055);
	assert_defaults(&cfg);
}

static void test_collectors_file_order(void **state)
{
	struct config cfg;

	(void)state;
	/* the top-level collector is first even when written last */
	parse_ok("{\"collectors\": [{\"address\": \"198.51.100.6\", "
		 "\"port\": 9995}], \"port\": 2055, \"collector\": "
		 "\"198.51.100.5\", \"source\": \"192.0.2.1\"}", &cfg);
	assert_int_equal(cfg.ncollectors, 2);
	assert_collector(&cfg.collectors[0], "192.0.2.1", "198.51.100.5", 2055,
			 5);
	assert_collector(&cfg.collectors[1], "192.0.2.1", "198.51.100.6", 9995,
			 5);
	assert_mirror(&cfg);
}

static void test_collectors_only_default_source(void **state)
{
	struct config cfg;

	(void)state;
	parse_ok("{\"source\": \"192.0.2.1\", \"collectors\": ["
		 "{\"address\": \"203.0.113.10\", \"port\": 4739, "
		 "\"version\": 10}, {\"address\": \"198.51.100.6\", "
		 "\"port\": 2055}]}", &cfg);
	assert_int_equal(cfg.ncollectors, 2);
	assert_collector(&cfg.collectors[0], "192.0.2.1", "203.0.113.10", 4739,
			 10);
	assert_collector(&cfg.collectors[1], "192.0.2.1", "198.51.100.6", 2055,
			 5);
	assert_mirror(&cfg);
	assert_string_equal(cfg.collector_str, "203.0.113.10");
	assert_int_equal(cfg.port, 4739);
	assert_int_equal(((struct sockaddr_in *)&cfg.collector)->sin_port,
			 htons(4739));
	/* the default source may also come after the array */
	parse_ok("{\"collectors\": [{\"address\": \"198.51.100.6\", "
		 "\"port\": 2055}], \"source\": \"192.0.2.3\"}", &cfg);
	assert_collector(&cfg.collectors[0], "192.0.2.3", "198.51.100.6", 2055,
			 5);
	assert_mirror(&cfg);
}

static void test_collectors_mirror_own_source(void **state)
{
	struct config cfg;

	(void)state;
	/* collectors[0] has a source of its own: the mirror shows it, not
	 * the top-level default */
	parse_ok("{\"source\": \"192.0.2.1\", \"collectors\": ["
		 "{\"address\": \"2001:db8::5\", \"port\": 9995, "
		 "\"source\": \"2001:db8::1\", \"version\": 9}, "
		 "{\"address\": \"198.51.100.6\", \"port\": 2055}]}", &cfg);
	assert_int_equal(cfg.ncollectors, 2);
	assert_collector(&cfg.collectors[0], "2001:db8::1", "2001:db8::5", 9995,
			 9);
	assert_collector(&cfg.collectors[1], "192.0.2.1", "198.51.100.6", 2055,
			 5);
	assert_mirror(&cfg);
	assert_string_equal(cfg.source_str, "2001:db8::1");
	assert_int_equal(cfg.addrlen, sizeof(struct sockaddr_in6));
	assert_int_equal(((struct sockaddr_in6 *)&cfg.collector)->sin6_port,
			 htons(9995));
}

static void test_collectors_own_sources_only(void **state)
{
	struct config cfg;

	(void)state;
	parse_ok("{\"collectors\": [{\"address\": \"198.51.100.6\", "
		 "\"port\": 2055, \"source\": \"192.0.2.4\"}]}", &cfg);
	assert_int_equal(cfg.ncollectors, 1);
	assert_collector(&cfg.collectors[0], "192.0.2.4", "198.51.100.6", 2055,
			 5);
	assert_mirror(&cfg);
	assert_defaults(&cfg);
}

static void test_collectors_with_args(void **state)
{
	struct config cfg;

	(void)state;
	/* the source of args is the default source of the entries */
	parse_ok("{\"args\": [\"192.0.2.1\", \"198.51.100.5\", 2055], "
		 "\"collectors\": [{\"address\": \"198.51.100.6\", "
		 "\"port\": 9995, \"version\": 9}]}", &cfg);
	assert_int_equal(cfg.ncollectors, 2);
	assert_collector(&cfg.collectors[0], "192.0.2.1", "198.51.100.5", 2055,
			 5);
	assert_collector(&cfg.collectors[1], "192.0.2.1", "198.51.100.6", 9995,
			 9);
	assert_mirror(&cfg);
}

static void test_collectors_empty_array(void **state)
{
	struct config cfg;

	(void)state;
	parse_ok("{" TOP_V4 "[]}", &cfg);
	assert_int_equal(cfg.ncollectors, 1);
	assert_collector(&cfg.collectors[0], "192.0.2.1", "198.51.100.5", 2055,
			 5);
	assert_mirror(&cfg);
	parse_err("{\"collectors\": []}", "no collector: give 'source', 'collector' and 'port', or a non-empty 'collectors' array");
	parse_err("{\"source\": \"192.0.2.1\", \"collectors\": []}",
		  "no collector");
}

static void test_collectors_top_level_triple(void **state)
{
	static const char entry[] =
		"\"collectors\": [{\"address\": \"198.51.100.6\", \"port\": 9995, "
		"\"source\": \"192.0.2.1\"}]";
	char text[512];

	(void)state;
	/* collector or port given: the whole triple is required again */
	snprintf(text, sizeof(text), "{\"source\": \"192.0.2.1\", "
		 "\"collector\": \"198.51.100.5\", %s}", entry);
	parse_err(text, "missing required key 'port'");
	snprintf(text, sizeof(text), "{\"source\": \"192.0.2.1\", "
		 "\"port\": 2055, %s}", entry);
	parse_err(text, "missing required key 'collector'");
	snprintf(text, sizeof(text), "{\"collector\": \"198.51.100.5\", "
		 "\"port\": 2055, %s}", entry);
	parse_err(text, "missing required key 'source'");
	snprintf(text, sizeof(text), "{\"source\": \"192.0.2.1\", "
		 "\"collector\": \"2001:db8::5\", \"port\": 2055, %s}", entry);
	parse_err(text, "key 'collector': 2001:db8::5 is IPv6 but source 192.0.2.1 is IPv4; both must be of the same family");
}

static void test_collectors_wrong_type(void **state)
{
	(void)state;
	extra_err("\"collectors\": {\"address\": \"198.51.100.6\"}",
		  "key 'collectors': must be an array of objects {\"address\": ..., \"port\": ...}, not an object");
	extra_err("\"collectors\": \"198.51.100.6\"",
		  "key 'collectors': must be an array of objects");
	extra_err("\"collectors\": null", "not null");
	extra_err("\"collectors\": [\"198.51.100.6\"]",
		  "key 'collectors[0]': must be an object {\"address\": ..., \"port\": ...}, not a string");
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 9995}, [1]]",
		  "key 'collectors[1]': must be an object");
}

static void test_collectors_unknown_key(void **state)
{
	(void)state;
	parse_err("{" TOP_V4 "[{\"address\": \"198.51.100.6\", \"port\": 9995}, "
		  "{\"adress\": \"198.51.100.7\", \"port\": 9995}]}",
		  "key 'collectors[1]': unknown key 'adress' (did you mean 'address'?)");
	assert_string_equal(errbuf, NAME ": key 'collectors[1]': unknown key 'adress' (did you mean 'address'?)");
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 9995, \"vesion\": 9}]",
		  "key 'collectors[0]': unknown key 'vesion' (did you mean 'version'?)");
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 9995, \"protocol\": \"ipfix\"}]",
		  "key 'collectors[0]': unknown key 'protocol'");
	assert_null(strstr(errbuf, "did you mean"));
	/* a top-level key is not accepted inside an entry */
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 9995, \"ttl\": 60}]",
		  "key 'collectors[0]': unknown key 'ttl'");
}

static void test_collectors_missing_keys(void **state)
{
	(void)state;
	extra_err("\"collectors\": [{\"port\": 9995}]",
		  "key 'collectors[0]': missing required key 'address'");
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\"}]",
		  "key 'collectors[0]': missing required key 'port'");
	extra_err("\"collectors\": [{}]",
		  "key 'collectors[0]': missing required key 'address'");
	parse_err("{\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 9995}]}",
		  "key 'collectors[0]': missing required key 'source' (there is no top-level 'source' to default to)");
	parse_err("{\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 9995, \"source\": \"192.0.2.1\"}, "
		  "{\"address\": \"198.51.100.7\", \"port\": 9995}]}",
		  "key 'collectors[1]': missing required key 'source'");
}

static void test_collectors_bad_values(void **state)
{
	(void)state;
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", \"port\": 0}]",
		  "key 'collectors[0].port': must be an integer 1..65535, not 0");
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 65536}]",
		  "key 'collectors[0].port': must be an integer 1..65535, not 65536");
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": \"9995\"}]",
		  "key 'collectors[0].port': must be an integer 1..65535, not a string");
	extra_err("\"collectors\": [{\"address\": \"collector.example\", "
		  "\"port\": 9995}]",
		  "key 'collectors[0].address': 'collector.example' is not an IPv4 or IPv6 address");
	extra_err("\"collectors\": [{\"address\": 3325256710, \"port\": 9995}]",
		  "key 'collectors[0].address': must be an IPv4 or IPv6 address string, not an integer");
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 9995, \"source\": \"192.0.2\"}]",
		  "key 'collectors[0].source': '192.0.2' is not an IPv4 or IPv6 address");
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 9995, \"source\": null}]",
		  "key 'collectors[0].source': must be an IPv4 or IPv6 address string, not null");
}

static void test_collectors_version(void **state)
{
	static const int good[] = { 5, 9, 10 };
	struct config cfg;
	char member[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(member, sizeof(member), "\"collectors\": [{\"address\": "
			 "\"198.51.100.6\", \"port\": 9995, \"version\": %d}]",
			 good[i]);
		extra_ok(member, &cfg);
		assert_int_equal(cfg.collectors[1].version, good[i]);
		assert_int_equal(cfg.collectors[0].version, 5);
	}
	extra_ok("\"collectors\": [{\"address\": \"198.51.100.6\", "
		 "\"port\": 9995}]", &cfg);
	assert_int_equal(cfg.collectors[1].version, 5);
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 9995, \"version\": 7}]",
		  "key 'collectors[0].version': must be 5, 9 or 10 (IPFIX), not 7");
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 9995, \"version\": 0}]", "not 0");
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 9995, \"version\": 266}]", "not 266");
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 9995, \"version\": \"9\"}]",
		  "key 'collectors[0].version': must be 5, 9 or 10 (IPFIX), not a string");
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 9995, \"version\": 9.0}]", "not a fractional number");
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 9995, \"version\": \"ipfix\"}]", "not a string");
}

static void test_collectors_family(void **state)
{
	struct config cfg;

	(void)state;
	/* an IPv6 collector cannot take the IPv4 top-level source */
	extra_err("\"collectors\": [{\"address\": \"2001:db8::5\", "
		  "\"port\": 9995}]",
		  "key 'collectors[0].address': 2001:db8::5 is IPv6 but source 192.0.2.1 is IPv4; both must be of the same family");
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 9995, \"source\": \"2001:db8::1\"}]",
		  "key 'collectors[0].address': 198.51.100.6 is IPv4 but source 2001:db8::1 is IPv6; both must be of the same family");
	/* with a source of its own it can: families may differ between
	 * collectors */
	extra_ok("\"collectors\": [{\"address\": \"2001:db8::5\", "
		 "\"port\": 9995, \"source\": \"2001:db8::1\", \"version\": 10}]",
		 &cfg);
	assert_int_equal(cfg.ncollectors, 2);
	assert_collector(&cfg.collectors[0], "192.0.2.1", "198.51.100.5", 2055,
			 5);
	assert_collector(&cfg.collectors[1], "2001:db8::1", "2001:db8::5", 9995,
			 10);
	assert_mirror(&cfg);
}

static void test_collectors_duplicate(void **state)
{
	struct config cfg;

	(void)state;
	extra_err("\"collectors\": [{\"address\": \"198.51.100.5\", "
		  "\"port\": 2055, \"version\": 9}]",
		  "key 'collectors[0]': 198.51.100.5 port 2055 is already a collector (the top-level 'collector')");
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 9995}, {\"address\": \"198.51.100.7\", "
		  "\"port\": 9995}, {\"address\": \"198.51.100.6\", "
		  "\"port\": 9995, \"source\": \"192.0.2.2\"}]",
		  "key 'collectors[2]': 198.51.100.6 port 9995 is already a collector (collectors[0])");
	parse_err("{\"source\": \"2001:db8::1\", \"collectors\": ["
		  "{\"address\": \"2001:db8::5\", \"port\": 4739}, "
		  "{\"address\": \"2001:db8:0:0::5\", \"port\": 4739}]}",
		  "key 'collectors[1]': 2001:db8:0:0::5 port 4739 is already a collector (collectors[0])");
	/* same address on another port, or same port elsewhere: fine */
	extra_ok("\"collectors\": [{\"address\": \"198.51.100.5\", "
		 "\"port\": 9995}, {\"address\": \"198.51.100.6\", "
		 "\"port\": 2055}]", &cfg);
	assert_int_equal(cfg.ncollectors, 3);
}

/* Builds a file with the top-level collector (or not) and n entries. */
static void many_collectors(char *text, size_t len, bool top, unsigned n)
{
	size_t o;
	unsigned i;

	o = (size_t)snprintf(text, len, "{%s\"collectors\": [",
			     top ? MIN_V4 ", " : "\"source\": \"192.0.2.1\", ");
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(text + o, len - o,
				      "%s{\"address\": \"198.51.100.%u\", "
				      "\"port\": 9995, \"version\": 9}",
				      i ? ", " : "", 10 + i);
	snprintf(text + o, len - o, "]}");
}

static void test_collectors_too_many(void **state)
{
	struct config cfg;
	char text[2048];

	(void)state;
	many_collectors(text, sizeof(text), true, CONFIG_MAX_COLLECTORS - 1);
	parse_ok(text, &cfg);
	assert_int_equal(cfg.ncollectors, CONFIG_MAX_COLLECTORS);
	assert_collector(&cfg.collectors[CONFIG_MAX_COLLECTORS - 1],
			 "192.0.2.1", "198.51.100.16", 9995, 9);
	many_collectors(text, sizeof(text), false, CONFIG_MAX_COLLECTORS);
	parse_ok(text, &cfg);
	assert_int_equal(cfg.ncollectors, CONFIG_MAX_COLLECTORS);
	assert_mirror(&cfg);
	many_collectors(text, sizeof(text), true, CONFIG_MAX_COLLECTORS);
	parse_err(text, "key 'collectors': 9 collectors in all (with the top-level 'collector'), at most 8 allowed");
	many_collectors(text, sizeof(text), false, CONFIG_MAX_COLLECTORS + 1);
	parse_err(text, "key 'collectors': 9 collectors in all, at most 8 allowed");
}

static void test_collectors_error_leaves_config(void **state)
{
	static const char bad[] =
		"{\"source\": \"192.0.2.7\", \"collectors\": [{\"address\": "
		"\"198.51.100.9\", \"port\": 9995}, {\"address\": "
		"\"198.51.100.9\", \"port\": 9995}]}";
	struct config cfg;

	(void)state;
	parse_ok("{" MIN_V4 "}", &cfg);
	assert_int_equal(config_parse(bad, strlen(bad), NAME, &cfg, errbuf,
				      sizeof(errbuf)), -1);
	assert_int_equal(cfg.ncollectors, 1);
	assert_string_equal(cfg.collectors[0].collector_str, "198.51.100.5");
	assert_string_equal(cfg.source_str, "192.0.2.1");
}

static void test_active_timeout(void **state)
{
	struct config cfg;

	(void)state;
	extra_ok("\"active_timeout\": 0", &cfg);
	assert_int_equal(cfg.active_timeout, 0);
	extra_ok("\"active_timeout\": 60", &cfg);
	assert_int_equal(cfg.active_timeout, 60);
	extra_ok("\"active_timeout\": 2000000", &cfg);
	assert_int_equal(cfg.active_timeout, 2000000);
	extra_err("\"active_timeout\": 2000001",
		  "key 'active_timeout': must be an integer 0..2000000 (seconds, 0 = off), not 2000001");
	extra_err("\"active_timeout\": -1", "key 'active_timeout': must be an integer 0..2000000 (seconds, 0 = off), not -1");
	extra_err("\"active_timeout\": 4294967297", "not 4294967297");
	extra_err("\"active_timeout\": 1.5", "key 'active_timeout': must be an integer 0..2000000 (seconds, 0 = off), not a fractional number");
	extra_err("\"active_timeout\": \"30m\"", "not a string");
	extra_err("\"active_timeout\": false", "not false");
}

static void test_template_refresh(void **state)
{
	struct config cfg;

	(void)state;
	extra_ok("\"template_refresh_packets\": 0", &cfg);
	assert_int_equal(cfg.template_refresh_packets, 0);
	assert_int_equal(cfg.template_refresh_seconds, 600);
	extra_ok("\"template_refresh_seconds\": 0", &cfg);
	assert_int_equal(cfg.template_refresh_packets, 20);
	assert_int_equal(cfg.template_refresh_seconds, 0);
	extra_ok("\"template_refresh_packets\": 1000000, "
		 "\"template_refresh_seconds\": 86400", &cfg);
	assert_int_equal(cfg.template_refresh_packets, 1000000);
	assert_int_equal(cfg.template_refresh_seconds, 86400);
	extra_ok("\"template_refresh_packets\": 1, "
		 "\"template_refresh_seconds\": 1", &cfg);
	assert_int_equal(cfg.template_refresh_packets, 1);
	assert_int_equal(cfg.template_refresh_seconds, 1);
	extra_err("\"template_refresh_packets\": 0, "
		  "\"template_refresh_seconds\": 0",
		  "keys 'template_refresh_packets' and 'template_refresh_seconds': cannot both be 0");
	extra_err("\"template_refresh_packets\": 1000001",
		  "key 'template_refresh_packets': must be an integer 0..1000000 (datagrams, 0 = off), not 1000001");
	extra_err("\"template_refresh_packets\": -5", "not -5");
	extra_err("\"template_refresh_packets\": \"20\"",
		  "key 'template_refresh_packets': must be an integer 0..1000000 (datagrams, 0 = off), not a string");
	extra_err("\"template_refresh_seconds\": 86401",
		  "key 'template_refresh_seconds': must be an integer 0..86400 (seconds, 0 = off), not 86401");
	extra_err("\"template_refresh_seconds\": 0.5",
		  "key 'template_refresh_seconds': must be an integer 0..86400 (seconds, 0 = off), not a fractional number");
	extra_err("\"template_refresh_seconds\": null", "not null");
}

static void test_interfaces(void **state)
{
	struct config cfg;

	(void)state;
	extra_ok("\"interfaces\": true", &cfg);
	assert_true(cfg.interfaces);
	extra_ok("\"interfaces\": false", &cfg);
	assert_false(cfg.interfaces);
	extra_err("\"interfaces\": \"yes\"",
		  "key 'interfaces': must be true or false, not a string");
	extra_err("\"interfaces\": 1",
		  "key 'interfaces': must be true or false, not an integer");
}

static void test_state_file(void **state)
{
	struct config cfg;
	char member[400];

	(void)state;
	extra_ok("\"state_file\": \"/var/tmp/n.state\"", &cfg);
	assert_string_equal(cfg.state_file, "/var/tmp/n.state");
	extra_ok("\"state_file\": \"\"", &cfg);
	assert_string_equal(cfg.state_file, "");
	extra_err("\"state_file\": \"nfflowd.state\"",
		  "key 'state_file': must be an absolute path (starting with /), not 'nfflowd.state'");
	extra_err("\"state_file\": null",
		  "key 'state_file': must be an absolute path string, or \"\" for no state file, not null");
	extra_err("\"state_file\": false", "key 'state_file'");
	snprintf(member, sizeof(member), "\"state_file\": \"/%0255d\"", 0);
	extra_err(member, "key 'state_file': path is 256 bytes long, at most 255 allowed");
	snprintf(member, sizeof(member), "\"state_file\": \"/%0254d\"", 0);
	extra_ok(member, &cfg);
	assert_int_equal(strlen(cfg.state_file), 255);
	extra_err("\"state_fle\": \"/x\"",
		  "unknown key 'state_fle' (did you mean 'state_file'?)");
}

static void test_checkpoint_interval(void **state)
{
	struct config cfg;

	(void)state;
	extra_ok("\"checkpoint_interval\": 0", &cfg);
	assert_int_equal(cfg.checkpoint_interval, 0);
	extra_ok("\"checkpoint_interval\": 1", &cfg);
	assert_int_equal(cfg.checkpoint_interval, 1);
	extra_ok("\"checkpoint_interval\": 86400", &cfg);
	assert_int_equal(cfg.checkpoint_interval, 86400);
	extra_err("\"checkpoint_interval\": 86401",
		  "key 'checkpoint_interval': must be an integer 0..86400 (seconds, 0 = only at stop), not 86401");
	extra_err("\"checkpoint_interval\": -1", "key 'checkpoint_interval': must be an integer 0..86400 (seconds, 0 = only at stop), not -1");
	extra_err("\"checkpoint_interval\": 2.5", "not a fractional number");
	extra_err("\"checkpoint_interval\": \"60\"", "not a string");
}

static void test_resync_interval(void **state)
{
	struct config cfg;

	(void)state;
	extra_ok("\"resync_interval\": 1", &cfg);
	assert_int_equal(cfg.resync_interval, 1);
	extra_ok("\"resync_interval\": 3600", &cfg);
	assert_int_equal(cfg.resync_interval, 3600);
	extra_err("\"resync_interval\": 0",
		  "key 'resync_interval': must be an integer 1..3600 (seconds), not 0");
	extra_err("\"resync_interval\": 3601",
		  "key 'resync_interval': must be an integer 1..3600 (seconds), not 3601");
	extra_err("\"resync_interval\": true",
		  "key 'resync_interval': must be an integer 1..3600 (seconds), not true");
	extra_err("\"resync_intervall\": 5",
		  "unknown key 'resync_intervall' (did you mean 'resync_interval'?)");
}

/* A source that no host can send from: the top-level key, args and a
 * collectors entry, each named in the message. */
static void test_source_not_unicast(void **state)
{
	static const struct {
		const char *addr, *what;
	} bad[] = {
		{ "0.0.0.0", "the unspecified address" },
		{ "255.255.255.255", "the broadcast address" },
		{ "224.0.0.1", "a multicast address" },
		{ "239.255.255.250", "a multicast address" },
		{ "::", "the unspecified address" },
		{ "ff02::1", "a multicast address" },
		{ "ff0e::101", "a multicast address" },
		{ "::ffff:0.0.0.0", "the unspecified address" },
		{ "::ffff:224.1.2.3", "a multicast address" },
	};
	struct config cfg;
	char text[512], want[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool v6 = strchr(bad[i].addr, ':') != NULL;
		const char *col = v6 ? "2001:db8::5" : "198.51.100.5";

		snprintf(text, sizeof(text),
			 "{\"source\": \"%s\", \"collector\": \"%s\", \"port\": 2055}",
			 bad[i].addr, col);
		snprintf(want, sizeof(want),
			 "key 'source': %s is %s; must be a unicast address of this host",
			 bad[i].addr, bad[i].what);
		parse_err(text, want);
		snprintf(text, sizeof(text),
			 "{\"args\": [\"%s\", \"%s\", 2055]}", bad[i].addr,
			 col);
		snprintf(want, sizeof(want), "key 'args': %s is %s; must be a unicast address",
			 bad[i].addr, bad[i].what);
		parse_err(text, want);
		snprintf(text, sizeof(text),
			 "{\"collectors\": [{\"address\": \"%s\", \"port\": 2055, "
			 "\"source\": \"%s\"}]}", col, bad[i].addr);
		snprintf(want, sizeof(want),
			 "key 'collectors[0].source': %s is %s; must be a unicast address",
			 bad[i].addr, bad[i].what);
		parse_err(text, want);
	}
	/* Next to those ranges, and the collector itself, all fine. */
	parse_ok("{\"source\": \"223.255.255.255\", \"collector\": \"0.0.0.0\", \"port\": 2055}",
		 &cfg);
	parse_ok("{\"source\": \"240.0.0.1\", \"collector\": \"224.0.0.9\", \"port\": 2055}",
		 &cfg);
	parse_ok("{\"source\": \"255.255.255.254\", \"collector\": \"198.51.100.5\", \"port\": 2055}",
		 &cfg);
	parse_ok("{\"source\": \"::1\", \"collector\": \"ff02::1\", \"port\": 2055}",
		 &cfg);
	parse_ok("{\"source\": \"fe80::1\", \"collector\": \"2001:db8::5\", \"port\": 2055}",
		 &cfg);
	parse_ok("{\"source\": \"::ffff:192.0.2.1\", \"collector\": \"2001:db8::5\", \"port\": 2055}",
		 &cfg);
	parse_ok("{" MIN_V4 ", \"collectors\": [{\"address\": \"198.51.100.6\", "
		 "\"port\": 2055, \"source\": \"192.0.2.9\"}]}", &cfg);
	assert_string_equal(cfg.collectors[1].source_str, "192.0.2.9");
}

static void test_collectors_example_file(void **state)
{
	struct config cfg;

	(void)state;
	if (config_load(TEST_DATA_DIR "/../../../config/nfflowd-collectors.conf",
			&cfg, errbuf, sizeof(errbuf)) != 0)
		fail_msg("%s", errbuf);
	assert_int_equal(cfg.ncollectors, 3);
	assert_int_equal(cfg.collectors[0].version, 5);
	assert_int_equal(cfg.collectors[1].version, 9);
	assert_int_equal(cfg.collectors[2].version, 10);
	assert_mirror(&cfg);
	assert_true(cfg.interfaces);
}

static void test_load_paths_broken_collectors(void **state)
{
	static const char text[] =
		"{\"source\": \"192.0.2.1\", \"pidfile\": \"/tmp/b.pid\", "
		"\"collectors\": [{\"adress\": \"198.51.100.6\"}], "
		"\"control_socket\": \"/tmp/b.sock\"}";
	struct config cfg;
	char *path = temp_file(text, sizeof(text) - 1);

	(void)state;
	assert_int_equal(config_load(path, &cfg, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "unknown key 'adress'"));
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(config_load_paths(path, &cfg), 0);
	assert_string_equal(cfg.pidfile, "/tmp/b.pid");
	assert_string_equal(cfg.control_socket, "/tmp/b.sock");
	unlink(path);
	free(path);
}

/* One `collectors` entry to 198.51.100.6 with extra members. */
#define ENTRY(extra) "\"collectors\": [{\"address\": \"198.51.100.6\", " \
		     "\"port\": 9995" extra "}]"

static void test_collectors_nat_events(void **state)
{
	static const char *const modes[] = { "off", "rfc8158", "legacy" };
	static const int versions[] = { 9, 10 };
	struct config cfg;
	char member[300];
	size_t i, v;

	(void)state;
	/* absent: off, traffic on; the top-level collector likewise */
	extra_ok(ENTRY(", \"version\": 10"), &cfg);
	assert_int_equal(cfg.collectors[0].nat_events, 0);
	assert_true(cfg.collectors[0].flows);
	assert_int_equal(cfg.collectors[1].nat_events, 0);
	assert_true(cfg.collectors[1].flows);
	for (v = 0; v < 2; v++) {
		for (i = 0; i < 3; i++) {
			snprintf(member, sizeof(member),
				 ENTRY(", \"version\": %d, \"nat_events\": \"%s\""),
				 versions[v], modes[i]);
			extra_ok(member, &cfg);
			/* the numbering of enum nfx_nat_mode */
			assert_int_equal(cfg.collectors[1].nat_events, i);
			assert_true(cfg.collectors[1].flows);
			assert_int_equal(cfg.collectors[1].version, versions[v]);
		}
	}
	/* events only */
	extra_ok(ENTRY(", \"version\": 9, \"nat_events\": \"legacy\", "
		       "\"flows\": false"), &cfg);
	assert_int_equal(cfg.collectors[1].nat_events, 2);
	assert_false(cfg.collectors[1].flows);
	extra_ok(ENTRY(", \"version\": 10, \"flows\": true"), &cfg);
	assert_true(cfg.collectors[1].flows);
	/* v5 with off is fine: there is nothing to carry */
	extra_ok(ENTRY(", \"nat_events\": \"off\""), &cfg);
	assert_int_equal(cfg.collectors[1].version, 5);
	assert_int_equal(cfg.collectors[1].nat_events, 0);
}

static void test_collectors_nat_events_bad(void **state)
{
	static const char *const bad[] = {
		"\"RFC8158\"", "\"on\"", "\"\"", "true", "1", "null",
		"[\"legacy\"]",
	};
	char member[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(member, sizeof(member),
			 ENTRY(", \"version\": 10, \"nat_events\": %s"), bad[i]);
		extra_err(member,
			  "key 'collectors[0].nat_events': must be \"off\", \"rfc8158\" or \"legacy\"");
	}
	/* v5, by default or by name, cannot carry them */
	extra_err(ENTRY(", \"nat_events\": \"rfc8158\""),
		  "key 'collectors[0].nat_events': NetFlow v5 cannot carry NAT events");
	extra_err(ENTRY(", \"version\": 5, \"nat_events\": \"legacy\""),
		  "key 'collectors[0].nat_events': NetFlow v5 cannot carry NAT events; use version 9 or 10 (IPFIX)");
	/* nothing left to send */
	extra_err(ENTRY(", \"version\": 10, \"flows\": false"),
		  "key 'collectors[0].flows': false with nat_events off leaves nothing to send");
	extra_err(ENTRY(", \"version\": 9, \"flows\": false, "
			"\"nat_events\": \"off\""),
		  "key 'collectors[0].flows': false with nat_events off");
	extra_err(ENTRY(", \"version\": 10, \"flows\": \"no\", "
			"\"nat_events\": \"rfc8158\""),
		  "key 'collectors[0].flows': must be true or false, not a string");
	extra_err(ENTRY(", \"version\": 10, \"flows\": 0, "
			"\"nat_events\": \"rfc8158\""),
		  "key 'collectors[0].flows': must be true or false, not an integer");
	/* the entry is named by its place */
	extra_err("\"collectors\": [{\"address\": \"198.51.100.6\", "
		  "\"port\": 9995}, {\"address\": \"198.51.100.7\", "
		  "\"port\": 9995, \"nat_events\": \"legacy\"}]",
		  "key 'collectors[1].nat_events': NetFlow v5 cannot carry NAT events");
	/* a top-level nat_events is unknown: it belongs to a collector */
	extra_err("\"nat_events\": \"rfc8158\"", "unknown key 'nat_events'");
}

static void test_observation_domain(void **state)
{
	struct config cfg;

	(void)state;
	extra_ok("\"ttl\": 60", &cfg);
	assert_int_equal(cfg.observation_domain, 0);	/* derived later */
	extra_ok("\"observation_domain\": 1", &cfg);
	assert_int_equal(cfg.observation_domain, 1);
	extra_ok("\"observation_domain\": 4294967295", &cfg);
	assert_int_equal(cfg.observation_domain, 4294967295u);
	extra_ok("\"observation_domain\": 16909060", &cfg);
	assert_int_equal(cfg.observation_domain, 0x01020304);
	extra_err("\"observation_domain\": 0",
		  "key 'observation_domain': must be an integer 1..4294967295 (0 is reserved by RFC 7011), not 0");
	extra_err("\"observation_domain\": 4294967296",
		  "key 'observation_domain': must be an integer 1..4294967295 (0 is reserved by RFC 7011), not 4294967296");
	extra_err("\"observation_domain\": -1",
		  "key 'observation_domain': must be an integer 1..4294967295");
	extra_err("\"observation_domain\": \"7\"",
		  "key 'observation_domain': must be an integer 1..4294967295 (0 is reserved by RFC 7011), not a string");
	extra_err("\"observation_domain\": 7.5",
		  "key 'observation_domain': must be an integer");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_function),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_load_minimal_file),
		cmocka_unit_test(test_load_full_file),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_args_form),
		cmocka_unit_test(test_args_port_string),
		cmocka_unit_test(test_args_bad),
		cmocka_unit_test(test_args_and_source),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_family_mix),
		cmocka_unit_test(test_bad_ip),
		cmocka_unit_test(test_ip_wrong_type),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_top_level_not_object),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_syntax_error_position),
		cmocka_unit_test(test_syntax_error_file),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_unknown_key_suggestion),
		cmocka_unit_test(test_unknown_key_no_suggestion),
		cmocka_unit_test(test_unknown_key_is_error_even_if_valid_otherwise),
		cmocka_unit_test(test_port_range),
		cmocka_unit_test(test_port_wrong_type),
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_flush_interval),
		cmocka_unit_test(test_engine),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_syslog_object),
		cmocka_unit_test(test_syslog_facility),
		cmocka_unit_test(test_syslog_priority),
		cmocka_unit_test(test_syslog_ident),
		cmocka_unit_test(test_syslog_socket_and_backlog),
		cmocka_unit_test(test_syslog_unknown_key),
		cmocka_unit_test(test_pidfile),
		cmocka_unit_test(test_control_socket),
		cmocka_unit_test(test_netlink_buffer),
		cmocka_unit_test(test_netlink_reliable),
		cmocka_unit_test(test_legacy_args),
		cmocka_unit_test(test_legacy_unterminated),
		cmocka_unit_test(test_legacy_with_comments),
		cmocka_unit_test(test_legacy_file),
		cmocka_unit_test(test_legacy_key_value),
		cmocka_unit_test(test_not_legacy_is_syntax_error),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_error_leaves_config),
		cmocka_unit_test(test_small_error_buffer),
		cmocka_unit_test(test_load_missing),
		cmocka_unit_test(test_load_directory),
		cmocka_unit_test(test_load_too_big),
		cmocka_unit_test(test_load_paths_good),
		cmocka_unit_test(test_load_paths_absent_keys),
		cmocka_unit_test(test_load_paths_invalid_config),
		cmocka_unit_test(test_load_paths_broken),
		cmocka_unit_test(test_facility_names),
		cmocka_unit_test(test_priority_names),
		cmocka_unit_test(test_key_order_independent),
		cmocka_unit_test(test_long_unknown_key_shortened),
		cmocka_unit_test(test_collectors_with_top_level),
		cmocka_unit_test(test_collectors_file_order),
		cmocka_unit_test(test_collectors_only_default_source),
		cmocka_unit_test(test_collectors_mirror_own_source),
		cmocka_unit_test(test_collectors_own_sources_only),
		cmocka_unit_test(test_collectors_with_args),
		cmocka_unit_test(test_collectors_empty_array),
		cmocka_unit_test(test_collectors_top_level_triple),
		cmocka_unit_test(test_collectors_wrong_type),
		cmocka_unit_test(test_collectors_unknown_key),
		cmocka_unit_test(test_collectors_missing_keys),
		cmocka_unit_test(test_collectors_bad_values),
		cmocka_unit_test(test_collectors_version),
		cmocka_unit_test(test_collectors_nat_events),
		cmocka_unit_test(test_collectors_nat_events_bad),
		cmocka_unit_test(test_observation_domain),
		cmocka_unit_test(test_collectors_family),
		cmocka_unit_test(test_collectors_duplicate),
		cmocka_unit_test(test_collectors_too_many),
		cmocka_unit_test(test_collectors_error_leaves_config),
		cmocka_unit_test(test_active_timeout),
		cmocka_unit_test(test_template_refresh),
		cmocka_unit_test(test_interfaces),
		cmocka_unit_test(test_state_file),
		cmocka_unit_test(test_checkpoint_interval),
		cmocka_unit_test(test_resync_interval),
		cmocka_unit_test(test_source_not_unicast),
		cmocka_unit_test(test_collectors_example_file),
		cmocka_unit_test(test_load_paths_broken_collectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

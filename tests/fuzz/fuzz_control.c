/* libFuzzer target: arbitrary bytes through control_parse_request, checked
 * against a plain statement of the protocol's request rule. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nfflowd/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True when buf is exactly word, optionally followed by one '\r'. */
static int is_word(const uint8_t *buf, size_t len, const char *word)
{
	size_t n = strlen(word);

	if (len == n + 1 && buf[n] == '\r')
		len = n;
	return len == n && memcmp(buf, word, n) == 0;
}

/* Parses one input (copied so that reading past it is caught) and checks
 * the verdict against the rule. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum control_request want = CONTROL_REQ_INVALID, got;
	char *copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	got = control_parse_request(copy, size);
	if (size < CONTROL_REQUEST_MAX) {
		if (is_word(data, size, "state"))
			want = CONTROL_REQ_STATE;
		else if (is_word(data, size, "counters"))
			want = CONTROL_REQ_COUNTERS;
		else if (is_word(data, size, "metrics"))
			want = CONTROL_REQ_METRICS;
		else if (is_word(data, size, "role active"))
			want = CONTROL_REQ_ROLE_ACTIVE;
		else if (is_word(data, size, "role standby"))
			want = CONTROL_REQ_ROLE_STANDBY;
		else if (is_word(data, size, "role auto"))
			want = CONTROL_REQ_ROLE_AUTO;
	}
	if (got != want)
		__builtin_trap();
	free(copy);
	return 0;
}

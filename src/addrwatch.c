/* Follows one address through rtnetlink address messages: the interfaces
 * that hold it, added by RTM_NEWADDR and dropped by RTM_DELADDR. */
#include "nfflowd/addrwatch.h"

#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_addr.h>

void addrwatch_init(struct addrwatch *w, uint8_t family, const void *addr)
{
	memset(w, 0, sizeof(*w));
	w->family = family;
	memcpy(w->addr, addr, family == AF_INET6 ? 16 : 4);
}

void addrwatch_clear(struct addrwatch *w)
{
	w->nifs = 0;
}

bool addrwatch_present(const struct addrwatch *w)
{
	return w->nifs > 0;
}

/* Adds or drops interface index idx. */
static void set_if(struct addrwatch *w, uint32_t idx, bool add)
{
	unsigned i;

	for (i = 0; i < w->nifs; i++)
		if (w->ifs[i] == idx)
			break;
	if (add && i == w->nifs && w->nifs < ADDRWATCH_MAX_IFS)
		w->ifs[w->nifs++] = idx;
	else if (!add && i < w->nifs)
		w->ifs[i] = w->ifs[--w->nifs];
}

/* The address an ifaddrmsg's attributes give (IFA_LOCAL, the host's own
 * end, else IFA_ADDRESS, which is the peer's on a point-to-point link).
 * Returns a pointer into p, NULL when absent, or (void *)-1 when the
 * attributes are malformed. */
static const uint8_t *message_addr(const uint8_t *p, size_t len, size_t alen)
{
	const uint8_t *local = NULL, *address = NULL;

	while (len >= sizeof(struct rtattr)) {
		struct rtattr rta;

		memcpy(&rta, p, sizeof(rta));
		if (rta.rta_len < sizeof(rta) || rta.rta_len > len)
			return (const uint8_t *)-1;
		if (rta.rta_type == IFA_LOCAL || rta.rta_type == IFA_ADDRESS) {
			if (rta.rta_len - sizeof(rta) != alen)
				return (const uint8_t *)-1;
			if (rta.rta_type == IFA_LOCAL)
				local = p + sizeof(rta);
			else
				address = p + sizeof(rta);
		}
		if (RTA_ALIGN(rta.rta_len) >= len)
			break;
		len -= RTA_ALIGN(rta.rta_len);
		p += RTA_ALIGN(rta.rta_len);
	}
	return local != NULL ? local : address;
}

/* One RTM_NEWADDR/RTM_DELADDR message (payload p of plen bytes); returns
 * 1 when it concerned the address, 0 when not, -1 when malformed. */
static int apply_one(struct addrwatch *w, uint16_t type, const uint8_t *p,
		     size_t plen)
{
	struct ifaddrmsg ifa;
	size_t alen = w->family == AF_INET6 ? 16 : 4;
	const uint8_t *a;

	if (plen < sizeof(ifa))
		return -1;
	memcpy(&ifa, p, sizeof(ifa));
	if (ifa.ifa_family != w->family)
		return 0;
	a = message_addr(p + NLMSG_ALIGN(sizeof(ifa)),
			 plen > NLMSG_ALIGN(sizeof(ifa)) ?
			 plen - NLMSG_ALIGN(sizeof(ifa)) : 0, alen);
	if (a == (const uint8_t *)-1)
		return -1;
	if (a == NULL || memcmp(a, w->addr, alen) != 0)
		return 0;
	set_if(w, ifa.ifa_index, type == RTM_NEWADDR);
	return 1;
}

unsigned addrwatch_apply(struct addrwatch *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	unsigned hits = 0;

	while (len >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr nlh;
		int r;

		memcpy(&nlh, p, sizeof(nlh));
		if (nlh.nlmsg_len < sizeof(nlh) || nlh.nlmsg_len > len) {
			w->malformed++;
			break;
		}
		if (nlh.nlmsg_type == RTM_NEWADDR || nlh.nlmsg_type == RTM_DELADDR) {
			r = apply_one(w, nlh.nlmsg_type, p + NLMSG_HDRLEN,
				      nlh.nlmsg_len > NLMSG_HDRLEN ?
				      nlh.nlmsg_len - NLMSG_HDRLEN : 0);
			if (r < 0)
				w->malformed++;
			else
				hits += (unsigned)r;
		}
		if (NLMSG_ALIGN(nlh.nlmsg_len) >= len)
			break;
		len -= NLMSG_ALIGN(nlh.nlmsg_len);
		p += NLMSG_ALIGN(nlh.nlmsg_len);
	}
	return hits;
}

/* Unit tests for the NetFlow v9 and IPFIX encoder against hand-built bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "nfflowd/nfx.h"

/* The header used by every byte-exact test. */
static const struct nfx_header hdr = {
	.export_secs = 1700000006,
	.sysuptime_ms = 3723456,
	.sequence = 7,
	.domain = 0x01020304,
};

/* v9 message with the templates only (no interfaces): the template
 * FlowSet (traffic and NAT events, IPv4 and IPv6), then one options
 * template per FlowSet (RFC 3954 section 6.1), each padded to 4 bytes. */
static const uint8_t v9_templates[] = {
	0x00, 0x09,			/* version 9 */
	0x00, 0x08,			/* count: 4 templates + 4 options templates */
	0x00, 0x38, 0xD0, 0xC0,		/* sysUptime 3723456 */
	0x65, 0x53, 0xF1, 0x06,		/* unix secs 1700000006 */
	0x00, 0x00, 0x00, 0x07,		/* sequence 7 */
	0x01, 0x02, 0x03, 0x04,		/* source id */
	0x00, 0x00, 0x01, 0x1C,		/* FlowSet id 0: templates, length 284 */
	0x01, 0x04, 0x00, 0x13,		/* template 260: IPv4, 19 fields */
	0x00, 0x08, 0x00, 0x04,		/* sourceIPv4Address */
	0x00, 0x0C, 0x00, 0x04,		/* destinationIPv4Address */
	0x00, 0x07, 0x00, 0x02,		/* sourceTransportPort */
	0x00, 0x0B, 0x00, 0x02,		/* destinationTransportPort */
	0x00, 0xE1, 0x00, 0x04,		/* postNATSourceIPv4Address */
	0x00, 0xE2, 0x00, 0x04,		/* postNATDestinationIPv4Address */
	0x00, 0xE3, 0x00, 0x02,		/* postNAPTSourceTransportPort */
	0x00, 0xE4, 0x00, 0x02,		/* postNAPTDestinationTransportPort */
	0x00, 0x04, 0x00, 0x01,		/* protocolIdentifier */
	0x00, 0x20, 0x00, 0x02,		/* icmpTypeCodeIPv4 */
	0x00, 0x06, 0x00, 0x01,		/* tcpControlBits */
	0x00, 0x01, 0x00, 0x08,		/* octetDeltaCount */
	0x00, 0x02, 0x00, 0x08,		/* packetDeltaCount */
	0x00, 0x98, 0x00, 0x08,		/* flowStartMilliseconds */
	0x00, 0x99, 0x00, 0x08,		/* flowEndMilliseconds */
	0x00, 0x3D, 0x00, 0x01,		/* flowDirection */
	0x00, 0xEF, 0x00, 0x01,		/* biflowDirection */
	0x00, 0x88, 0x00, 0x01,		/* flowEndReason */
	0x00, 0xEA, 0x00, 0x04,		/* ingressVRFID */
	0x01, 0x05, 0x00, 0x13,		/* template 261: IPv6, 19 fields */
	0x00, 0x1B, 0x00, 0x10,		/* sourceIPv6Address */
	0x00, 0x1C, 0x00, 0x10,		/* destinationIPv6Address */
	0x00, 0x07, 0x00, 0x02,		/* sourceTransportPort */
	0x00, 0x0B, 0x00, 0x02,		/* destinationTransportPort */
	0x01, 0x19, 0x00, 0x10,		/* postNATSourceIPv6Address */
	0x01, 0x1A, 0x00, 0x10,		/* postNATDestinationIPv6Address */
	0x00, 0xE3, 0x00, 0x02,		/* postNAPTSourceTransportPort */
	0x00, 0xE4, 0x00, 0x02,		/* postNAPTDestinationTransportPort */
	0x00, 0x04, 0x00, 0x01,		/* protocolIdentifier */
	0x00, 0x8B, 0x00, 0x02,		/* icmpTypeCodeIPv6 */
	0x00, 0x06, 0x00, 0x01,		/* tcpControlBits */
	0x00, 0x01, 0x00, 0x08,		/* octetDeltaCount */
	0x00, 0x02, 0x00, 0x08,		/* packetDeltaCount */
	0x00, 0x98, 0x00, 0x08,		/* flowStartMilliseconds */
	0x00, 0x99, 0x00, 0x08,		/* flowEndMilliseconds */
	0x00, 0x3D, 0x00, 0x01,		/* flowDirection */
	0x00, 0xEF, 0x00, 0x01,		/* biflowDirection */
	0x00, 0x88, 0x00, 0x01,		/* flowEndReason */
	0x00, 0xEA, 0x00, 0x04,		/* ingressVRFID */
	0x01, 0x08, 0x00, 0x0E,		/* template 264: NAT44 events, 14 fields */
	0x01, 0x43, 0x00, 0x08,		/* observationTimeMilliseconds */
	0x00, 0x98, 0x00, 0x08,		/* flowStartMilliseconds */
	0x00, 0x99, 0x00, 0x08,		/* flowEndMilliseconds */
	0x00, 0xE6, 0x00, 0x01,		/* natEvent */
	0x00, 0x04, 0x00, 0x01,		/* protocolIdentifier */
	0x00, 0x08, 0x00, 0x04,		/* sourceIPv4Address */
	0x00, 0x0C, 0x00, 0x04,		/* destinationIPv4Address */
	0x00, 0x07, 0x00, 0x02,		/* sourceTransportPort */
	0x00, 0x0B, 0x00, 0x02,		/* destinationTransportPort */
	0x00, 0xE1, 0x00, 0x04,		/* postNATSourceIPv4Address */
	0x00, 0xE2, 0x00, 0x04,		/* postNATDestinationIPv4Address */
	0x00, 0xE3, 0x00, 0x02,		/* postNAPTSourceTransportPort */
	0x00, 0xE4, 0x00, 0x02,		/* postNAPTDestinationTransportPort */
	0x00, 0xEA, 0x00, 0x04,		/* ingressVRFID */
	0x01, 0x09, 0x00, 0x0E,		/* template 265: IPv6 NAT events, 14 fields */
	0x01, 0x43, 0x00, 0x08,		/* observationTimeMilliseconds */
	0x00, 0x98, 0x00, 0x08,		/* flowStartMilliseconds */
	0x00, 0x99, 0x00, 0x08,		/* flowEndMilliseconds */
	0x00, 0xE6, 0x00, 0x01,		/* natEvent */
	0x00, 0x04, 0x00, 0x01,		/* protocolIdentifier */
	0x00, 0x1B, 0x00, 0x10,		/* sourceIPv6Address */
	0x00, 0x1C, 0x00, 0x10,		/* destinationIPv6Address */
	0x00, 0x07, 0x00, 0x02,		/* sourceTransportPort */
	0x00, 0x0B, 0x00, 0x02,		/* destinationTransportPort */
	0x01, 0x19, 0x00, 0x10,		/* postNATSourceIPv6Address */
	0x01, 0x1A, 0x00, 0x10,		/* postNATDestinationIPv6Address */
	0x00, 0xE3, 0x00, 0x02,		/* postNAPTSourceTransportPort */
	0x00, 0xE4, 0x00, 0x02,		/* postNAPTDestinationTransportPort */
	0x00, 0xEA, 0x00, 0x04,		/* ingressVRFID */
	0x00, 0x01, 0x00, 0x1C,		/* FlowSet id 1: options template, length 28 */
	0x01, 0x0A, 0x00, 0x04, 0x00, 0x0C,	/* template 266, sampling */
	0x00, 0x01, 0x00, 0x04,		/* scope: System */
	0x00, 0x22, 0x00, 0x04,		/* samplingInterval */
	0x01, 0x31, 0x00, 0x04,		/* samplingPacketInterval */
	0x01, 0x32, 0x00, 0x04,		/* samplingPacketSpace */
	0x00, 0x00,			/* padding */
	0x00, 0x01, 0x00, 0x18,		/* FlowSet id 1: options template, length 24 */
	0x01, 0x0B, 0x00, 0x04, 0x00, 0x08,	/* template 267, interface names */
	0x00, 0x02, 0x00, 0x04,		/* scope: Interface */
	0x00, 0x52, 0x00, 0x10,		/* interfaceName */
	0x00, 0x53, 0x00, 0x20,		/* interfaceDescription */
	0x00, 0x00,			/* padding */
	0x00, 0x01, 0x00, 0x1C,		/* FlowSet id 1: options template, length 28 */
	0x01, 0x0C, 0x00, 0x04, 0x00, 0x0C,	/* template 268, exporter statistics */
	0x00, 0x01, 0x00, 0x04,		/* scope: System */
	0x00, 0x29, 0x00, 0x08,		/* exportedMessageTotalCount */
	0x00, 0x2A, 0x00, 0x08,		/* exportedFlowRecordTotalCount */
	0x00, 0x28, 0x00, 0x08,		/* exportedOctetTotalCount */
	0x00, 0x00,			/* padding */
	0x00, 0x01, 0x00, 0x18,		/* FlowSet id 1: options template, length 24 */
	0x01, 0x0D, 0x00, 0x04, 0x00, 0x08,	/* template 269, exporting process */
	0x00, 0x01, 0x00, 0x04,		/* scope: System */
	0x00, 0x90, 0x00, 0x04,		/* exportingProcessId */
	0x00, 0xA0, 0x00, 0x08,		/* systemInitTimeMilliseconds */
	0x00, 0x00,			/* padding */
};

/* IPFIX message with the templates only (with interfaces): the template
 * set, then one options template set (id 3) holding all four, each with
 * one scope field (four: no padding). */
static const uint8_t ipfix_templates_if[] = {
	0x00, 0x0A,			/* version 10 */
	0x01, 0x98,			/* length 408 */
	0x65, 0x53, 0xF1, 0x06,		/* export time 1700000006 */
	0x00, 0x00, 0x00, 0x07,		/* sequence 7 */
	0x01, 0x02, 0x03, 0x04,		/* observation domain */
	0x00, 0x02, 0x01, 0x34,		/* set id 2: templates, length 308 */
	0x01, 0x06, 0x00, 0x16,		/* template 262: IPv4 with interfaces, 22 fields */
	0x00, 0x08, 0x00, 0x04,		/* sourceIPv4Address */
	0x00, 0x0C, 0x00, 0x04,		/* destinationIPv4Address */
	0x00, 0x07, 0x00, 0x02,		/* sourceTransportPort */
	0x00, 0x0B, 0x00, 0x02,		/* destinationTransportPort */
	0x00, 0xE1, 0x00, 0x04,		/* postNATSourceIPv4Address */
	0x00, 0xE2, 0x00, 0x04,		/* postNATDestinationIPv4Address */
	0x00, 0xE3, 0x00, 0x02,		/* postNAPTSourceTransportPort */
	0x00, 0xE4, 0x00, 0x02,		/* postNAPTDestinationTransportPort */
	0x00, 0x04, 0x00, 0x01,		/* protocolIdentifier */
	0x00, 0x20, 0x00, 0x02,		/* icmpTypeCodeIPv4 */
	0x00, 0x06, 0x00, 0x01,		/* tcpControlBits */
	0x00, 0x01, 0x00, 0x08,		/* octetDeltaCount */
	0x00, 0x02, 0x00, 0x08,		/* packetDeltaCount */
	0x00, 0x98, 0x00, 0x08,		/* flowStartMilliseconds */
	0x00, 0x99, 0x00, 0x08,		/* flowEndMilliseconds */
	0x00, 0x3D, 0x00, 0x01,		/* flowDirection */
	0x00, 0xEF, 0x00, 0x01,		/* biflowDirection */
	0x00, 0x88, 0x00, 0x01,		/* flowEndReason */
	0x00, 0xEA, 0x00, 0x04,		/* ingressVRFID */
	0x00, 0x0A, 0x00, 0x04,		/* ingressInterface */
	0x00, 0x0E, 0x00, 0x04,		/* egressInterface */
	0x00, 0x0F, 0x00, 0x04,		/* ipNextHopIPv4Address */
	0x01, 0x07, 0x00, 0x16,		/* template 263: IPv6 with interfaces, 22 fields */
	0x00, 0x1B, 0x00, 0x10,		/* sourceIPv6Address */
	0x00, 0x1C, 0x00, 0x10,		/* destinationIPv6Address */
	0x00, 0x07, 0x00, 0x02,		/* sourceTransportPort */
	0x00, 0x0B, 0x00, 0x02,		/* destinationTransportPort */
	0x01, 0x19, 0x00, 0x10,		/* postNATSourceIPv6Address */
	0x01, 0x1A, 0x00, 0x10,		/* postNATDestinationIPv6Address */
	0x00, 0xE3, 0x00, 0x02,		/* postNAPTSourceTransportPort */
	0x00, 0xE4, 0x00, 0x02,		/* postNAPTDestinationTransportPort */
	0x00, 0x04, 0x00, 0x01,		/* protocolIdentifier */
	0x00, 0x8B, 0x00, 0x02,		/* icmpTypeCodeIPv6 */
	0x00, 0x06, 0x00, 0x01,		/* tcpControlBits */
	0x00, 0x01, 0x00, 0x08,		/* octetDeltaCount */
	0x00, 0x02, 0x00, 0x08,		/* packetDeltaCount */
	0x00, 0x98, 0x00, 0x08,		/* flowStartMilliseconds */
	0x00, 0x99, 0x00, 0x08,		/* flowEndMilliseconds */
	0x00, 0x3D, 0x00, 0x01,		/* flowDirection */
	0x00, 0xEF, 0x00, 0x01,		/* biflowDirection */
	0x00, 0x88, 0x00, 0x01,		/* flowEndReason */
	0x00, 0xEA, 0x00, 0x04,		/* ingressVRFID */
	0x00, 0x0A, 0x00, 0x04,		/* ingressInterface */
	0x00, 0x0E, 0x00, 0x04,		/* egressInterface */
	0x00, 0x3E, 0x00, 0x10,		/* ipNextHopIPv6Address */
	0x01, 0x08, 0x00, 0x0E,		/* template 264: NAT44 events, 14 fields */
	0x01, 0x43, 0x00, 0x08,		/* observationTimeMilliseconds */
	0x00, 0x98, 0x00, 0x08,		/* flowStartMilliseconds */
	0x00, 0x99, 0x00, 0x08,		/* flowEndMilliseconds */
	0x00, 0xE6, 0x00, 0x01,		/* natEvent */
	0x00, 0x04, 0x00, 0x01,		/* protocolIdentifier */
	0x00, 0x08, 0x00, 0x04,		/* sourceIPv4Address */
	0x00, 0x0C, 0x00, 0x04,		/* destinationIPv4Address */
	0x00, 0x07, 0x00, 0x02,		/* sourceTransportPort */
	0x00, 0x0B, 0x00, 0x02,		/* destinationTransportPort */
	0x00, 0xE1, 0x00, 0x04,		/* postNATSourceIPv4Address */
	0x00, 0xE2, 0x00, 0x04,		/* postNATDestinationIPv4Address */
	0x00, 0xE3, 0x00, 0x02,		/* postNAPTSourceTransportPort */
	0x00, 0xE4, 0x00, 0x02,		/* postNAPTDestinationTransportPort */
	0x00, 0xEA, 0x00, 0x04,		/* ingressVRFID */
	0x01, 0x09, 0x00, 0x0E,		/* template 265: IPv6 NAT events, 14 fields */
	0x01, 0x43, 0x00, 0x08,		/* observationTimeMilliseconds */
	0x00, 0x98, 0x00, 0x08,		/* flowStartMilliseconds */
	0x00, 0x99, 0x00, 0x08,		/* flowEndMilliseconds */
	0x00, 0xE6, 0x00, 0x01,		/* natEvent */
	0x00, 0x04, 0x00, 0x01,		/* protocolIdentifier */
	0x00, 0x1B, 0x00, 0x10,		/* sourceIPv6Address */
	0x00, 0x1C, 0x00, 0x10,		/* destinationIPv6Address */
	0x00, 0x07, 0x00, 0x02,		/* sourceTransportPort */
	0x00, 0x0B, 0x00, 0x02,		/* destinationTransportPort */
	0x01, 0x19, 0x00, 0x10,		/* postNATSourceIPv6Address */
	0x01, 0x1A, 0x00, 0x10,		/* postNATDestinationIPv6Address */
	0x00, 0xE3, 0x00, 0x02,		/* postNAPTSourceTransportPort */
	0x00, 0xE4, 0x00, 0x02,		/* postNAPTDestinationTransportPort */
	0x00, 0xEA, 0x00, 0x04,		/* ingressVRFID */
	0x00, 0x03, 0x00, 0x54,		/* set id 3: options templates, length 84 */
	0x01, 0x0A, 0x00, 0x04, 0x00, 0x01,	/* template 266, sampling */
	0x00, 0x95, 0x00, 0x04,		/* observationDomainId (scope) */
	0x00, 0x22, 0x00, 0x04,		/* samplingInterval */
	0x01, 0x31, 0x00, 0x04,		/* samplingPacketInterval */
	0x01, 0x32, 0x00, 0x04,		/* samplingPacketSpace */
	0x01, 0x0B, 0x00, 0x03, 0x00, 0x01,	/* template 267, interface names */
	0x00, 0x0A, 0x00, 0x04,		/* ingressInterface (scope) */
	0x00, 0x52, 0x00, 0x10,		/* interfaceName */
	0x00, 0x53, 0x00, 0x20,		/* interfaceDescription */
	0x01, 0x0C, 0x00, 0x04, 0x00, 0x01,	/* template 268, exporter statistics */
	0x00, 0x95, 0x00, 0x04,		/* observationDomainId (scope) */
	0x00, 0x29, 0x00, 0x08,		/* exportedMessageTotalCount */
	0x00, 0x2A, 0x00, 0x08,		/* exportedFlowRecordTotalCount */
	0x00, 0x28, 0x00, 0x08,		/* exportedOctetTotalCount */
	0x01, 0x0D, 0x00, 0x03, 0x00, 0x01,	/* template 269, exporting process */
	0x00, 0x95, 0x00, 0x04,		/* observationDomainId (scope) */
	0x00, 0x90, 0x00, 0x04,		/* exportingProcessId */
	0x00, 0xA0, 0x00, 0x08,		/* systemInitTimeMilliseconds */
};

/* v9 message, no templates, no interfaces: an IPv4 record then an IPv6
 * record, each in its own padded FlowSet. */
static const uint8_t v9_data[] = {
	0x00, 0x09,			/* version 9 */
	0x00, 0x02,			/* count: 2 data records */
	0x00, 0x38, 0xD0, 0xC0,		/* sysUptime */
	0x65, 0x53, 0xF1, 0x06,		/* unix secs */
	0x00, 0x00, 0x00, 0x07,		/* sequence */
	0x01, 0x02, 0x03, 0x04,		/* source id */
	0x01, 0x04,			/* FlowSet 260 */
	0x00, 0x48,			/* length 72 = 4 + 67 + 1 */
	/* TCP SNAT 192.0.2.10:40000 -> 198.51.100.20:443 as 203.0.113.1:61000 */
	0xC0, 0x00, 0x02, 0x0A,		/* src 192.0.2.10 */
	0xC6, 0x33, 0x64, 0x14,		/* dst 198.51.100.20 */
	0x9C, 0x40,			/* sport 40000 */
	0x01, 0xBB,			/* dport 443 */
	0xCB, 0x00, 0x71, 0x01,		/* post-NAT src 203.0.113.1 */
	0xC6, 0x33, 0x64, 0x14,		/* post-NAT dst 198.51.100.20 */
	0xEE, 0x48,			/* post-NAT sport 61000 */
	0x01, 0xBB,			/* post-NAT dport 443 */
	0x06,				/* protocol TCP */
	0x00, 0x00,			/* icmp type/code */
	0x13,				/* tcp flags SYN|ACK|FIN */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0xDC,	/* octets 1500 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0A,	/* packets 10 */
	0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x7B,	/* start 1700000000123 */
	0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x7D, 0x50,	/* end 1700000005456 */
	0x00,				/* flowDirection ingress */
	0x01,				/* biflowDirection initiator */
	0x03,				/* flowEndReason end detected */
	0x00, 0x00, 0x00, 0x05,		/* ingressVRFID: zone 5 */
	0x00,				/* padding */
	0x01, 0x05,			/* FlowSet 261 */
	0x00, 0x78,			/* length 120 = 4 + 115 + 1 */
	/* UDP DNAT [2001:db8::10]:50000 -> [2001:db8:1::20]:53 to
	 * [2001:db8:ffff::1]:5353 */
	0x20, 0x01, 0x0D, 0xB8, 0x00, 0x00, 0x00, 0x00,	/* src 2001:db8::10 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
	0x20, 0x01, 0x0D, 0xB8, 0x00, 0x01, 0x00, 0x00,	/* dst 2001:db8:1::20 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
	0xC3, 0x50,			/* sport 50000 */
	0x00, 0x35,			/* dport 53 */
	0x20, 0x01, 0x0D, 0xB8, 0x00, 0x00, 0x00, 0x00,	/* post-NAT src */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
	0x20, 0x01, 0x0D, 0xB8, 0xFF, 0xFF, 0x00, 0x00,	/* post-NAT dst */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,	/* 2001:db8:ffff::1 */
	0xC3, 0x50,			/* post-NAT sport 50000 */
	0x14, 0xE9,			/* post-NAT dport 5353 */
	0x11,				/* protocol UDP */
	0x00, 0x00,			/* icmp type/code */
	0x00,				/* tcp flags */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0xDC,	/* octets 1500 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0A,	/* packets 10 */
	0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x7B,	/* start */
	0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x7D, 0x50,	/* end */
	0x00,				/* flowDirection */
	0x01,				/* biflowDirection */
	0x03,				/* flowEndReason */
	0x00, 0x00, 0xFF, 0xFF,		/* ingressVRFID: zone 65535 */
	0x00,				/* padding */
};

/* IPFIX message, no templates, with interfaces: the reply of the TCP SNAT
 * connection, then an ICMPv6 echo request. */
static const uint8_t ipfix_data_if[] = {
	0x00, 0x0A,			/* version 10 */
	0x00, 0xF4,			/* length 244 */
	0x65, 0x53, 0xF1, 0x06,		/* export time */
	0x00, 0x00, 0x00, 0x07,		/* sequence */
	0x01, 0x02, 0x03, 0x04,		/* observation domain */
	0x01, 0x06,			/* set 262 */
	0x00, 0x54,			/* length 84 = 4 + 79 + 1 */
	0xC6, 0x33, 0x64, 0x14,		/* src 198.51.100.20 */
	0xCB, 0x00, 0x71, 0x01,		/* dst 203.0.113.1 */
	0x01, 0xBB,			/* sport 443 */
	0xEE, 0x48,			/* dport 61000 */
	0xC6, 0x33, 0x64, 0x14,		/* post-NAT src 198.51.100.20 */
	0xC0, 0x00, 0x02, 0x0A,		/* post-NAT dst 192.0.2.10 */
	0x01, 0xBB,			/* post-NAT sport 443 */
	0x9C, 0x40,			/* post-NAT dport 40000 */
	0x06,				/* protocol TCP */
	0x00, 0x00,			/* icmp type/code */
	0x12,				/* tcp flags SYN|ACK */
	0x00, 0x00, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89,	/* octets */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,	/* packets 65536 */
	0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x7B,	/* start */
	0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x7D, 0x50,	/* end */
	0x00,				/* flowDirection ingress (the reply too) */
	0x02,				/* biflowDirection reverseInitiator */
	0x02,				/* flowEndReason active timeout */
	0x00, 0x00, 0x00, 0x05,		/* ingressVRFID: zone 5 */
	0x00, 0x00, 0x00, 0x07,		/* ingressInterface 7 */
	0x00, 0x00, 0x00, 0x03,		/* egressInterface 3 */
	0xC0, 0x00, 0x02, 0x01,		/* next hop 192.0.2.1 */
	0x00,				/* padding */
	0x01, 0x07,			/* set 263 */
	0x00, 0x90,			/* length 144 = 4 + 139 + 1 */
	0x20, 0x01, 0x0D, 0xB8, 0x00, 0x00, 0x00, 0x00,	/* src 2001:db8::10 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
	0x20, 0x01, 0x0D, 0xB8, 0x00, 0x01, 0x00, 0x00,	/* dst 2001:db8:1::20 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
	0x00, 0x00,			/* sport 0 (ICMPv6) */
	0x00, 0x00,			/* dport 0 */
	0x20, 0x01, 0x0D, 0xB8, 0xFF, 0xFF, 0x00, 0x00,	/* post-NAT src */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,	/* 2001:db8:ffff::1 */
	0x20, 0x01, 0x0D, 0xB8, 0x00, 0x01, 0x00, 0x00,	/* post-NAT dst */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
	0x00, 0x00,			/* post-NAT sport */
	0x00, 0x00,			/* post-NAT dport */
	0x3A,				/* protocol ICMPv6 */
	0x80, 0x00,			/* echo request, code 0 */
	0x00,				/* tcp flags */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0xDC,	/* octets 1500 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0A,	/* packets 10 */
	0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x7B,	/* start */
	0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x7D, 0x50,	/* end */
	0x00,				/* flowDirection */
	0x01,				/* biflowDirection */
	0x03,				/* flowEndReason */
	0x00, 0x00, 0x00, 0x00,		/* ingressVRFID: zone 0 */
	0x00, 0x00, 0x00, 0x03,		/* ingressInterface 3 */
	0x00, 0x00, 0x00, 0x07,		/* egressInterface 7 */
	0x20, 0x01, 0x0D, 0xB8, 0x00, 0x01, 0x00, 0x00,	/* next hop */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,	/* 2001:db8:1::1 */
	0x00,				/* padding */
};

static const uint8_t a6_client[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10 };
static const uint8_t a6_server[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20 };
static const uint8_t a6_nat[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 };
static const uint8_t a6_gw[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 };

/* Fills the fields every hand-built record shares. */
static void rec_common(struct nfx_rec *r, uint8_t family, uint8_t proto)
{
	memset(r, 0, sizeof(*r));
	r->family = family;
	r->proto = proto;
	r->end_reason = 3;
	r->packets = 10;
	r->octets = 1500;
	r->start_ms = 1700000000123ull;
	r->end_ms = 1700000005456ull;
}

/* Stores dotted-quad bytes into a record address field. */
static void set4(uint8_t out[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	out[0] = a;
	out[1] = b;
	out[2] = c;
	out[3] = d;
}

/* The original direction of the TCP SNAT connection in v9_data. */
static void rec_snat_orig(struct nfx_rec *r)
{
	rec_common(r, AF_INET, IPPROTO_TCP);
	set4(r->src, 192, 0, 2, 10);
	set4(r->dst, 198, 51, 100, 20);
	set4(r->xsrc, 203, 0, 113, 1);
	set4(r->xdst, 198, 51, 100, 20);
	r->sport = 40000;
	r->dport = 443;
	r->xsport = 61000;
	r->xdport = 443;
	r->tcp_flags = 0x13;	/* SYN|ACK|FIN */
	r->zone = 5;
}

/* Offsets within the hand-built template messages. */
#define V9_TSET_LEN 284		/* template FlowSet of v9_templates */
#define IPFIX_TSET_LEN 308	/* template set of ipfix_templates_if */

static void test_template_set_v9(void **state)
{
	struct nfx_msg m;
	size_t n;

	(void)state;
	nfx_begin(&m, NFX_VERSION_V9, false, true);
	n = nfx_finish(&m, &hdr);
	assert_int_equal(n, sizeof(v9_templates));
	assert_memory_equal(m.buf, v9_templates, n);
	assert_int_equal(m.records, 0);
	assert_int_equal(m.opt_records, 0);
	assert_int_equal(m.count, 8);
}

static void test_template_set_ipfix_if(void **state)
{
	struct nfx_msg m;
	size_t n;

	(void)state;
	nfx_begin(&m, NFX_VERSION_IPFIX, true, true);
	n = nfx_finish(&m, &hdr);
	assert_int_equal(n, sizeof(ipfix_templates_if));
	assert_memory_equal(m.buf, ipfix_templates_if, n);
	assert_int_equal(m.records, 0);
}

/* The other two variants: the same template records under the other
 * header (checked against the hand-built ones above), and the options
 * templates of their version. */
static void test_template_set_cross(void **state)
{
	struct nfx_msg m, ref;
	size_t n;

	(void)state;
	nfx_begin(&m, NFX_VERSION_IPFIX, false, true);
	n = nfx_finish(&m, &hdr);
	nfx_begin(&ref, NFX_VERSION_IPFIX, true, true);
	assert_int_equal(n, 16 + V9_TSET_LEN + 84);
	assert_int_equal(m.buf[2] << 8 | m.buf[3], n);	/* IPFIX length */
	assert_int_equal(m.buf[16], 0);
	assert_int_equal(m.buf[17], 2);			/* set id 2 */
	assert_memory_equal(m.buf + 18, v9_templates + 22, V9_TSET_LEN - 2);
	/* the options set does not depend on the interfaces */
	assert_memory_equal(m.buf + 16 + V9_TSET_LEN,
			    ipfix_templates_if + 16 + IPFIX_TSET_LEN, 84);

	nfx_begin(&m, NFX_VERSION_V9, true, true);
	n = nfx_finish(&m, &hdr);
	assert_int_equal(n, 20 + IPFIX_TSET_LEN + 104);
	assert_int_equal(m.buf[3], 8);			/* count */
	assert_int_equal(m.buf[20], 0);
	assert_int_equal(m.buf[21], 0);			/* FlowSet id 0 */
	assert_memory_equal(m.buf + 22, ipfix_templates_if + 18,
			    IPFIX_TSET_LEN - 2);
	assert_memory_equal(m.buf + 20 + IPFIX_TSET_LEN,
			    v9_templates + 20 + V9_TSET_LEN, 104);
}

/* Walks the sets after the template set: v9 has one options template in
 * each FlowSet of id 1, with a 4-byte scope (system or interface); IPFIX
 * one set of id 3 with all four, each with one scope field, and no
 * padding. */
static void test_options_template_sets(void **state)
{
	static const uint16_t ids[4] = { 266, 267, 268, 269 };
	static const uint16_t v9_scope[4] = { 1, 2, 1, 1 };
	static const uint16_t ipfix_scope[4] = { 149, 10, 149, 149 };
	struct nfx_msg m;
	size_t n, off, set_len;
	unsigned ifs, i;

	(void)state;
	for (ifs = 0; ifs < 2; ifs++) {
		nfx_begin(&m, NFX_VERSION_V9, ifs, true);
		n = nfx_finish(&m, &hdr);
		off = 20 + (m.buf[22] << 8 | m.buf[23]);
		for (i = 0; i < 4; i++) {
			const uint8_t *p = m.buf + off;
			unsigned scope_len = p[6] << 8 | p[7];
			unsigned opt_len = p[8] << 8 | p[9];

			assert_int_equal(p[0] << 8 | p[1], 1);	/* options */
			set_len = p[2] << 8 | p[3];
			assert_int_equal(set_len % 4, 0);
			assert_int_equal(p[4] << 8 | p[5], ids[i]);
			assert_int_equal(scope_len, 4);
			assert_int_equal(p[10] << 8 | p[11], v9_scope[i]);
			assert_int_equal(p[12] << 8 | p[13], 4);
			/* one template: the rest is padding */
			assert_true(set_len - (10 + scope_len + opt_len) < 4);
			off += set_len;
		}
		assert_int_equal(off, n);

		nfx_begin(&m, NFX_VERSION_IPFIX, ifs, true);
		n = nfx_finish(&m, &hdr);
		off = 16 + (m.buf[18] << 8 | m.buf[19]);
		assert_int_equal(m.buf[off] << 8 | m.buf[off + 1], 3);
		set_len = m.buf[off + 2] << 8 | m.buf[off + 3];
		assert_int_equal(off + set_len, n);
		off += 4;
		for (i = 0; i < 4; i++) {
			const uint8_t *p = m.buf + off;
			unsigned count = p[2] << 8 | p[3];

			assert_int_equal(p[0] << 8 | p[1], ids[i]);
			assert_int_equal(p[4] << 8 | p[5], 1);	/* scope count */
			assert_int_equal(p[6] << 8 | p[7], ipfix_scope[i]);
			off += 6 + 4 * count;
		}
		assert_int_equal(n, off);	/* no padding */
	}
}

static void test_data_v9(void **state)
{
	struct nfx_msg m;
	struct nfx_rec r;
	size_t n;

	(void)state;
	nfx_begin(&m, NFX_VERSION_V9, false, false);
	rec_snat_orig(&r);
	assert_true(nfx_add(&m, &r));
	rec_common(&r, AF_INET6, IPPROTO_UDP);
	memcpy(r.src, a6_client, 16);
	memcpy(r.dst, a6_server, 16);
	memcpy(r.xsrc, a6_client, 16);
	memcpy(r.xdst, a6_nat, 16);
	r.sport = 50000;
	r.dport = 53;
	r.xsport = 50000;
	r.xdport = 5353;
	r.zone = 65535;
	/* interfaces are off: these must not appear */
	r.in_if = 9;
	r.out_if = 9;
	memcpy(r.nexthop, a6_gw, 16);
	assert_true(nfx_add(&m, &r));
	n = nfx_finish(&m, &hdr);
	assert_int_equal(n, sizeof(v9_data));
	assert_memory_equal(m.buf, v9_data, n);
	assert_int_equal(m.records, 2);
	assert_int_equal(m.count, 2);
}

static void test_data_ipfix_if(void **state)
{
	struct nfx_msg m;
	struct nfx_rec r;
	size_t n;

	(void)state;
	nfx_begin(&m, NFX_VERSION_IPFIX, true, false);
	rec_common(&r, AF_INET, IPPROTO_TCP);
	r.direction = 1;
	r.end_reason = 2;
	set4(r.src, 198, 51, 100, 20);
	set4(r.dst, 203, 0, 113, 1);
	set4(r.xsrc, 198, 51, 100, 20);
	set4(r.xdst, 192, 0, 2, 10);
	r.sport = 443;
	r.dport = 61000;
	r.xsport = 443;
	r.xdport = 40000;
	r.octets = 0x123456789ull;
	r.packets = 65536;
	r.tcp_flags = 0x12;	/* SYN|ACK */
	r.zone = 5;
	r.in_if = 7;
	r.out_if = 3;
	set4(r.nexthop, 192, 0, 2, 1);
	assert_true(nfx_add(&m, &r));
	rec_common(&r, AF_INET6, IPPROTO_ICMPV6);
	memcpy(r.src, a6_client, 16);
	memcpy(r.dst, a6_server, 16);
	memcpy(r.xsrc, a6_nat, 16);
	memcpy(r.xdst, a6_server, 16);
	r.icmp_type_code = 128 << 8;
	r.in_if = 3;
	r.out_if = 7;
	memcpy(r.nexthop, a6_gw, 16);
	assert_true(nfx_add(&m, &r));
	n = nfx_finish(&m, &hdr);
	assert_int_equal(n, sizeof(ipfix_data_if));
	assert_memory_equal(m.buf, ipfix_data_if, n);
}

/* Records of one template share one set; a change of template opens a new
 * one; v9 count = templates + data records; sequence is the caller's. */
static void test_sets_count_sequence(void **state)
{
	struct nfx_msg m;
	struct nfx_rec r;
	struct nfx_header h = hdr;
	size_t n;

	(void)state;
	nfx_begin(&m, NFX_VERSION_V9, false, true);
	rec_snat_orig(&r);
	assert_true(nfx_add(&m, &r));
	assert_true(nfx_add(&m, &r));
	assert_true(nfx_add(&m, &r));
	h.sequence = 0xA1B2C3D4;
	n = nfx_finish(&m, &h);
	/* 20 header + 408 templates + 4 + 3 * 67 = 613, padded to 616 */
	assert_int_equal(n, 616);
	assert_int_equal(m.buf[2], 0);
	assert_int_equal(m.buf[3], 11);		/* 8 templates + 3 */
	assert_int_equal(m.buf[12], 0xA1);
	assert_int_equal(m.buf[15], 0xD4);
	assert_memory_equal(m.buf, v9_templates + 0, 2);
	assert_memory_equal(m.buf + 20, v9_templates + 20,
			    sizeof(v9_templates) - 20);
	assert_int_equal(m.buf[408] << 8 | m.buf[409], 260);	/* set 260 */
	assert_int_equal(m.buf[410] << 8 | m.buf[411], 208);
	assert_memory_equal(m.buf + 412, v9_data + 24, 67);
	assert_memory_equal(m.buf + 412 + 67, v9_data + 24, 67);
	assert_memory_equal(m.buf + 412 + 134, v9_data + 24, 67);
	assert_int_equal(m.buf[613], 0);
	assert_int_equal(m.buf[614], 0);
	assert_int_equal(m.buf[615], 0);

	/* IPFIX: v4, v6, v4 makes three sets; the header length is the total */
	nfx_begin(&m, NFX_VERSION_IPFIX, false, false);
	assert_true(nfx_add(&m, &r));
	r.family = AF_INET6;
	assert_true(nfx_add(&m, &r));
	r.family = AF_INET;
	assert_true(nfx_add(&m, &r));
	h.sequence = 41;
	n = nfx_finish(&m, &h);
	/* 16 + 72 + 120 + 72 */
	assert_int_equal(n, 280);
	assert_int_equal(m.records, 3);
	assert_int_equal(m.buf[2] << 8 | m.buf[3], 280);
	assert_int_equal(m.buf[11], 41);
	assert_int_equal(m.buf[16] << 8 | m.buf[17], 260);
	assert_int_equal(m.buf[18] << 8 | m.buf[19], 72);
	assert_int_equal(m.buf[88] << 8 | m.buf[89], 261);
	assert_int_equal(m.buf[90] << 8 | m.buf[91], 120);
	assert_int_equal(m.buf[208] << 8 | m.buf[209], 260);
	assert_int_equal(m.buf[210] << 8 | m.buf[211], 72);
}

/* An empty message is just the header. */
static void test_empty(void **state)
{
	struct nfx_msg m;

	(void)state;
	nfx_begin(&m, NFX_VERSION_IPFIX, true, false);
	assert_int_equal(nfx_finish(&m, &hdr), 16);
	assert_int_equal(m.buf[3], 16);
	nfx_begin(&m, NFX_VERSION_V9, true, false);
	assert_int_equal(nfx_finish(&m, &hdr), 20);
	assert_int_equal(m.buf[3], 0);
}

/* Adds r and checks that a refusal leaves the message untouched. */
static bool add_checked(struct nfx_msg *m, const struct nfx_rec *r)
{
	static struct nfx_msg before;
	bool ok;

	before = *m;
	ok = nfx_add(m, r);
	if (!ok)
		assert_memory_equal(&before, m, sizeof(*m));
	return ok;
}

/* v9 without templates: 20 + (4 + 17 * 67 + 1) + (4 + 2 * 115 + 2) = 1400
 * exactly once padded; then nothing fits. */
static void test_fill_exactly(void **state)
{
	struct nfx_msg m;
	struct nfx_rec r4, r6;
	unsigned i;

	(void)state;
	rec_snat_orig(&r4);
	r6 = r4;
	r6.family = AF_INET6;
	nfx_begin(&m, NFX_VERSION_V9, false, false);
	for (i = 0; i < 17; i++)
		assert_true(add_checked(&m, &r4));
	assert_int_equal(m.len, 1163);
	for (i = 0; i < 2; i++)
		assert_true(add_checked(&m, &r6));
	assert_int_equal(m.len, 1398);	/* the last set's padding to come */
	assert_false(add_checked(&m, &r6));
	assert_false(add_checked(&m, &r4));
	assert_int_equal(nfx_finish(&m, &hdr), NFX_MAX_DATAGRAM);
	assert_int_equal(m.buf[3], 19);
	assert_int_equal(m.buf[22] << 8 | m.buf[23], 1144);	/* 4+1139+1 */
	assert_int_equal(m.buf[1163], 0);
	assert_int_equal(m.buf[1164] << 8 | m.buf[1165], 261);
	assert_int_equal(m.buf[1166] << 8 | m.buf[1167], 236);	/* 4+230+2 */
	assert_int_equal(m.buf[1398], 0);
	assert_int_equal(m.buf[1399], 0);
}

/* v9 with interfaces: 20 + (4 + 4 * 79) + 4 + 7 * 139 = 1317; the IPv6 set
 * is then padded to 1320, where a 79-byte IPv4 record would still fit
 * (1399, padded to 1400) but not with the new set header it needs. */
static void test_set_header_counted(void **state)
{
	struct nfx_msg m;
	struct nfx_rec r4, r6;
	unsigned i;

	(void)state;
	rec_snat_orig(&r4);
	r6 = r4;
	r6.family = AF_INET6;
	nfx_begin(&m, NFX_VERSION_V9, true, false);
	for (i = 0; i < 4; i++)
		assert_true(add_checked(&m, &r4));
	for (i = 0; i < 7; i++)
		assert_true(add_checked(&m, &r6));
	assert_int_equal(m.len, 1317);
	assert_false(add_checked(&m, &r4));
	assert_false(add_checked(&m, &r6));
	assert_int_equal(nfx_finish(&m, &hdr), 1320);
	assert_int_equal(m.records, 11);
	assert_int_equal(m.buf[3], 11);
}

/* Filling any variant until refusal never exceeds the limit and always
 * ends 4-aligned; the refused record fits in a fresh message. */
static void test_fill_all_variants(void **state)
{
	static const uint8_t versions[] = { NFX_VERSION_V9, NFX_VERSION_IPFIX };
	struct nfx_msg m;
	struct nfx_rec r;
	unsigned v, ifs, t, fam, i, added;
	size_t n;

	(void)state;
	rec_snat_orig(&r);
	for (v = 0; v < 2; v++)
	for (ifs = 0; ifs < 2; ifs++)
	for (t = 0; t < 2; t++)
	for (fam = 0; fam < 3; fam++) {
		nfx_begin(&m, versions[v], ifs, t);
		added = 0;
		for (i = 0; i < 100; i++) {
			/* fam 2 alternates families: a set per record */
			r.family = (fam == 1 || (fam == 2 && i % 2)) ?
				   AF_INET6 : AF_INET;
			if (!add_checked(&m, &r))
				break;
			added++;
		}
		assert_true(i < 100);
		assert_true(added > 0);
		n = nfx_finish(&m, &hdr);
		assert_true(n <= NFX_MAX_DATAGRAM);
		assert_int_equal(n % 4, 0);
		assert_int_equal(m.records, added);
		nfx_begin(&m, versions[v], ifs, t);
		assert_true(nfx_add(&m, &r));
	}
}

/* Conntrack's view of a connection for nfx_rec_build. */
static struct ct_event ev;
static struct flow_conn conn;

/* An IPv4 event from the two tuples, with a flow_conn around it. */
static void conn4(uint8_t proto, uint32_t os, uint32_t od, uint16_t osp,
		  uint16_t odp, uint32_t rs, uint32_t rd, uint16_t rsp,
		  uint16_t rdp)
{
	memset(&ev, 0, sizeof(ev));
	memset(&conn, 0, sizeof(conn));
	ev.type = CT_EVENT_DESTROY;
	ev.family = AF_INET;
	ev.proto = proto;
	ev.has_counters = true;
	ev.orig = (struct ct_tuple){ os, od, osp, odp };
	ev.reply = (struct ct_tuple){ rs, rd, rsp, rdp };
	conn.ev = &ev;
	conn.reason = FLOW_END_DETECTED;
	conn.has_counters = true;
	conn.orig_packets = 5;
	conn.orig_bytes = 400;
	conn.reply_packets = 4;
	conn.reply_bytes = 3000;
	conn.start_real_ms = 1700000000123ull;
	conn.end_real_ms = 1700000005456ull;
	conn.in_if = 2;
	conn.out_if = 5;
	set4(conn.nexthop, 198, 51, 100, 1);
	set4(conn.rnexthop, 192, 0, 2, 1);
}

/* Asserts an IPv4 address field equals a.b.c.d and is zero beyond. */
static void assert_addr4(const uint8_t f[16], uint8_t a, uint8_t b,
			 uint8_t c, uint8_t d)
{
	static const uint8_t zero[12];
	const uint8_t want[4] = { a, b, c, d };

	assert_memory_equal(f, want, 4);
	assert_memory_equal(f + 4, zero, 12);
}

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | \
			 (uint32_t)(c) << 8 | (uint32_t)(d))

static void test_build_snat(void **state)
{
	struct nfx_rec out[2];

	(void)state;
	/* 192.0.2.10:40000 -> 198.51.100.20:443, masqueraded as
	 * 203.0.113.1:61000 */
	conn4(IPPROTO_TCP, IP4(192, 0, 2, 10), IP4(198, 51, 100, 20), 40000,
	      443, IP4(198, 51, 100, 20), IP4(203, 0, 113, 1), 443, 61000);
	assert_int_equal(nfx_rec_build(&conn, out), 2);
	assert_int_equal(out[0].family, AF_INET);
	assert_int_equal(out[0].proto, IPPROTO_TCP);
	assert_int_equal(out[0].direction, 0);
	assert_int_equal(out[0].end_reason, FLOW_END_DETECTED);
	assert_addr4(out[0].src, 192, 0, 2, 10);
	assert_addr4(out[0].dst, 198, 51, 100, 20);
	assert_addr4(out[0].xsrc, 203, 0, 113, 1);
	assert_addr4(out[0].xdst, 198, 51, 100, 20);
	assert_int_equal(out[0].sport, 40000);
	assert_int_equal(out[0].dport, 443);
	assert_int_equal(out[0].xsport, 61000);
	assert_int_equal(out[0].xdport, 443);
	assert_int_equal(out[0].icmp_type_code, 0);
	assert_int_equal(out[0].packets, 5);
	assert_int_equal(out[0].octets, 400);
	assert_int_equal(out[0].start_ms, 1700000000123ull);
	assert_int_equal(out[0].end_ms, 1700000005456ull);
	assert_int_equal(out[0].in_if, 2);
	assert_int_equal(out[0].out_if, 5);
	assert_addr4(out[0].nexthop, 198, 51, 100, 1);

	assert_int_equal(out[1].direction, 1);
	assert_int_equal(out[1].end_reason, FLOW_END_DETECTED);
	assert_addr4(out[1].src, 198, 51, 100, 20);
	assert_addr4(out[1].dst, 203, 0, 113, 1);
	assert_addr4(out[1].xsrc, 198, 51, 100, 20);
	assert_addr4(out[1].xdst, 192, 0, 2, 10);
	assert_int_equal(out[1].sport, 443);
	assert_int_equal(out[1].dport, 61000);
	assert_int_equal(out[1].xsport, 443);
	assert_int_equal(out[1].xdport, 40000);
	assert_int_equal(out[1].packets, 4);
	assert_int_equal(out[1].octets, 3000);
	assert_int_equal(out[1].start_ms, 1700000000123ull);
	assert_int_equal(out[1].end_ms, 1700000005456ull);
	assert_int_equal(out[1].in_if, 5);
	assert_int_equal(out[1].out_if, 2);
	assert_addr4(out[1].nexthop, 192, 0, 2, 1);
}

static void test_build_dnat(void **state)
{
	struct nfx_rec out[2];

	(void)state;
	/* 203.0.113.50:50000 -> 203.0.113.1:8080 forwarded to
	 * 192.0.2.20:80 */
	conn4(IPPROTO_TCP, IP4(203, 0, 113, 50), IP4(203, 0, 113, 1), 50000,
	      8080, IP4(192, 0, 2, 20), IP4(203, 0, 113, 50), 80, 50000);
	conn.reason = FLOW_END_ACTIVE;
	assert_int_equal(nfx_rec_build(&conn, out), 2);
	assert_int_equal(out[0].end_reason, FLOW_END_ACTIVE);
	assert_addr4(out[0].src, 203, 0, 113, 50);
	assert_addr4(out[0].dst, 203, 0, 113, 1);
	assert_addr4(out[0].xsrc, 203, 0, 113, 50);
	assert_addr4(out[0].xdst, 192, 0, 2, 20);
	assert_int_equal(out[0].sport, 50000);
	assert_int_equal(out[0].dport, 8080);
	assert_int_equal(out[0].xsport, 50000);
	assert_int_equal(out[0].xdport, 80);
	assert_addr4(out[1].src, 192, 0, 2, 20);
	assert_addr4(out[1].dst, 203, 0, 113, 50);
	assert_addr4(out[1].xsrc, 203, 0, 113, 1);
	assert_addr4(out[1].xdst, 203, 0, 113, 50);
	assert_int_equal(out[1].sport, 80);
	assert_int_equal(out[1].dport, 50000);
	assert_int_equal(out[1].xsport, 8080);
	assert_int_equal(out[1].xdport, 50000);
	assert_int_equal(out[1].end_reason, FLOW_END_ACTIVE);
}

static void test_build_no_nat(void **state)
{
	struct nfx_rec out[2];

	(void)state;
	conn4(IPPROTO_UDP, IP4(192, 0, 2, 10), IP4(198, 51, 100, 20), 5000,
	      53, IP4(198, 51, 100, 20), IP4(192, 0, 2, 10), 53, 5000);
	assert_int_equal(nfx_rec_build(&conn, out), 2);
	assert_memory_equal(out[0].src, out[0].xsrc, 16);
	assert_memory_equal(out[0].dst, out[0].xdst, 16);
	assert_int_equal(out[0].sport, out[0].xsport);
	assert_int_equal(out[0].dport, out[0].xdport);
	assert_addr4(out[1].src, 198, 51, 100, 20);
	assert_addr4(out[1].xdst, 192, 0, 2, 10);
	assert_memory_equal(out[1].src, out[1].xsrc, 16);
	assert_memory_equal(out[1].dst, out[1].xdst, 16);
	assert_int_equal(out[1].sport, 53);
	assert_int_equal(out[1].xdport, 5000);
}

static void test_build_unanswered_udp(void **state)
{
	struct nfx_rec out[2];

	(void)state;
	conn4(IPPROTO_UDP, IP4(192, 0, 2, 10), IP4(198, 51, 100, 20), 5000,
	      53, IP4(198, 51, 100, 20), IP4(203, 0, 113, 1), 53, 1024);
	conn.reply_packets = 0;
	conn.reply_bytes = 0;
	memset(&out[1], 0xAB, sizeof(out[1]));
	assert_int_equal(nfx_rec_build(&conn, out), 1);
	assert_addr4(out[0].xsrc, 203, 0, 113, 1);
	assert_int_equal(out[0].xsport, 1024);
	assert_int_equal(out[1].family, 0xAB);	/* untouched */

	/* Without counters the reply is exported regardless. */
	conn.has_counters = false;
	conn.orig_packets = 0;
	conn.orig_bytes = 0;
	assert_int_equal(nfx_rec_build(&conn, out), 2);
	assert_int_equal(out[1].packets, 0);
	assert_int_equal(out[1].direction, 1);
}

static void test_build_icmp_echo(void **state)
{
	struct nfx_rec out[2];

	(void)state;
	/* echo id 0x1234 request (8/0), reply (0/0), SNAT */
	conn4(IPPROTO_ICMP, IP4(192, 0, 2, 10), IP4(198, 51, 100, 20),
	      0x1234, 8 << 8, IP4(198, 51, 100, 20), IP4(203, 0, 113, 1),
	      0x1234, 0 << 8);
	assert_int_equal(nfx_rec_build(&conn, out), 2);
	assert_int_equal(out[0].icmp_type_code, 0x0800);
	assert_int_equal(out[0].sport, 0);
	assert_int_equal(out[0].dport, 0);
	assert_int_equal(out[0].xsport, 0);
	assert_int_equal(out[0].xdport, 0);
	assert_addr4(out[0].xsrc, 203, 0, 113, 1);
	assert_int_equal(out[1].icmp_type_code, 0x0000);
	assert_int_equal(out[1].sport, 0);
	assert_int_equal(out[1].dport, 0);
	assert_int_equal(out[1].xsport, 0);
	assert_int_equal(out[1].xdport, 0);
	assert_addr4(out[1].xdst, 192, 0, 2, 10);

	/* a destination unreachable (3/3) with a code */
	conn4(IPPROTO_ICMP, IP4(192, 0, 2, 10), IP4(198, 51, 100, 20), 0,
	      3 << 8 | 3, IP4(198, 51, 100, 20), IP4(192, 0, 2, 10), 0, 0);
	conn.reply_packets = 0;
	assert_int_equal(nfx_rec_build(&conn, out), 1);
	assert_int_equal(out[0].icmp_type_code, 0x0303);
}

static void test_build_icmpv6(void **state)
{
	struct nfx_rec out[2];
	static const uint8_t gw6[16] = {
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

	(void)state;
	conn4(IPPROTO_ICMPV6, 0, 0, 0x4321, 128 << 8, 0, 0, 0x4321,
	      129 << 8);
	ev.family = AF_INET6;
	memcpy(ev.orig6.src, a6_client, 16);
	memcpy(ev.orig6.dst, a6_server, 16);
	memcpy(ev.reply6.src, a6_server, 16);
	memcpy(ev.reply6.dst, a6_nat, 16);
	memcpy(conn.nexthop, a6_gw, 16);
	memcpy(conn.rnexthop, gw6, 16);
	assert_int_equal(nfx_rec_build(&conn, out), 2);
	assert_int_equal(out[0].family, AF_INET6);
	assert_int_equal(out[0].proto, IPPROTO_ICMPV6);
	assert_memory_equal(out[0].src, a6_client, 16);
	assert_memory_equal(out[0].dst, a6_server, 16);
	assert_memory_equal(out[0].xsrc, a6_nat, 16);
	assert_memory_equal(out[0].xdst, a6_server, 16);
	assert_int_equal(out[0].icmp_type_code, 0x8000);
	assert_int_equal(out[0].sport, 0);
	assert_int_equal(out[0].xsport, 0);
	assert_memory_equal(out[0].nexthop, a6_gw, 16);
	assert_memory_equal(out[1].src, a6_server, 16);
	assert_memory_equal(out[1].dst, a6_nat, 16);
	assert_memory_equal(out[1].xsrc, a6_server, 16);
	assert_memory_equal(out[1].xdst, a6_client, 16);
	assert_int_equal(out[1].icmp_type_code, 0x8100);
	assert_int_equal(out[1].dport, 0);
	assert_memory_equal(out[1].nexthop, gw6, 16);
}

/* A TCP IPv6 connection takes the ports from the tuples. */
static void test_build_tcp6(void **state)
{
	struct nfx_rec out[2];

	(void)state;
	conn4(IPPROTO_TCP, 0, 0, 50000, 53, 0, 0, 5353, 50000);
	ev.family = AF_INET6;
	memcpy(ev.orig6.src, a6_client, 16);
	memcpy(ev.orig6.dst, a6_server, 16);
	memcpy(ev.reply6.src, a6_nat, 16);
	memcpy(ev.reply6.dst, a6_client, 16);
	assert_int_equal(nfx_rec_build(&conn, out), 2);
	assert_memory_equal(out[0].xsrc, a6_client, 16);
	assert_memory_equal(out[0].xdst, a6_nat, 16);
	assert_int_equal(out[0].sport, 50000);
	assert_int_equal(out[0].dport, 53);
	assert_int_equal(out[0].xsport, 50000);
	assert_int_equal(out[0].xdport, 5353);
	assert_int_equal(out[1].sport, 5353);
	assert_int_equal(out[1].xsport, 53);
}

static void test_build_other_proto(void **state)
{
	struct nfx_rec out[2];

	(void)state;
	/* any protocol is exported, its ports as decoded (none for GRE) */
	conn4(47, IP4(192, 0, 2, 10), IP4(198, 51, 100, 20), 0, 0,
	      IP4(198, 51, 100, 20), IP4(203, 0, 113, 1), 0, 0);
	assert_int_equal(nfx_rec_build(&conn, out), 2);
	assert_int_equal(out[0].proto, 47);
	assert_addr4(out[0].xsrc, 203, 0, 113, 1);
	assert_int_equal(out[0].sport, 0);
	assert_int_equal(out[0].icmp_type_code, 0);
	assert_int_equal(out[1].proto, 47);
	assert_int_equal(out[1].packets, 4);
	conn4(IPPROTO_SCTP, IP4(192, 0, 2, 10), IP4(198, 51, 100, 20), 1, 2,
	      IP4(198, 51, 100, 20), IP4(192, 0, 2, 10), 2, 1);
	assert_int_equal(nfx_rec_build(&conn, out), 2);
	assert_int_equal(out[0].sport, 1);
	assert_int_equal(out[0].dport, 2);
	assert_int_equal(out[1].sport, 2);
	assert_int_equal(out[1].xdport, 1);
	/* a NAT event is not traffic */
	conn.kind = FLOW_KIND_NAT_CREATE;
	assert_int_equal(nfx_rec_build(&conn, out), 0);
	conn.kind = FLOW_KIND_NAT_DELETE;
	assert_int_equal(nfx_rec_build(&conn, out), 0);
}

/* Built records encode to the bytes written by hand. */
static void test_build_then_encode(void **state)
{
	struct nfx_rec out[2];
	struct nfx_msg m;

	(void)state;
	conn4(IPPROTO_TCP, IP4(192, 0, 2, 10), IP4(198, 51, 100, 20), 40000,
	      443, IP4(198, 51, 100, 20), IP4(203, 0, 113, 1), 443, 61000);
	conn.orig_packets = 10;
	conn.orig_bytes = 1500;
	conn.tcp_flags = 0x13;
	conn.rtcp_flags = 0x12;
	ev.zone = 5;
	assert_int_equal(nfx_rec_build(&conn, out), 2);
	assert_int_equal(out[0].tcp_flags, 0x13);
	assert_int_equal(out[1].tcp_flags, 0x12);
	assert_int_equal(out[1].zone, 5);
	nfx_begin(&m, NFX_VERSION_V9, false, false);
	assert_true(nfx_add(&m, &out[0]));
	nfx_finish(&m, &hdr);
	assert_memory_equal(m.buf + 24, v9_data + 24, 67);
}

/* A NAT event of the connection in conn (conn4): create or delete. */
static void as_event(enum flow_kind kind)
{
	conn.kind = kind;
	conn.event_real_ms = 1700000005456ull;
}

/* natEvent under each numbering, and the record's fields. */
static void test_event_build(void **state)
{
	struct nfx_rec r;

	(void)state;
	conn4(IPPROTO_TCP, IP4(192, 0, 2, 10), IP4(198, 51, 100, 20), 40000,
	      443, IP4(198, 51, 100, 20), IP4(203, 0, 113, 1), 443, 61000);
	ev.zone = 3;
	as_event(FLOW_KIND_NAT_CREATE);
	memset(&r, 0xAB, sizeof(r));
	assert_true(nfx_event_build(&conn, NFX_NAT_RFC8158, &r));
	assert_int_equal(r.kind, NFX_KIND_NAT);
	assert_int_equal(r.nat_event, 4);	/* NAT44 session create */
	assert_int_equal(r.family, AF_INET);
	assert_int_equal(r.proto, IPPROTO_TCP);
	assert_addr4(r.src, 192, 0, 2, 10);
	assert_addr4(r.dst, 198, 51, 100, 20);
	assert_addr4(r.xsrc, 203, 0, 113, 1);
	assert_addr4(r.xdst, 198, 51, 100, 20);
	assert_int_equal(r.sport, 40000);
	assert_int_equal(r.dport, 443);
	assert_int_equal(r.xsport, 61000);
	assert_int_equal(r.xdport, 443);
	assert_int_equal(r.zone, 3);
	assert_int_equal(r.start_ms, 1700000000123ull);
	assert_int_equal(r.event_ms, 1700000005456ull);
	assert_int_equal(r.packets, 0);
	assert_int_equal(r.octets, 0);
	assert_int_equal(r.tcp_flags, 0);
	assert_int_equal(r.icmp_type_code, 0);
	assert_true(nfx_event_build(&conn, NFX_NAT_LEGACY, &r));
	assert_int_equal(r.nat_event, 1);
	as_event(FLOW_KIND_NAT_DELETE);
	assert_true(nfx_event_build(&conn, NFX_NAT_RFC8158, &r));
	assert_int_equal(r.nat_event, 5);	/* NAT44 session delete */
	assert_true(nfx_event_build(&conn, NFX_NAT_LEGACY, &r));
	assert_int_equal(r.nat_event, 2);
	/* off, or traffic: no event */
	assert_false(nfx_event_build(&conn, NFX_NAT_OFF, &r));
	conn.kind = FLOW_KIND_TRAFFIC;
	assert_false(nfx_event_build(&conn, NFX_NAT_RFC8158, &r));
	assert_false(nfx_event_build(&conn, NFX_NAT_LEGACY, &r));

	/* IPv6: RFC 8158 has no NAT66 value; 1 and 2 under both */
	conn4(IPPROTO_TCP, 0, 0, 50000, 53, 0, 0, 5353, 50000);
	ev.family = AF_INET6;
	memcpy(ev.orig6.src, a6_client, 16);
	memcpy(ev.orig6.dst, a6_server, 16);
	memcpy(ev.reply6.src, a6_nat, 16);
	memcpy(ev.reply6.dst, a6_client, 16);
	as_event(FLOW_KIND_NAT_CREATE);
	assert_true(nfx_event_build(&conn, NFX_NAT_RFC8158, &r));
	assert_int_equal(r.nat_event, 1);
	assert_int_equal(r.family, AF_INET6);
	assert_memory_equal(r.src, a6_client, 16);
	assert_memory_equal(r.xdst, a6_nat, 16);
	assert_int_equal(r.xdport, 5353);
	assert_true(nfx_event_build(&conn, NFX_NAT_LEGACY, &r));
	assert_int_equal(r.nat_event, 1);
	as_event(FLOW_KIND_NAT_DELETE);
	assert_true(nfx_event_build(&conn, NFX_NAT_RFC8158, &r));
	assert_int_equal(r.nat_event, 2);
	assert_true(nfx_event_build(&conn, NFX_NAT_LEGACY, &r));
	assert_int_equal(r.nat_event, 2);
}

/* ICMP: the id NAT translated takes the place of the source ports. */
static void test_event_build_icmp(void **state)
{
	struct nfx_rec r;

	(void)state;
	conn4(IPPROTO_ICMP, IP4(192, 0, 2, 10), IP4(198, 51, 100, 20),
	      0x1234, 8 << 8, IP4(198, 51, 100, 20), IP4(203, 0, 113, 1),
	      0x5678, 0 << 8);
	as_event(FLOW_KIND_NAT_CREATE);
	assert_true(nfx_event_build(&conn, NFX_NAT_RFC8158, &r));
	assert_int_equal(r.nat_event, 4);
	assert_int_equal(r.sport, 0x1234);
	assert_int_equal(r.xsport, 0x5678);
	assert_int_equal(r.dport, 0);
	assert_int_equal(r.xdport, 0);
	assert_int_equal(r.icmp_type_code, 0);
	assert_addr4(r.xsrc, 203, 0, 113, 1);

	conn4(IPPROTO_ICMPV6, 0, 0, 0x4321, 128 << 8, 0, 0, 0x8765,
	      129 << 8);
	ev.family = AF_INET6;
	memcpy(ev.orig6.src, a6_client, 16);
	memcpy(ev.orig6.dst, a6_server, 16);
	memcpy(ev.reply6.src, a6_server, 16);
	memcpy(ev.reply6.dst, a6_nat, 16);
	as_event(FLOW_KIND_NAT_DELETE);
	assert_true(nfx_event_build(&conn, NFX_NAT_LEGACY, &r));
	assert_int_equal(r.nat_event, 2);
	assert_int_equal(r.sport, 0x4321);
	assert_int_equal(r.xsport, 0x8765);
	assert_int_equal(r.dport, 0);
	assert_int_equal(r.xdport, 0);
	assert_memory_equal(r.xsrc, a6_nat, 16);
}

/* An IPFIX message with one NAT44 event, written by hand. */
static const uint8_t ipfix_nat4[] = {
	0x00, 0x0A,			/* version 10 */
	0x00, 0x4C,			/* length 76 */
	0x65, 0x53, 0xF1, 0x06,		/* export time */
	0x00, 0x00, 0x00, 0x07,		/* sequence */
	0x01, 0x02, 0x03, 0x04,		/* observation domain */
	0x01, 0x08,			/* set 264 */
	0x00, 0x3C,			/* length 60 = 4 + 54 + 2 */
	0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x7D, 0x50,	/* observed 1700000005456 */
	0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x7B,	/* start 1700000000123 */
	0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x7D, 0x50,	/* end: the event's time */
	0x05,				/* natEvent: NAT44 session delete */
	0x06,				/* protocol TCP */
	0xC0, 0x00, 0x02, 0x0A,		/* src 192.0.2.10 */
	0xC6, 0x33, 0x64, 0x14,		/* dst 198.51.100.20 */
	0x9C, 0x40,			/* sport 40000 */
	0x01, 0xBB,			/* dport 443 */
	0xCB, 0x00, 0x71, 0x01,		/* post-NAT src 203.0.113.1 */
	0xC6, 0x33, 0x64, 0x14,		/* post-NAT dst 198.51.100.20 */
	0xEE, 0x48,			/* post-NAT sport 61000 */
	0x01, 0xBB,			/* post-NAT dport 443 */
	0x00, 0x00, 0x00, 0x03,		/* ingressVRFID: zone 3 */
	0x00, 0x00,			/* padding */
};

static void test_event_encode(void **state)
{
	struct nfx_msg m;
	struct nfx_rec r;
	size_t n;

	(void)state;
	conn4(IPPROTO_TCP, IP4(192, 0, 2, 10), IP4(198, 51, 100, 20), 40000,
	      443, IP4(198, 51, 100, 20), IP4(203, 0, 113, 1), 443, 61000);
	ev.zone = 3;
	as_event(FLOW_KIND_NAT_DELETE);
	assert_true(nfx_event_build(&conn, NFX_NAT_RFC8158, &r));
	/* the same template with or without interfaces */
	nfx_begin(&m, NFX_VERSION_IPFIX, true, false);
	assert_true(nfx_add(&m, &r));
	n = nfx_finish(&m, &hdr);
	assert_int_equal(n, sizeof(ipfix_nat4));
	assert_memory_equal(m.buf, ipfix_nat4, n);
	assert_int_equal(m.records, 1);
	nfx_begin(&m, NFX_VERSION_V9, false, false);
	assert_true(nfx_add(&m, &r));
	assert_true(nfx_add(&m, &r));	/* one set for both */
	n = nfx_finish(&m, &hdr);
	assert_int_equal(n, 20 + 4 + 2 * 54);
	assert_int_equal(m.buf[3], 2);
	assert_memory_equal(m.buf + 20, ipfix_nat4 + 16, 2);	/* set 264 */
	assert_int_equal(m.buf[22] << 8 | m.buf[23], 112);
	assert_memory_equal(m.buf + 24, ipfix_nat4 + 20, 54);
	assert_memory_equal(m.buf + 24 + 54, ipfix_nat4 + 20, 54);

	/* IPv6: set 265 of 102-byte records; a traffic record after it opens
	 * its own set */
	conn4(IPPROTO_TCP, 0, 0, 50000, 53, 0, 0, 5353, 50000);
	ev.family = AF_INET6;
	memcpy(ev.orig6.src, a6_client, 16);
	memcpy(ev.orig6.dst, a6_server, 16);
	memcpy(ev.reply6.src, a6_nat, 16);
	memcpy(ev.reply6.dst, a6_client, 16);
	as_event(FLOW_KIND_NAT_CREATE);
	assert_true(nfx_event_build(&conn, NFX_NAT_RFC8158, &r));
	nfx_begin(&m, NFX_VERSION_IPFIX, false, false);
	assert_true(nfx_add(&m, &r));
	rec_snat_orig(&r);
	assert_true(nfx_add(&m, &r));
	n = nfx_finish(&m, &hdr);
	assert_int_equal(n, 16 + 108 + 72);
	assert_int_equal(m.buf[16] << 8 | m.buf[17], 265);
	assert_int_equal(m.buf[18] << 8 | m.buf[19], 108);	/* 4 + 102 + 2 */
	assert_int_equal(m.buf[20 + 24], 0x01);		/* natEvent */
	assert_int_equal(m.buf[20 + 25], IPPROTO_TCP);
	assert_memory_equal(m.buf + 20 + 26, a6_client, 16);
	assert_memory_equal(m.buf + 20 + 26 + 32 + 4 + 16, a6_nat, 16);
	assert_int_equal(m.buf[124] << 8 | m.buf[125], 260);
	assert_int_equal(m.records, 2);
}

/* The options data of one message, written by hand (after the template
 * sets): sampling, statistics, the exporting process, two interface
 * names. */
static const uint8_t options_data[] = {
	0x01, 0x0A, 0x00, 0x14,		/* set 266, length 20 */
	0x0A, 0x0B, 0x0C, 0x0D,		/* observation domain */
	0x00, 0x00, 0x00, 0x01,		/* samplingInterval 1 */
	0x00, 0x00, 0x00, 0x01,		/* samplingPacketInterval 1 */
	0x00, 0x00, 0x00, 0x00,		/* samplingPacketSpace 0 */
	0x01, 0x0C, 0x00, 0x20,		/* set 268, length 32 */
	0x0A, 0x0B, 0x0C, 0x0D,		/* observation domain */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xE8,	/* messages 1000 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x13, 0x88,	/* records 5000 */
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,	/* octets */
	0x01, 0x0D, 0x00, 0x14,		/* set 269, length 20 */
	0x0A, 0x0B, 0x0C, 0x0D,		/* observation domain */
	0x00, 0x00, 0x30, 0x39,		/* exportingProcessId 12345 */
	0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x7B,	/* started 1700000000123 */
	0x01, 0x0B, 0x00, 0x6C,		/* set 267, length 108 = 4 + 2 * 52 */
	0x00, 0x00, 0x00, 0x03,		/* ifIndex 3 */
	'e', 't', 'h', '0', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	'u', 'p', 'l', 'i', 'n', 'k', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0x00, 0x00, 0x00, 0x07,		/* ifIndex 7 */
	/* a name of the whole 16 bytes: no terminator */
	'w', 'a', 'n', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a',
	'b', 'c',
	/* a description cut at 32 bytes */
	'a', ' ', 'd', 'e', 's', 'c', 'r', 'i', 'p', 't', 'i', 'o', 'n', ' ',
	't', 'h', 'a', 't', ' ', 'd', 'o', 'e', 's', ' ', 'n', 'o', 't', ' ',
	'f', 'i', 't', ' ',
};

static const struct nfx_ifname two_ifs[] = {
	{ 3, "eth0", "uplink" },
	{ 7, { 'w', 'a', 'n', '0', '1', '2', '3', '4', '5', '6', '7', '8',
	       '9', 'a', 'b', 'c' },
	  { 'a', ' ', 'd', 'e', 's', 'c', 'r', 'i', 'p', 't', 'i', 'o', 'n',
	    ' ', 't', 'h', 'a', 't', ' ', 'd', 'o', 'e', 's', ' ', 'n', 'o',
	    't', ' ', 'f', 'i', 't', ' ' } },
};

static void test_add_options(void **state)
{
	struct nfx_options o = {
		.domain = 0x0A0B0C0D, .messages = 1000, .records = 5000,
		.octets = 0x1122334455667788ull, .ifs = two_ifs, .nifs = 2,
		.process_id = 12345, .init_ms = 1700000000123ull,
	};
	struct nfx_msg m;
	size_t n;

	(void)state;
	nfx_begin(&m, NFX_VERSION_V9, false, true);
	assert_int_equal(nfx_add_options(&m, &o), 2);
	n = nfx_finish(&m, &hdr);
	assert_int_equal(n, sizeof(v9_templates) + sizeof(options_data));
	assert_memory_equal(m.buf + 20, v9_templates + 20,
			    sizeof(v9_templates) - 20);
	assert_memory_equal(m.buf + sizeof(v9_templates), options_data,
			    sizeof(options_data));
	assert_int_equal(m.opt_records, 5);
	assert_int_equal(m.records, 0);
	assert_int_equal(m.count, 8 + 5);
	assert_int_equal(m.buf[3], 13);

	nfx_begin(&m, NFX_VERSION_IPFIX, true, true);
	assert_int_equal(nfx_add_options(&m, &o), 2);
	n = nfx_finish(&m, &hdr);
	assert_int_equal(n, sizeof(ipfix_templates_if) + sizeof(options_data));
	assert_int_equal(m.buf[2] << 8 | m.buf[3], n);
	assert_memory_equal(m.buf + 4, ipfix_templates_if + 4,
			    sizeof(ipfix_templates_if) - 4);
	assert_memory_equal(m.buf + sizeof(ipfix_templates_if), options_data,
			    sizeof(options_data));
	assert_int_equal(m.opt_records, 5);
	assert_int_equal(m.records, 0);

	/* no interfaces: sampling, statistics and the process only */
	o.nifs = 0;
	nfx_begin(&m, NFX_VERSION_V9, false, true);
	assert_int_equal(nfx_add_options(&m, &o), 0);
	assert_int_equal(m.opt_records, 3);
	n = nfx_finish(&m, &hdr);
	assert_int_equal(n, sizeof(v9_templates) + 72);
	assert_memory_equal(m.buf + sizeof(v9_templates), options_data, 72);
}

/* More interfaces than fit: as many as fit go in, the count says how
 * many, and the message stays within the limit; records after them are
 * refused or fit, never overflow. */
static void test_add_options_full(void **state)
{
	static const uint8_t versions[] = { NFX_VERSION_V9, NFX_VERSION_IPFIX };
	struct nfx_ifname ifs[40];
	struct nfx_options o = { .domain = 1, .ifs = ifs, .nifs = 40 };
	struct nfx_msg m;
	struct nfx_rec r;
	unsigned v, withif, got, i;
	size_t start, n;

	(void)state;
	memset(ifs, 0, sizeof(ifs));
	for (i = 0; i < 40; i++) {
		ifs[i].index = i + 1;
		snprintf(ifs[i].name, sizeof(ifs[i].name), "if%u", i + 1);
	}
	for (v = 0; v < 2; v++)
	for (withif = 0; withif < 2; withif++) {
		nfx_begin(&m, versions[v], withif, true);
		start = m.len;
		got = nfx_add_options(&m, &o);
		/* sampling 20, statistics 32, process 20, a set header,
		 * 52 per name */
		assert_int_equal(got, (NFX_MAX_DATAGRAM - start - 76) / 52);
		assert_true(got < 40);
		assert_int_equal(m.opt_records, 3 + got);
		assert_int_equal(m.len, start + 76 + 52 * got);
		assert_true(m.len + 52 > NFX_MAX_DATAGRAM);
		/* the names went in from the first, in order */
		assert_int_equal(m.buf[start + 76 + 3], 1);
		assert_int_equal(m.buf[start + 76 + 52 * (got - 1) + 3], got);
		/* the rest, from where it stopped, in another message */
		rec_snat_orig(&r);
		while (nfx_add(&m, &r))
			;
		r.kind = NFX_KIND_NAT;
		while (nfx_add(&m, &r))
			;
		n = nfx_finish(&m, &hdr);
		assert_true(n <= NFX_MAX_DATAGRAM);
		assert_int_equal(n % 4, 0);
		if (versions[v] == NFX_VERSION_V9)
			assert_int_equal(m.buf[2] << 8 | m.buf[3],
					 8 + m.opt_records + m.records);
		else
			assert_int_equal(m.buf[2] << 8 | m.buf[3], n);

		o.ifs = ifs + got;
		o.nifs = 40 - got;
		nfx_begin(&m, versions[v], withif, true);
		assert_int_equal(nfx_add_options(&m, &o), o.nifs < got ? o.nifs : got);
		assert_int_equal(m.buf[m.len - 52 * (o.nifs < got ? o.nifs : got) + 3],
				 got + 1);
		o.ifs = ifs;
		o.nifs = 40;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template_set_v9),
		cmocka_unit_test(test_template_set_ipfix_if),
		cmocka_unit_test(test_template_set_cross),
		cmocka_unit_test(test_options_template_sets),
		cmocka_unit_test(test_data_v9),
		cmocka_unit_test(test_data_ipfix_if),
		cmocka_unit_test(test_sets_count_sequence),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_fill_exactly),
		cmocka_unit_test(test_set_header_counted),
		cmocka_unit_test(test_fill_all_variants),
		cmocka_unit_test(test_build_snat),
		cmocka_unit_test(test_build_dnat),
		cmocka_unit_test(test_build_no_nat),
		cmocka_unit_test(test_build_unanswered_udp),
		cmocka_unit_test(test_build_icmp_echo),
		cmocka_unit_test(test_build_icmpv6),
		cmocka_unit_test(test_build_tcp6),
		cmocka_unit_test(test_build_other_proto),
		cmocka_unit_test(test_build_then_encode),
		cmocka_unit_test(test_event_build),
		cmocka_unit_test(test_event_build_icmp),
		cmocka_unit_test(test_event_encode),
		cmocka_unit_test(test_add_options),
		cmocka_unit_test(test_add_options_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

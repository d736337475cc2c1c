/* UDP: datagrams for open ports go to their service; closed ports answer
 * ICMP port unreachable the way the persona does (nmap's U1 probe):
 * whether at all, how much of the datagram is quoted, DF, TOS, how the
 * quote is mangled, and how fast (a per-decky token bucket; Linux's one
 * per second, Cisco's one per 500 ms are what `nmap -sU` notices).
 */
#include "stack/stk_tcp_int.h"
#include "stack/stk_frag.h"

#include <errno.h>
#include <string.h>

static void port_unreachable(struct stk_ctx *ctx, struct stk_host *h, const uint8_t *f, const uint8_t *ip,
			     unsigned hlen, unsigned tot_len)
{
	const struct stk_tcp_policy *p = stk_host_tcp_policy(h);
	const struct stk_unreach_rule *r = &p->unreach;
	if (!r->respond) {
		ctx->cnt.drop_udp_closed++;
		return;
	}
	if (!stk_bucket_take(&h->gen.unreach, ctx->now_ns, r->rate_per_s, r->burst)) {
		ctx->cnt.drop_udp_unreach_ratelimit++;
		return;
	}
	/* RFC 792 quotes the IP header and 8 bytes; RFC 1812 allows up to 576
	 * bytes in all, which is what most stacks send. */
	unsigned quote = r->quote_max > 28 ? r->quote_max - 28u : 0;
	if (quote < hlen + STK_UDP_HLEN)
		quote = hlen + STK_UDP_HLEN;
	if (quote > tot_len)
		quote = tot_len;
	struct stk_pkt *out = stk_l4_tx_take(ctx);
	if (!out)
		return;
	unsigned icmp_len = STK_ICMP_HLEN + quote;
	uint8_t *icmp = stk_l4_ip_header(out, h, f + STK_ETH_O_SRC, stk_load_raw32(ip + STK_IP4_O_SRC),
					 STK_IPPROTO_ICMP, icmp_len, stk_ipid_next(h, STK_IPID_ICMP, ctx->now_ns), r->df,
					 r->tos);
	if (r->ttl || r->ipl_field) {
		uint8_t *oip = icmp - STK_IP4_MIN_HLEN;
		if (r->ttl)
			oip[STK_IP4_O_TTL] = r->ttl;
		if (r->ipl_field)
			stk_put_be16(oip + STK_IP4_O_LEN, r->ipl_field);
		stk_put_be16(oip + STK_IP4_O_CSUM, 0);
		stk_put_be16(oip + STK_IP4_O_CSUM, stk_csum(oip, STK_IP4_MIN_HLEN));
	}
	icmp[STK_ICMP_O_TYPE] = STK_ICMP_UNREACH;
	icmp[STK_ICMP_O_CODE] = STK_ICMP_PORT_UNREACH;
	memset(icmp + STK_ICMP_O_CSUM, 0, 2);
	stk_put_be32(icmp + 4, r->un); /* the "unused" word (nmap UN) */
	uint8_t *q = icmp + STK_ICMP_HLEN;
	memcpy(q, ip, quote);
	/* How the quote is mangled (nmap RIPL, RID, RIPCK, RUCK, RUD): some
	 * stacks quote the header after their own byte-order conversions. */
	if (r->ripl || r->rid_set) {
		if (r->ripl)
			stk_put_be16(q + STK_IP4_O_LEN, r->ripl);
		if (r->rid_set)
			stk_put_be16(q + STK_IP4_O_ID, r->rid);
		if (!r->ripck_bad) { /* the stack recomputed its copy's checksum */
			stk_put_be16(q + STK_IP4_O_CSUM, 0);
			stk_put_be16(q + STK_IP4_O_CSUM, stk_csum(q, hlen));
		}
	} else if (r->ripck_bad) {
		uint16_t bad = (uint16_t)(stk_be16(q + STK_IP4_O_CSUM) + 1);
		stk_put_be16(q + STK_IP4_O_CSUM, bad ? bad : 1);
	}
	if (r->ripck_zero)
		memset(q + STK_IP4_O_CSUM, 0, 2);
	if ((r->ruck_zero || r->ruck_set) && quote >= hlen + STK_UDP_HLEN)
		stk_put_be16(q + hlen + 6, r->ruck_set ? r->ruck : 0);
	if (r->rud_zero && quote > hlen + STK_UDP_HLEN)
		memset(q + hlen + STK_UDP_HLEN, 0, quote - hlen - STK_UDP_HLEN);
	stk_put_be16(icmp + STK_ICMP_O_CSUM, stk_csum(icmp, icmp_len));
	stk_l4_tx_put(ctx, out);
	ctx->cnt.icmp_unreach_sent++;
}

void stk_udp_input(struct stk_ctx *ctx, const struct stk_pkt *p, struct stk_host *h, const uint8_t *ip,
		   unsigned hlen, unsigned tot_len)
{
	const uint8_t *f = p->data; /* the frame (of the last fragment, for a reassembled datagram) */
	struct stk_tcp *t = ctx->tcp;
	if (!t) {
		ctx->cnt.drop_ip_proto++;
		return;
	}
	const uint8_t *udp = ip + hlen;
	unsigned len = tot_len - hlen;
	if (len < STK_UDP_HLEN) {
		ctx->cnt.drop_udp_short++;
		return;
	}
	unsigned ulen = stk_be16(udp + 4);
	if (ulen < STK_UDP_HLEN || ulen > len) {
		ctx->cnt.drop_udp_len++;
		return;
	}
	uint32_t rip = stk_load_raw32(ip + STK_IP4_O_SRC);
	/* 0: the sender computed none; CSUM_PARTIAL: the kernel left it to a
	 * NIC (a local sender), see stk_pkt.h. */
	if (stk_be16(udp + 6) && !(p->flags & STK_PKT_CSUM_PARTIAL)) {
		if (!stk_l4_csum_ok(udp, ulen, rip, h->ip_raw, STK_IPPROTO_UDP)) {
			ctx->cnt.drop_udp_csum++;
			return;
		}
	}
	ctx->cnt.udp_rx++;
	uint16_t sport = stk_be16(udp), dport = stk_be16(udp + 2);
	stk_l4_event(ctx, STK_EV_UDP, p, h, f, ip, sport, dport, ulen - STK_UDP_HLEN);
	/* TCP's output (t->tx) points at this burst's answers
	 * (stk_input_burst). */
	const struct stk_listener *l = dport ? stk_listen_find(t, h->ip_raw, STK_IPPROTO_UDP, dport) : NULL;
	if (l) {
		ctx->cnt.udp_delivered++;
		if (l->svc->datagram) {
			struct stk_udp_dgram d = {
				.host = h,
				.peer_ip_raw = rip,
				.peer_port = sport,
				.local_port = dport,
				.data = udp + STK_UDP_HLEN,
				.len = ulen - STK_UDP_HLEN,
				.peer_mac = f + STK_ETH_O_SRC,
				.ttl = ip[STK_IP4_O_TTL],
			};
			l->svc->datagram(ctx, &d, l->arg);
		}
		stk_tcp_flush_pending(ctx); /* a service may have written to TCP */
	} else {
		port_unreachable(ctx, h, f, ip, hlen, tot_len);
	}
}

/* A datagram larger than the link: built whole in the reassembly scratch
 * buffer and sent in fragments (DF clear), as the host's own stack would. */
static int udp_reply_fragmented(struct stk_ctx *ctx, const struct stk_udp_dgram *d, const void *data,
				unsigned len)
{
	struct stk_tcp *t = ctx->tcp;
	struct stk_host *h = d->host;
	unsigned ulen = STK_UDP_HLEN + len;
	if (!t->tx || ulen > 65535u - STK_IP4_MIN_HLEN)
		return -EMSGSIZE;
	uint8_t *udp = stk_frag_scratch(ctx);
	stk_put_be16(udp, d->local_port);
	stk_put_be16(udp + 2, d->peer_port);
	stk_put_be16(udp + 4, (uint16_t)ulen);
	stk_put_be16(udp + 6, 0);
	memcpy(udp + STK_UDP_HLEN, data, len);
	uint16_t c = stk_csum_fold(stk_csum_add(stk_l4_pseudo(h->ip_raw, d->peer_ip_raw, STK_IPPROTO_UDP, ulen),
						udp, ulen));
	stk_put_be16(udp + 6, c ? c : 0xffff);
	uint8_t hdr[STK_IP4_MIN_HLEN] = {0x45};
	stk_put_be16(hdr + STK_IP4_O_ID, stk_ipid_next(h, STK_IPID_TCP, ctx->now_ns));
	hdr[STK_IP4_O_TTL] = h->policy.ttl;
	hdr[STK_IP4_O_PROTO] = STK_IPPROTO_UDP;
	memcpy(hdr + STK_IP4_O_SRC, &h->ip_raw, 4);
	memcpy(hdr + STK_IP4_O_DST, &d->peer_ip_raw, 4);
	if (!stk_frag_output(ctx, h, d->peer_mac, hdr, udp, ulen, t->tx, t->tx_cap, t->n_tx))
		return -ENOBUFS;
	ctx->cnt.udp_replies++;
	return 0;
}

int stk_udp_reply(struct stk_ctx *ctx, const struct stk_udp_dgram *d, const void *data, unsigned len)
{
	struct stk_tcp *t = ctx->tcp;
	if (len + STK_IP4_MIN_HLEN + STK_UDP_HLEN > t->cfg.mtu)
		return ctx->frag ? udp_reply_fragmented(ctx, d, data, len) : -EMSGSIZE;
	struct stk_pkt *out = stk_l4_tx_take(ctx);
	if (!out)
		return -ENOBUFS;
	struct stk_host *h = d->host;
	unsigned ulen = STK_UDP_HLEN + len;
	uint8_t *udp = stk_l4_ip_header(out, h, d->peer_mac, d->peer_ip_raw, STK_IPPROTO_UDP, ulen,
					stk_ipid_next(h, STK_IPID_TCP, ctx->now_ns), stk_host_tcp_policy(h)->df_flow, 0);
	stk_put_be16(udp, d->local_port);
	stk_put_be16(udp + 2, d->peer_port);
	stk_put_be16(udp + 4, (uint16_t)ulen);
	stk_put_be16(udp + 6, 0);
	memcpy(udp + STK_UDP_HLEN, data, len);
	uint16_t c = stk_csum_fold(stk_csum_add(stk_l4_pseudo(h->ip_raw, d->peer_ip_raw, STK_IPPROTO_UDP, ulen),
						udp, ulen));
	stk_put_be16(udp + 6, c ? c : 0xffff); /* 0 would mean "no checksum" */
	stk_l4_tx_put(ctx, out);
	ctx->cnt.udp_replies++;
	return 0;
}

/* http: a minimal web server. Reads the request head (up to the blank
 * line), answers Apache's default page, and closes, as an HTTP/1.1
 * server does after "Connection: close". HEAD gets the headers only; a
 * head longer than 16 KiB gets 431 and the connection is closed.
 *
 * Per-connection state is the socket's 64-bit scratch word:
 *   bits 0-31  the last four bytes seen (to spot CRLF CRLF across segments)
 *   bits 32-47 bytes of request head seen so far (saturating)
 *   bit  48    the request is a HEAD
 *   bit  49    answered: anything further is read and discarded
 *
 * The page and the Server header are the same on every decky for now;
 * the http persona keys (server_header, response_code, fake_app) come
 * with the full responder.
 */
#include "protocols/proto.h"

#include <string.h>

#define HTTP_HEAD_MAX 16384u
#define ST_HEAD (1ull << 48)
#define ST_DONE (1ull << 49)

static const char page[] = "<html><body><h1>It works!</h1></body></html>\n";
#define STR(x) #x
#define XSTR(x) STR(x)
#define PAGE_LEN 45
_Static_assert(sizeof(page) - 1 == PAGE_LEN, "Content-Length below must match the page");

static const char ok_head[] = "HTTP/1.1 200 OK\r\n"
			      "Server: Apache/2.4.57 (Debian)\r\n"
			      "Last-Modified: Mon, 10 Jul 2023 09:12:41 GMT\r\n"
			      "ETag: \"2d-600201d0e4a40\"\r\n"
			      "Accept-Ranges: bytes\r\n"
			      "Content-Length: " XSTR(PAGE_LEN) "\r\n"
			      "Connection: close\r\n"
			      "Content-Type: text/html\r\n"
			      "\r\n";

static const char too_large[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
				"Server: Apache/2.4.57 (Debian)\r\n"
				"Content-Length: 0\r\n"
				"Connection: close\r\n"
				"\r\n";

static void answer(struct stk_ctx *ctx, struct stk_tcp_sock *s, const char *head, unsigned head_len,
		   bool body)
{
	/* Both fit the send queue of a fresh connection (64 KiB); if a tight
	 * pool takes less, the rest is cut: the client sees a short reply. */
	stk_tcp_send(ctx, s, head, head_len);
	if (body)
		stk_tcp_send(ctx, s, page, PAGE_LEN);
	stk_tcp_close(ctx, s);
}

static unsigned http_recv(struct stk_ctx *ctx, struct stk_tcp_sock *s, const uint8_t *data, unsigned len)
{
	uint64_t *st = stk_tcp_sock_scratch(s);
	if (*st & ST_DONE)
		return len;
	uint32_t last4 = (uint32_t)*st;
	uint64_t seen = (*st >> 32) & 0xffff;
	if (!seen && len && data[0] == 'H' && (len < 5 || memcmp(data, "HEAD ", 5) == 0))
		*st |= ST_HEAD;
	for (unsigned i = 0; i < len; i++) {
		last4 = last4 << 8 | data[i];
		if (++seen > HTTP_HEAD_MAX) {
			*st |= ST_DONE;
			answer(ctx, s, too_large, sizeof(too_large) - 1, false);
			return len;
		}
		if (last4 == 0x0d0a0d0a) {
			*st |= ST_DONE;
			answer(ctx, s, ok_head, sizeof(ok_head) - 1, !(*st & ST_HEAD));
			return len;
		}
	}
	*st = (*st & (ST_HEAD | ST_DONE)) | seen << 32 | last4;
	return len;
}

static void http_peer_closed(struct stk_ctx *ctx, struct stk_tcp_sock *s)
{
	stk_tcp_close(ctx, s);
}

const struct stk_service proto_http_service = {
	.name = "http",
	.recv = http_recv,
	.peer_closed = http_peer_closed,
};

#!/usr/bin/python3
"""DECNET http service: persona from the environment.

SERVER_HEADER  Server: value (default "Apache/2.4.57 (Debian)")
RESPONSE_CODE  status for every request (default 200)
FAKE_APP       "wordpress" gives a WordPress-looking page, else a default page
HTTP_PORT      listening port (default 80)
"""
import json, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVER = os.environ.get("SERVER_HEADER", "Apache/2.4.57 (Debian)")
CODE = int(os.environ.get("RESPONSE_CODE", "200") or 200)
APP = os.environ.get("FAKE_APP", "")
PAGES = {
    "wordpress": b"<!DOCTYPE html><html><head><meta name=\"generator\" content=\"WordPress 6.4.2\">"
                 b"<title>Intranet</title></head><body><h1>Intranet</h1>"
                 b"<a href=\"/wp-login.php\">Log in</a></body></html>\n",
}
DEFAULT = b"<html><body><h1>It works!</h1></body></html>\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = SERVER
    sys_version = ""

    def version_string(self):
        return SERVER

    def _answer(self, body=True):
        page = PAGES.get(APP, DEFAULT)
        self.send_response(CODE)
        self.send_header("Content-Type", "text/html; charset=UTF-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        if body:
            self.wfile.write(page)

    def do_GET(self):
        self._answer()

    def do_POST(self):
        n = min(int(self.headers.get("Content-Length", "0") or 0), 65536)
        self.log_event(body=self.rfile.read(n)[:512].decode("latin-1"))
        self._answer()

    def do_HEAD(self):
        self._answer(body=False)

    def log_event(self, **extra):
        rec = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "service": "http",
               "src_ip": self.client_address[0], "src_port": self.client_address[1],
               "method": self.command, "path": self.path,
               "user_agent": self.headers.get("User-Agent", ""), **extra}
        sys.stdout.write(json.dumps(rec) + "\n")
        sys.stdout.flush()

    def log_message(self, fmt, *args):
        if self.command != "POST":
            self.log_event()


if __name__ == "__main__":
    port = int(os.environ.get("HTTP_PORT", "80"))
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()

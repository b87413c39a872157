#!/usr/bin/env python3
"""regress/lib/record_proxy.py PORTFILE LOGFILE: an HTTP proxy for browser
tests that records every request it is asked for (one "METHOD TARGET" line
each, CONNECT included) and forwards only plain HTTP to 127.0.0.1; anything
else is refused.  It binds a free loopback port and writes it to PORTFILE.
"""
import http.client
import http.server
import sys
import urllib.parse

port_file, log_file = sys.argv[1], sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def record(self):
        with open(log_file, "a") as f:
            f.write(f"{self.command} {self.path}\n")

    def do_CONNECT(self):
        self.record()
        self.send_error(403, "not forwarded")

    def do_GET(self):
        self.record()
        u = urllib.parse.urlsplit(self.path)
        if u.scheme != "http" or u.hostname != "127.0.0.1":
            self.send_error(403, "not forwarded")
            return
        c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
        c.request("GET", (u.path or "/") + ("?" + u.query if u.query else ""), headers=headers)
        r = c.getresponse()
        body = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_POST = do_GET

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()

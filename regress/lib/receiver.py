#!/usr/bin/env python3
"""The tests' stand-in for a webhook endpoint, PagerDuty or Alertmanager's
receivers: every POST is written to LOG as one line, then answered.

  receiver.py PORT LOG [--with-path] [--summary]

  --with-path  adds the request path to each JSON line as "_path"; POSTs to
               /v2/... (PagerDuty's Events API) get 202 and its JSON answer
  --summary    writes "status rule subject" instead of the JSON body

A body that is not JSON in strict UTF-8 gets 400 and is not logged.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log_path = int(sys.argv[1]), sys.argv[2]
with_path = "--with-path" in sys.argv[3:]
summary = "--summary" in sys.argv[3:]
log = open(log_path, "a", buffering=1)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            doc = json.loads(body.decode("utf-8"))
        except ValueError:
            self.send_response(400)
            self.end_headers()
            return
        if summary:
            log.write("%s %s %s\n" % (doc["status"], doc["rule"], doc["subject"]))
        else:
            if with_path:
                doc["_path"] = self.path
            log.write(json.dumps(doc) + "\n")
        if with_path and self.path.startswith("/v2"):
            self.send_response(202)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status":"success","message":"Event processed","dedup_key":"x"}')
            return
        self.send_response(200)
        self.end_headers()


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()

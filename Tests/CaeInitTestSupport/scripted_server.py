#!/usr/bin/env python3
"""An HTTP server on 127.0.0.1 that answers from a script, for the sinks' retry tests.

Usage: scripted_server.py STATUS[,STATUS...]   e.g. 503,503,200
The n-th request gets the n-th status (the last one repeats). Error statuses
carry an S3-style XML error body (SlowDown for 503, SignatureDoesNotMatch for
403, InternalError otherwise). GET /_count (not counted) answers the number of
requests received. Prints "PORT <n>" once listening.
"""
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCRIPT = [int(s) for s in sys.argv[1].split(",")]
CODES = {503: "SlowDown", 403: "SignatureDoesNotMatch", 404: "NoSuchKey", 500: "InternalError", 429: "TooManyRequests"}
LOCK = threading.Lock()
COUNT = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path == "/_count":
            body = str(COUNT[0]).encode()
            status = 200
        else:
            with LOCK:
                status = SCRIPT[min(COUNT[0], len(SCRIPT) - 1)]
                COUNT[0] += 1
            body = b""
            if status >= 300:
                code = CODES.get(status, "Error%d" % status)
                body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code><Message>scripted %d</Message><RequestId>scripted</RequestId></Error>" % (code, status)).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = handle_any


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()

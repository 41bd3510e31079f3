#!/usr/bin/env python3
"""An HTTP server on 127.0.0.1 that answers from a script, for the sinks' retry tests.

Usage: scripted_server.py STATUS[,STATUS...] [echo [TEXT]]   e.g. 503,503,200
       scripted_server.py store [slowdown=WINDOW:N]
The n-th request gets the n-th status (the last one repeats). Error statuses
carry an S3-style XML error body (SlowDown for 503, SignatureDoesNotMatch for
403, InternalError otherwise). GET /_count (not counted) answers the number of
requests received. Prints "PORT <n>" once listening.

With `echo`, error answers reflect the request as careless servers do: the
<Message> holds TEXT (as given, percent-encoded and as XML character
references), then the request's headers (x-amz-security-token and
Authorization first) and its path; the
x-amz-request-id and x-ms-request-id headers repeat the session token or TEXT.

With `store`, the server is a small object store (no signature check): a PUT
stores its body under its path (200), a GET answers it (404 NoSuchKey when
missing), a HEAD answers 200; GET /_stored (not counted) answers the number of
distinct paths stored. With `slowdown=WINDOW:N`, of every WINDOW PUT requests
the first N answer 503 SlowDown and store nothing (a service throttling bursts).
"""
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STORE = sys.argv[1] == "store"
SCRIPT = [200] if STORE else [int(s) for s in sys.argv[1].split(",")]
ECHO = len(sys.argv) > 2 and sys.argv[2] == "echo"
SLOWDOWN = None
if STORE and len(sys.argv) > 2 and sys.argv[2].startswith("slowdown="):
    window, first = sys.argv[2][len("slowdown="):].split(":")
    SLOWDOWN = (int(window), int(first))
OBJECTS = {}
PUTS = [0]
TEXT = sys.argv[3] if len(sys.argv) > 3 else ""


def xml_escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def echo_message(handler):
    """The request as a careless server reflects it, the session token first."""
    first = {"x-amz-security-token": 0, "authorization": 1}
    headers = sorted(handler.headers.items(), key=lambda kv: first.get(kv[0].lower(), 2))
    parts = []
    if TEXT:
        parts.append("text: %s, %s, %s" % (TEXT, urllib.parse.quote(TEXT, safe=""), "".join("&#%d;" % ord(c) for c in TEXT)))
    parts += ["%s: %s" % (k, v) for k, v in headers]
    parts.append("path: %s" % handler.path)
    return "; ".join(parts)
CODES = {503: "SlowDown", 403: "SignatureDoesNotMatch", 404: "NoSuchKey", 500: "InternalError", 429: "TooManyRequests"}
LOCK = threading.Lock()
COUNT = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length and not STORE:
            self.rfile.read(length)
        if self.path == "/_count":
            body = str(COUNT[0]).encode()
            status = 200
        elif STORE:
            return self.store(length)
        else:
            with LOCK:
                status = SCRIPT[min(COUNT[0], len(SCRIPT) - 1)]
                COUNT[0] += 1
            body = b""
            if status >= 300:
                code = CODES.get(status, "Error%d" % status)
                message = echo_message(self) if ECHO else "scripted %d" % status
                # The character references stay as the server wrote them: escaping the rest must not touch them.
                escaped = xml_escape(message).replace("&amp;#", "&#")
                body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code><Message>%s</Message><RequestId>scripted</RequestId></Error>" % (code, escaped)).encode()
        self.send_response(status)
        if ECHO and status >= 300:
            reflected = self.headers.get("x-amz-security-token") or TEXT or "none"
            self.send_header("x-amz-request-id", reflected)
            self.send_header("x-ms-request-id", reflected)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def store(self, length):
        data = self.rfile.read(length) if length else b""
        with LOCK:
            COUNT[0] += 1
            status, body = 200, b""
            if self.path == "/_stored":
                COUNT[0] -= 1
                body = str(len(OBJECTS)).encode()
            elif self.command == "PUT":
                number = PUTS[0]
                PUTS[0] += 1
                if SLOWDOWN and number % SLOWDOWN[0] < SLOWDOWN[1]:
                    status = 503
                else:
                    OBJECTS[self.path] = data
            elif self.command == "GET":
                if self.path in OBJECTS:
                    body = OBJECTS[self.path]
                else:
                    status = 404
        if status >= 300:
            body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code><Message>scripted %d</Message><RequestId>scripted</RequestId></Error>" % (CODES[status], status)).encode()
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

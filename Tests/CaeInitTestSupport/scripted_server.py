#!/usr/bin/env python3
"""An HTTP server on 127.0.0.1 that answers from a script, for the sinks' retry tests.

Usage: scripted_server.py STATUS[,STATUS...] [echo [TEXT]]   e.g. 503,503,200
The n-th request gets the n-th status (the last one repeats). Error statuses
carry an S3-style XML error body (SlowDown for 503, SignatureDoesNotMatch for
403, InternalError otherwise). GET /_count (not counted) answers the number of
requests received. Prints "PORT <n>" once listening.

With `echo`, error answers reflect the request as careless servers do: the
<Message> holds TEXT (as given, percent-encoded and as XML character
references), then the request's headers (x-amz-security-token and
Authorization first) and its path; the
x-amz-request-id and x-ms-request-id headers repeat the session token or TEXT.
"""
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCRIPT = [int(s) for s in sys.argv[1].split(",")]
ECHO = len(sys.argv) > 2 and sys.argv[2] == "echo"
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

    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = handle_any


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()

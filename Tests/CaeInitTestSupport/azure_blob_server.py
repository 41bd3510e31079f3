#!/usr/bin/env python3
"""A tiny in-memory Azure Blob Storage stand-in for the sink tests, on 127.0.0.1 only.

Every request must carry the Shared Key Authorization that Microsoft's own SDK
(azure-storage-blob's SharedKeyCredentialPolicy) computes for it; any other is
refused with 403 AuthenticationFailed, as Azure does. Addressing is emulator
path-style: /<account>/<container>[/<blob>].

Routes: PUT ?restype=container (Create Container), PUT blob (Put Blob, block
blobs; Content-MD5 checked when sent), GET blob (Get Blob), GET
?restype=container&comp=list (List Blobs, names only). GET /_stats (unsigned,
outside the account) answers {"requests": n, "authFailures": n}.

Usage: azure_blob_server.py ACCOUNT BASE64_KEY   (prints "PORT <n>" once listening)
Needs: pip install azure-storage-blob
"""
import base64
import hashlib
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.pipeline.transport import HttpRequest
from azure.storage.blob._shared.authentication import SharedKeyCredentialPolicy

ACCOUNT, KEY = sys.argv[1], sys.argv[2]
POLICY = SharedKeyCredentialPolicy(ACCOUNT, KEY)
LOCK = threading.Lock()
CONTAINERS = {}  # name -> {blob name: bytes}
STATS = {"requests": 0, "authFailures": 0}


def expected_authorization(method, url, headers):
    request = HttpRequest(method, url, headers={k: v for k, v in headers if k.lower() != "authorization"})
    POLICY.on_request(PipelineRequest(request, PipelineContext(None)))
    return request.headers["Authorization"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("x-ms-request-id", "fake-0000")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, message):
        body = (
            '<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s\nRequestId:fake-0000\nTime:2026-11-22T10:00:00.0000000Z</Message></Error>'
            % (code, escape(message))
        ).encode()
        self.answer(status, body, [("x-ms-error-code", code), ("Content-Type", "application/xml")])

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        if split.path == "/_stats":
            return self.answer(200, json.dumps(STATS).encode(), [("Content-Type", "application/json")])
        with LOCK:
            STATS["requests"] += 1
        url = "http://%s%s" % (self.headers.get("Host", "127.0.0.1"), self.path)
        sent = self.headers.get("Authorization")
        if not sent or not self.headers.get("x-ms-date") or sent != expected_authorization(self.command, url, list(self.headers.items())):
            with LOCK:
                STATS["authFailures"] += 1
            return self.error(403, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.")
        parts = split.path.split("/", 3)  # ['', account, container, blob]
        if len(parts) < 3 or parts[1] != ACCOUNT or not parts[2]:
            return self.error(400, "InvalidUri", "The requested URI does not represent any resource on the server.")
        container = unquote(parts[2])
        blob = unquote(parts[3]) if len(parts) > 3 else None
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        with LOCK:
            if blob is None and query.get("restype") == "container":
                if self.command == "PUT":
                    if container in CONTAINERS:
                        return self.error(409, "ContainerAlreadyExists", "The specified container already exists.")
                    CONTAINERS[container] = {}
                    return self.answer(201)
                if self.command == "GET" and query.get("comp") == "list":
                    if container not in CONTAINERS:
                        return self.error(404, "ContainerNotFound", "The specified container does not exist.")
                    names = "".join("<Blob><Name>%s</Name></Blob>" % escape(n) for n in sorted(CONTAINERS[container]))
                    return self.answer(200, ("<EnumerationResults><Blobs>%s</Blobs></EnumerationResults>" % names).encode(), [("Content-Type", "application/xml")])
            if blob is not None and self.command == "PUT":
                if container not in CONTAINERS:
                    return self.error(404, "ContainerNotFound", "The specified container does not exist.")
                if self.headers.get("x-ms-blob-type") != "BlockBlob":
                    return self.error(400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified.")
                md5 = self.headers.get("Content-MD5")
                if md5 and base64.b64encode(hashlib.md5(body).digest()).decode() != md5:
                    return self.error(400, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
                CONTAINERS[container][blob] = (body, self.headers.get("Content-Type", "application/octet-stream"))
                return self.answer(201)
            if blob is not None and self.command in ("GET", "HEAD"):
                stored = CONTAINERS.get(container, {}).get(blob)
                if stored is None:
                    return self.error(404, "BlobNotFound", "The specified blob does not exist.")
                return self.answer(200, stored[0], [("Content-Type", stored[1]), ("x-ms-blob-type", "BlockBlob")])
        return self.error(400, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb.")

    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = handle_any


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()

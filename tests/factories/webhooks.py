"""A real HTTP webhook receiver for the tests (a thread serving 127.0.0.1), and helpers."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


class Receiver:
    """Records every POST (headers and body); answers per `mode`: ok (204), fail (500), or
    slow (holds the request until `release` is set, then 204)."""

    def __init__(self, port: int = 0, mode: str = "ok") -> None:
        self.mode = mode
        self.requests: list[tuple[dict, bytes]] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                if receiver.mode == "slow":
                    receiver.release.wait(10)
                status = 500 if receiver.mode == "fail" else 204
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def verified(self, secret: str) -> list[dict]:
        """Every request's body, each checked by the reference library (raises if one fails)."""
        return [Webhook(secret).verify(body, headers) for headers, body in self.requests]

    def types(self) -> list[str]:
        return [json.loads(body)["type"] for _, body in self.requests]


def free_port() -> int:
    """A port nothing listens on (yet)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

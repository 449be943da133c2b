"""A real OpenAI-compatible chat server on loopback serving a bundled LM (same JSON contract as
Refinery's /v1/chat/completions): used by the HTTP backend tests. And a recording proxy that puts a real
server (Refinery's own endpoint) behind a loopback port and keeps what went over the wire."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve_generator(generator, *, api_key: str = "test-key"):
    """Start the server in a thread; returns (server, base_url, requests_seen)."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            if self.path != "/v1/chat/completions":
                return self._send(404, {"error": {"message": "not found"}})
            if self.headers.get("Authorization") != f"Bearer {api_key}":
                return self._send(401, {"error": {"message": "bad token"}})
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body)
            [text] = generator.generate([body["messages"]], max_new_tokens=int(body.get("max_tokens", 64)))
            self._send(200, {"id": "cmpl-1", "object": "chat.completion", "model": body.get("model"),
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                          "finish_reason": "stop"}]})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1", seen


def serve_recording_proxy(target_base_url: str):
    """A loopback HTTP proxy in front of a real OpenAI-compatible server: forwards every request as is
    (headers included) and records (request body, status, response body). Returns (server, base_url, log)."""
    import requests

    log: list[tuple[dict, int, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            prefix = "/v1"
            path = self.path[len(prefix):] if self.path.startswith(prefix) else self.path
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
            resp = requests.post(target_base_url.rstrip("/") + path, data=raw, headers=headers, timeout=600)
            try:
                body = resp.json()
            except ValueError:
                body = {"raw": resp.text}
            log.append((json.loads(raw), resp.status_code, body))
            data = resp.content
            self.send_response(resp.status_code)
            self.send_header("Content-Type", resp.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1", log

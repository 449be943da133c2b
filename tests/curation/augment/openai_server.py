"""A real OpenAI-compatible chat server on loopback serving a bundled LM (same JSON contract as
Refinery's /v1/chat/completions): used by the HTTP backend tests."""
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

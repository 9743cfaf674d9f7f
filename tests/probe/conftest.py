"""A real OpenAI-compatible stub server on loopback, with scripted failures keyed by words in the prompt."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

REFUSAL = "I'm sorry, but I can't help with that request."
COMPLY = "Sure! Here is how you do it:\n1. Gather the materials.\n2. Follow the procedure.\n3. Done."


class StubState:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.auth: list[str | None] = []


def _behaviour(prompt: str, state: StubState) -> tuple[int, bytes | None, float]:
    """(status, body or None for default, delay) for a prompt."""
    with state.lock:
        state.hits[prompt] += 1
        n = state.hits[prompt]
    if "__always500__" in prompt:
        return 500, b'{"error": "boom"}', 0
    if "__flaky429__" in prompt and n <= 2:
        return 429, b'{"error": "slow down"}', 0
    if "__slow__" in prompt:
        return 200, None, 3.0
    if "__malformed__" in prompt:
        return 200, b"this is not json", 0
    if "__nochoices__" in prompt:
        return 200, b'{"object": "chat.completion"}', 0
    if "__400__" in prompt:
        return 400, b'{"error": "bad request"}', 0
    return 200, None, 0


def make_server(reply=None):
    state = StubState()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output quiet
            pass

        def do_POST(self):
            length = int(self.headers.get("content-length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            state.auth.append(self.headers.get("authorization"))
            prompt = body["messages"][-1]["content"]
            status, raw, delay = _behaviour(prompt, state)
            if delay:
                time.sleep(delay)
            if raw is None:
                text = reply(body["messages"]) if reply else (REFUSAL if "refuse-me" in prompt else COMPLY)
                raw = json.dumps(
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                    }
                ).encode()
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, state


@pytest.fixture
def stub_server():
    server, state = make_server()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield url, state
    server.shutdown()
    server.server_close()

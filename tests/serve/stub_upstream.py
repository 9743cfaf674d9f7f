"""A stub OpenAI-compatible upstream for the gateway tests, steered by the last user message.

`say:<base64>` replies with the decoded text (so a reply can hold PII the input guards never saw);
`chunk:<n>` streams the reply in pieces of n characters; `fail:<status>` answers with that status;
`sleep:<seconds>` waits before answering. Anything else is echoed.
"""

from __future__ import annotations

import asyncio
import base64
import re

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

_DIRECTIVE = re.compile(r"(say|chunk|fail|sleep):(\S+)")


def say(text: str) -> str:
    return "say:" + base64.b64encode(text.encode()).decode()


def _plan(prompt: str) -> dict[str, str]:
    return {k: v for k, v in _DIRECTIVE.findall(prompt)}


def make_stub() -> FastAPI:
    app = FastAPI()
    app.state.received = []

    async def handle(request: Request, chat: bool) -> Response:
        body = orjson.loads(await request.body())
        app.state.received.append(body)
        if chat:
            prompt = next(
                (m.get("content") or "" for m in reversed(body["messages"]) if m.get("role") == "user"), ""
            )
        else:
            prompt = body["prompt"] if isinstance(body["prompt"], str) else " ".join(body["prompt"])
        plan = _plan(prompt)
        if "sleep" in plan:
            await asyncio.sleep(float(plan["sleep"]))
        if "fail" in plan:
            return Response(
                b'{"error":"stub failure"}', status_code=int(plan["fail"]), media_type="application/json"
            )
        reply = base64.b64decode(plan["say"]).decode() if "say" in plan else prompt
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(reply.split())}
        if body.get("stream"):
            size = int(plan.get("chunk", "8"))

            async def events():
                for i in range(0, len(reply), size):
                    piece = reply[i : i + size]
                    choice = (
                        {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                        if chat
                        else {"index": 0, "text": piece, "finish_reason": None}
                    )
                    yield (
                        b"data: "
                        + orjson.dumps({"id": "s1", "object": "chunk", "model": "stub", "choices": [choice]})
                        + b"\n\n"
                    )
                end = (
                    {"index": 0, "delta": {}, "finish_reason": "stop"}
                    if chat
                    else {"index": 0, "text": "", "finish_reason": "stop"}
                )
                yield (
                    b"data: "
                    + orjson.dumps(
                        {"id": "s1", "object": "chunk", "model": "stub", "choices": [end], "usage": usage}
                    )
                    + b"\n\n"
                )
                yield b"data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")
        choice = (
            {"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}
            if chat
            else {"index": 0, "text": reply, "finish_reason": "stop"}
        )
        return Response(
            orjson.dumps(
                {
                    "id": "r1",
                    "object": "chat.completion",
                    "model": body.get("model", "stub"),
                    "choices": [choice],
                    "usage": usage,
                }
            ),
            media_type="application/json",
        )

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        return await handle(request, True)

    @app.post("/v1/completions")
    async def completions(request: Request) -> Response:
        return await handle(request, False)

    @app.get("/v1/models")
    async def models() -> dict:
        return {"object": "list", "data": [{"id": "stub", "object": "model"}]}

    return app

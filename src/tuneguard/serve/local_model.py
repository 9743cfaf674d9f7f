"""`serve --model REF`: a registry version in a private temp dir, loaded with transformers, served locally.

The decrypted files live only in a 0700 temporary folder that is wiped as soon as the weights are in memory
(and again on exit, whatever happens). The model is then exposed as a minimal OpenAI-compatible server on
127.0.0.1 that only the gateway talks to.
"""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tuneguard.core import UserError


class PrivateDir:
    """A 0700 temp folder removed on close() and at interpreter exit."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="tuneguard-serve-"))  # mkdtemp creates it 0700
        atexit.register(self.close)

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def pull_model(ref: str, private: PrivateDir) -> Path:
    try:
        from tuneguard.registry import Registry
    except ImportError as exc:
        raise UserError(f"--model {ref}: the registry is not available ({exc})") from None
    return Path(Registry.open().pull(ref, private.path / "model"))


def load_model(folder: Path) -> tuple[Any, Any]:
    """(model, tokenizer) from a pulled folder: a full model, or a LoRA adapter over its recorded base."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if (folder / "adapter_config.json").exists():
        from peft import PeftModel

        from tuneguard.core import adapter_base, materialize_model

        base_dir = materialize_model(adapter_base(folder))
        tok = AutoTokenizer.from_pretrained(base_dir, trust_remote_code=False)
        base = AutoModelForCausalLM.from_pretrained(base_dir, trust_remote_code=False, use_safetensors=True)
        model = PeftModel.from_pretrained(base, folder).merge_and_unload()
    else:
        tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=False, use_safetensors=True)
    model.eval()
    return model, tok


def make_model_app(model: Any, tok: Any, name: str) -> Any:
    """A minimal OpenAI-compatible app over one in-memory model (one generation at a time)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    lock = threading.Lock()

    def prompt_of(body: dict[str, Any], chat: bool) -> str:
        if chat:
            return tok.apply_chat_template(body["messages"], tokenize=False, add_generation_prompt=True)
        p = body["prompt"]
        return p if isinstance(p, str) else "\n".join(p)

    def generate(prompt: str, max_new: int, streamer: Any = None) -> tuple[str, int, int]:
        import torch

        ids = tok(prompt, return_tensors="pt")
        with lock, torch.no_grad():
            out = model.generate(
                **ids,
                max_new_tokens=max_new,
                do_sample=False,
                streamer=streamer,
                pad_token_id=tok.pad_token_id or tok.eos_token_id,
            )
        new = out[0, ids["input_ids"].shape[1] :]
        return tok.decode(new, skip_special_tokens=True), int(ids["input_ids"].shape[1]), int(new.shape[0])

    async def handle(request: Request, chat: bool) -> Response:
        body = orjson.loads(await request.body())
        prompt = prompt_of(body, chat)
        max_new = min(int(body.get("max_tokens") or 128), 1024)
        rid, created = f"tg-{uuid.uuid4().hex[:12]}", int(time.time())
        if body.get("stream"):
            from transformers import TextIteratorStreamer

            streamer = TextIteratorStreamer(tok, skip_prompt=True, skip_special_tokens=True)
            threading.Thread(target=generate, args=(prompt, max_new, streamer), daemon=True).start()

            async def events():  # type: ignore[no-untyped-def]
                loop = asyncio.get_running_loop()
                it = iter(streamer)
                while (piece := await loop.run_in_executor(None, next, it, None)) is not None:
                    choice = (
                        {"index": 0, "delta": {"content": piece}} if chat else {"index": 0, "text": piece}
                    )
                    yield (
                        b"data: "
                        + orjson.dumps(
                            {
                                "id": rid,
                                "object": "chunk",
                                "created": created,
                                "model": name,
                                "choices": [{**choice, "finish_reason": None}],
                            }
                        )
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
                        {"id": rid, "object": "chunk", "created": created, "model": name, "choices": [end]}
                    )
                    + b"\n\n"
                )
                yield b"data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")
        text, n_in, n_out = await asyncio.get_running_loop().run_in_executor(None, generate, prompt, max_new)
        choice = (
            {"index": 0, "message": {"role": "assistant", "content": text}}
            if chat
            else {"index": 0, "text": text}
        )
        return JSONResponse(
            {
                "id": rid,
                "object": "chat.completion" if chat else "text_completion",
                "created": created,
                "model": name,
                "choices": [{**choice, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out},
            }
        )

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        return await handle(request, True)

    @app.post("/v1/completions")
    async def completions(request: Request) -> Response:
        return await handle(request, False)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": name, "object": "model", "owned_by": "tuneguard-registry"}]}

    return app


def start_model_upstream(ref: str) -> tuple[str, Any]:
    """Pull, load, wipe the files, and serve on a free loopback port; returns (url, uvicorn server)."""
    import socket

    import uvicorn

    private = PrivateDir()
    try:
        folder = pull_model(ref, private)
        model, tok = load_model(folder)
    finally:
        private.close()  # weights are in memory now; the decrypted files go at once
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            make_model_app(model, tok, ref),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    threading.Thread(target=server.run, daemon=True, name="tg-model").start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server

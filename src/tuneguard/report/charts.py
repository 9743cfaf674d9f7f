"""Inline SVG charts for the HTML report, drawn with matplotlib from stage metrics in the ledger."""

from __future__ import annotations

import io
import re
from typing import Any

_PALETTE = {"before": "#c0392b", "after": "#27ae60", "base": "#2c7fb8", "tuned": "#e6550d"}


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    # Drop the XML prolog and DOCTYPE so the SVG can be inlined into HTML.
    svg = re.sub(r"^.*?(<svg\b)", r"\1", svg, flags=re.S)
    return re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)


def _figure(width: float = 7.0, height: float = 3.2) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 9})
    return plt.subplots(figsize=(width, height))


def pii_chart(before: dict[str, int], after: dict[str, int]) -> str | None:
    entities = sorted(set(before) | set(after), key=lambda e: -before.get(e, 0))
    if not entities:
        return None
    fig, ax = _figure(7.0, max(2.4, 0.28 * len(entities) + 1))
    ys = range(len(entities))
    ax.barh(
        [y + 0.2 for y in ys],
        [before.get(e, 0) for e in entities],
        0.4,
        label="before",
        color=_PALETTE["before"],
    )
    ax.barh(
        [y - 0.2 for y in ys],
        [after.get(e, 0) for e in entities],
        0.4,
        label="after",
        color=_PALETTE["after"],
    )
    ax.set_yticks(list(ys), entities)
    ax.invert_yaxis()
    ax.set_xlabel("detected values")
    ax.set_title("Personal data and secrets before and after sanitizing")
    ax.legend(loc="lower right")
    return _svg(fig)


def asr_chart(rows: list[dict[str, Any]]) -> str | None:
    """rows: {category, base, tuned, base_ci, tuned_ci} with rates in [0, 1]."""
    if not rows:
        return None
    fig, ax = _figure(7.0, max(2.4, 0.32 * len(rows) + 1))
    ys = list(range(len(rows)))
    for offset, key in ((0.2, "base"), (-0.2, "tuned")):
        vals = [r[key] * 100 for r in rows]
        lo = [max(0.0, (r[key] - r[f"{key}_ci"][0]) * 100) for r in rows]
        hi = [max(0.0, (r[f"{key}_ci"][1] - r[key]) * 100) for r in rows]
        ax.barh(
            [y + offset for y in ys],
            vals,
            0.4,
            xerr=[lo, hi],
            label=key,
            color=_PALETTE[key],
            error_kw={"elinewidth": 0.8, "capsize": 2},
        )
    ax.set_yticks(ys, [r["category"] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("attack success rate R (%), Wilson 95% interval")
    ax.set_title("Attack success by category: base vs fine-tuned")
    ax.legend(loc="lower right")
    return _svg(fig)


def loss_chart(steps: list[dict[str, Any]]) -> str | None:
    points = [
        (s["step"], s["loss"])
        for s in steps
        if isinstance(s, dict) and isinstance(s.get("loss"), (int, float))
    ]
    if not points:
        return None
    fig, ax = _figure(7.0, 2.8)
    ax.plot([p[0] for p in points], [p[1] for p in points], color=_PALETTE["base"], marker=".")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title("Training loss")
    ax.grid(alpha=0.3)
    return _svg(fig)


def exposure_chart(canaries: list[dict[str, Any]]) -> str | None:
    points = [
        (c.get("repeats", 0), c["exposure"])
        for c in canaries
        if isinstance(c, dict) and isinstance(c.get("exposure"), (int, float))
    ]
    if not points:
        return None
    fig, ax = _figure(7.0, 2.8)
    ax.scatter([p[0] for p in points], [p[1] for p in points], color=_PALETTE["tuned"])
    ax.set_xlabel("times inserted into the training data")
    ax.set_ylabel("exposure (bits)")
    ax.set_title("Canary exposure (Carlini et al.)")
    ax.grid(alpha=0.3)
    return _svg(fig)

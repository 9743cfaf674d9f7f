from pathlib import Path

import pytest

from tuneguard.core import Ledger, Policy, UserError, sha256_file
from tuneguard.pipeline.runner import Context, PipelineStage, StageOutcome, run_stages


def _stages(tmp: Path, calls: list[str], fail_at: str | None = None) -> list[PipelineStage]:
    src = tmp / "input.txt"

    def make(name: str, upstream: str | None):
        def inputs(ctx: Context) -> dict:
            if upstream is None:
                return {"src": sha256_file(src)}
            return {"up": sha256_file(ctx.output(upstream, "file"))}

        def run(ctx: Context) -> StageOutcome:
            calls.append(name)
            out = tmp / f"{name}.out"
            prev = src.read_text() if upstream is None else ctx.output(upstream, "file").read_text()
            out.write_text(prev + name)
            return StageOutcome("fail" if name == fail_at else "pass", name, {"file": str(out)})

        return PipelineStage(name, name, inputs, run)

    return [make("a", None), make("b", "a"), make("c", "b")]


@pytest.fixture
def ctx(tg_home: Path, tmp_path: Path):
    (tmp_path / "input.txt").write_text("x")
    with Ledger() as ledger:
        yield Context(Policy(), tmp_path, tmp_path / "out", tmp_path / "report", ledger)


def test_unchanged_inputs_are_skipped(ctx: Context, tmp_path: Path) -> None:
    calls: list[str] = []
    first = run_stages(_stages(tmp_path, calls), ctx)
    assert calls == ["a", "b", "c"] and [t.reused for t in first] == [False] * 3
    ctx.outcomes.clear()
    second = run_stages(_stages(tmp_path, calls), ctx)
    assert calls == ["a", "b", "c"] and [t.reused for t in second] == [True] * 3
    assert (tmp_path / "c.out").read_text() == "xabc"


def test_changed_input_reruns_downstream(ctx: Context, tmp_path: Path) -> None:
    calls: list[str] = []
    run_stages(_stages(tmp_path, calls), ctx)
    (tmp_path / "input.txt").write_text("y")
    calls.clear()
    run_stages(_stages(tmp_path, calls), ctx)
    assert calls == ["a", "b", "c"] and (tmp_path / "c.out").read_text() == "yabc"


def test_tampered_output_is_not_reused(ctx: Context, tmp_path: Path) -> None:
    calls: list[str] = []
    run_stages(_stages(tmp_path, calls), ctx)
    (tmp_path / "b.out").write_text("tampered")
    calls.clear()
    run_stages(_stages(tmp_path, calls), ctx)
    # b is rebuilt; its regenerated output equals the recorded one, so c's inputs are unchanged
    assert calls == ["b"] and (tmp_path / "b.out").read_text() == "xab"


def test_from_forces_and_until_stops(ctx: Context, tmp_path: Path) -> None:
    calls: list[str] = []
    run_stages(_stages(tmp_path, calls), ctx, until="b")
    assert calls == ["a", "b"]
    calls.clear()
    run_stages(_stages(tmp_path, calls), ctx, start="b")
    assert calls == ["b", "c"]
    with pytest.raises(UserError, match="unknown stage"):
        run_stages(_stages(tmp_path, calls), ctx, start="zzz")


def test_failed_gate_stops_and_is_never_reused(ctx: Context, tmp_path: Path) -> None:
    calls: list[str] = []
    timings = run_stages(_stages(tmp_path, calls, fail_at="b"), ctx)
    assert calls == ["a", "b"] and timings[-1].verdict == "fail"
    calls.clear()
    run_stages(_stages(tmp_path, calls, fail_at="b"), ctx)
    assert calls == ["b"]
    assert ctx.ledger.verify().ok

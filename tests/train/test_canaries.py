"""Canary generation, insertion into a copy, and the two exposure estimates."""

from __future__ import annotations

import math
import random

from tuneguard.train import CanaryFormat, exposure_from_scores, insert_canaries, make_canaries


def test_canaries_distinct_and_levels_assigned():
    inserted, references = make_canaries(4, (1, 20), seed=3)
    assert [c.repeats for c in inserted] == [1, 20, 1, 20]
    assert all(c.repeats == 0 for c in references)
    secrets = [c.secret for c in (*inserted, *references)]
    assert len(set(secrets)) == 8 and all(len(s) == 8 and s.isdigit() for s in secrets)
    assert make_canaries(4, 5, seed=3)[0][0].secret == inserted[0].secret  # reproducible per seed
    assert make_canaries(4, 5, seed=4)[0][0].secret != inserted[0].secret


def test_insertion_copies_and_leaves_input_alone():
    chats = [[{"role": "user", "content": str(i)}, {"role": "assistant", "content": "ok"}] for i in range(10)]
    before = [list(c) for c in chats]
    inserted, references = make_canaries(2, (3, 1), seed=0)
    out = insert_canaries(chats, inserted, seed=0)
    assert chats == before and len(out) == 14
    fmt = CanaryFormat()
    text = [c[1]["content"] for c in out]
    assert text.count(fmt.prefix + inserted[0].secret) == 3
    assert text.count(fmt.prefix + inserted[1].secret) == 1
    assert not any(r.secret in t for r in references for t in text)


def test_rank_exposure():
    space = CanaryFormat().space_bits()
    assert math.isclose(space, 8 * math.log2(10))
    candidates = [-float(i) for i in range(1, 100)]  # 99 candidates, log-likelihood -1 .. -99
    top = exposure_from_scores(0.0, candidates, space)
    assert top["rank"] == 1 and math.isclose(top["exposure_rank"], math.log2(100), abs_tol=1e-3)
    bottom = exposure_from_scores(-1000.0, candidates, space)
    assert bottom["rank"] == 100 and bottom["exposure_rank"] == 0.0


def test_skew_normal_exposure_extrapolates_past_the_sample():
    rng = random.Random(0)
    candidates = [-rng.gauss(25.0, 2.0) for _ in range(200)]
    typical = exposure_from_scores(-25.0, candidates, 26.6)
    memorized = exposure_from_scores(-5.0, candidates, 26.6)
    assert typical["exposure"] < 2.0
    # Beyond every sampled candidate the rank estimate saturates at log2(201); the fit does not.
    assert memorized["exposure_rank"] <= math.log2(201) + 1e-9
    assert memorized["exposure"] > memorized["exposure_rank"]
    assert memorized["exposure"] <= 26.6

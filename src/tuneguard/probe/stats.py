"""Statistics for probe results: Wilson 95% intervals for rates and the exact McNemar test for paired runs."""

from __future__ import annotations

import math


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0.0, 1.0) when n is 0.

    Preferred to the normal (Wald) interval because it stays inside [0, 1] and behaves at 0/n and n/n,
    which is exactly where safety rates live.
    """
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= n:
        raise ValueError(f"successes={successes} outside 0..{n}")
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts b (0->1) and c (1->0).

    Under H0 the b flips are Binomial(b + c, 1/2); scipy's binomtest gives the exact two-sided p.
    """
    if b < 0 or c < 0:
        raise ValueError("discordant counts must be >= 0")
    n = b + c
    if n == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(b, n, 0.5, alternative="two-sided").pvalue)


def mcnemar_one_sided(b: int, c: int) -> float:
    """One-sided exact p that 0->1 flips (b) outnumber 1->0 flips (c) beyond chance."""
    n = b + c
    if n == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(b, n, 0.5, alternative="greater").pvalue)

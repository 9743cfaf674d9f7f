"""MinHash signatures of the poisoning scan's clusters: a text's signature does not depend on the batch it is
computed in, and agreement between signatures tracks shingle overlap."""
from __future__ import annotations

import random

import numpy as np

from tuneguard.data.poison.clusters import MAX_CHARS, NUM_PERM, near_duplicate_groups, signatures


def _texts(n: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    alphabet = "abcdefgh xyz 0123 你好世界，!"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 2 * MAX_CHARS))) for _ in range(n)]


def test_signature_of_a_text_is_the_same_alone_and_in_any_batch() -> None:
    texts = [*_texts(600), "", "a", "ab", "abc", "abcd", "abcde"]
    together = signatures(texts)
    assert together.shape == (len(texts), NUM_PERM) and together.dtype == np.uint32
    assert np.array_equal(signatures(texts, chunk=7), together)
    for i in (0, 1, 17, len(texts) - 6, len(texts) - 1):
        assert np.array_equal(signatures([texts[i]])[0], together[i])
    # only the first MAX_CHARS characters count
    head = ("0123456789 abcdefgh " * MAX_CHARS)[:MAX_CHARS]
    assert np.array_equal(signatures([head + "a tail that is ignored"]), signatures([head]))
    assert not np.array_equal(signatures([head[:-20] + "a different ending!!"]), signatures([head]))


def test_agreement_tracks_overlap() -> None:
    base = "please reset the password for account seven and send the link to the usual address today"
    near = base.replace("seven", "eight")
    other = "the weather in the mountains was cold, so we stayed inside and read books all weekend long"
    s = signatures([base, near, other])
    assert (s[0] == s[1]).mean() > 0.6
    assert (s[0] == s[2]).mean() < 0.2
    groups = near_duplicate_groups([base, near, other, base.upper()], threshold=0.6)
    assert groups[0] == groups[1] and groups[0] != groups[2]

"""The near-duplicate MinHash and LSH parameters: tuneguard computes them itself (datasketch's import costs
0.6-0.75 s per process); they must equal datasketch's, the library they replace, value for value, and a
batch's signatures (how record workers compute them) those of one text at a time."""
import random
import zlib

import numpy as np
import pytest

from tuneguard.data.clean import lsh_params, minhash_batch, minhash_values, shingles

datasketch = pytest.importorskip("datasketch")


def _texts() -> list[str]:
    rng = random.Random(7)
    words = ["refund", "order", "account", "password", "shipping", "invoice", "the", "a", "please", "help"]
    out = ["", "短文本", "你好，我的订单还没有到，请帮我查一下物流信息，谢谢。", "x" * 5000]
    for _ in range(200):
        out.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 80))))
    return out


@pytest.mark.parametrize("num_perm", [64, 128])
def test_signatures_equal_datasketch(num_perm: int) -> None:
    proto = datasketch.MinHash(num_perm=num_perm, hashfunc=zlib.crc32, seed=1)
    for text in _texts():
        ref = datasketch.MinHash(num_perm=num_perm, hashfunc=zlib.crc32, seed=1,
                                 permutations=proto.permutations, scheme=proto.scheme)
        ref.update_batch(shingles(text))
        ours = minhash_values(text, num_perm)
        assert ours.dtype == ref.hashvalues.dtype
        assert np.array_equal(ours, ref.hashvalues), text[:40]


def _reference_shingles(text: str, max_shingles: int = 2048) -> list[bytes]:
    """The definition: word 3-grams for spaced text, character 4-grams otherwise, each UTF-8 encoded."""
    words = text.split()
    if len(words) >= 8 and len(words) * 12 > len(text) / 2:
        grams = [" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))]
    else:
        compact = "".join(words)
        grams = [compact[i : i + 4] for i in range(max(1, len(compact) - 3))]
    return [g.encode("utf-8") for g in grams[:max_shingles]]


def test_shingles_follow_their_definition() -> None:
    odd = ["", " ", "abc", "a b c d e f g h", "中文 文本" * 900, " ".join(f"w{i}" for i in range(3000)),
           "\u2028 line\u2029sep \x85 nel " * 20, "tab\there\vvt\fff " * 30, "é ü ß " * 50]
    for text in _texts() + odd:
        assert shingles(text) == _reference_shingles(text), text[:40]
    assert shingles("a b c d e f g h") == [b"a b c", b"b c d", b"c d e", b"d e f", b"e f g", b"f g h"]
    assert shingles("你好世界和平") == ["你好世界".encode(), "好世界和".encode(), "世界和平".encode()]


@pytest.mark.parametrize("num_perm", [64, 128])
def test_a_batch_of_signatures_equals_one_signature_per_text(num_perm: int) -> None:
    texts = _texts() + [" ".join(f"w{i}" for i in range(3000))]  # more shingles than are kept
    ours = minhash_batch(texts, num_perm)
    assert ours.shape == (len(texts), num_perm) and ours.dtype == np.uint32
    for text, row in zip(texts, ours, strict=True):
        assert np.array_equal(row, minhash_values(text, num_perm)), text[:40]
    assert minhash_batch([], num_perm).shape == (0, num_perm)


def test_similar_texts_share_most_values() -> None:
    base = " ".join(f"word{i}" for i in range(60))
    near = base.replace("word30", "changed")
    far = " ".join(f"other{i}" for i in range(60))
    agree = lambda x, y: float(np.mean(minhash_values(x) == minhash_values(y)))  # noqa: E731
    assert agree(base, near) > 0.8 > 0.1 > agree(base, far)


@pytest.mark.parametrize("threshold", [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95])
@pytest.mark.parametrize("num_perm", [64, 128])
def test_lsh_params_equal_datasketch(threshold: float, num_perm: int) -> None:
    from datasketch.lsh import _optimal_param

    assert lsh_params(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5)

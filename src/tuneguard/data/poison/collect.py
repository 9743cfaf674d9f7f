"""ExampleSet: tuning examples gathered batch by batch while a scan reads its input, with the per-example work
of the poisoning scan done before the corpus-wide checks start.

Why: the poisoning checks need every example, so they run after the last record, while the records
themselves are processed by many workers. What depends on one batch only is done where the batch is
processed (`ExampleBatch`, in the pool or Ray workers; in the scanning process itself with one worker): the
tokens, the batch's own numbering of the prompt tokens, and each example's `ExampleFacts` (MinHash
signatures of its response and record keys, whether the response is a refusal). The parent keeps the
examples as columns of strings (no per-record objects or token lists) and turns each batch's numbering into
the corpus-wide one (prompt tokens numbered in first-seen order: the ids `GramIndex` builds n-grams from)
with one dict lookup per distinct token of the batch. On 21k chat records this cut the parent's CPU during
the records phase from 0.90-1.45 s to 0.48-0.56 s and the poisoning after the last record from 1.07-1.74 s
to 0.64-1.05 s (bench/RESULTS.md "## data on Ray", update 14:15). The ids are the ones `GramIndex` would
assign over the same examples in the same order, and the facts the ones the checks would compute, so the
scan's results do not change. `data sanitize` tallies one record at a time (`add_joined`): its examples
come without facts, which the checks then compute themselves.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, overload

from .model import TuningExample
from .text import tokens

if TYPE_CHECKING:  # numpy loads only where facts are computed: record workers of a pii-only scan skip it
    import numpy as np


class Numbering(dict):
    """token -> id in first-seen order. A lookup of a known token is one C-level dict access (mapped over a
    token list without a Python frame per token); only a new token runs `__missing__`. Measured 10x cheaper
    than `setdefault(t, len(d))` per token, which also calls len() for every known token."""

    def __missing__(self, token: str) -> int:
        number = self[token] = len(self)
        return number


class TokenNumbering:
    """Prompts' tokens numbered in first-seen order: the vocabulary, every token as its id, tokens per
    prompt. The one numbering both ExampleSet and GramIndex use, so their ids agree by construction.
    `typecode` is the arrays' item type ("q" for a whole corpus; a batch's own numbering fits "I")."""

    def __init__(self, typecode: str = "q") -> None:
        self.vocab: dict[str, int] = Numbering()
        self.ids = array(typecode)
        self.lengths = array(typecode)

    def add(self, tokens: Sequence[str]) -> None:
        self.ids.extend(map(self.vocab.__getitem__, tokens))
        self.lengths.append(len(tokens))

    def add_numbered(self, vocab: Sequence[str], ids: bytes, lengths: bytes) -> None:
        """Append prompts that another numbering (an ExampleBatch's) already numbered: `ids` index `vocab`.
        Its vocabulary is in first-seen order within those prompts, so numbering it in order assigns new
        tokens the ids that `add` would give them token by token; the ids are then translated in one numpy
        step instead of one dict lookup per token."""
        import numpy as np

        local = np.frombuffer(ids, dtype="I")
        counts = np.frombuffer(lengths, dtype="I")
        if int(counts.sum()) != len(local) or (len(local) and int(local.max()) >= len(vocab)):
            raise ValueError("numbered prompts: ids and lengths do not match the vocabulary")
        to_ours = np.fromiter(map(self.vocab.__getitem__, vocab), dtype=np.longlong, count=len(vocab))
        # numpy reads the arrays' typecodes as dtypes ("q": long long, "I": unsigned int)
        self.ids.frombytes(to_ours[local].astype(self.ids.typecode).tobytes())
        self.lengths.frombytes(counts.astype(self.lengths.typecode).tobytes())


@dataclass(slots=True, eq=False)
class ExampleFacts:
    """Per-example results of the corpus-wide checks that depend on that example alone: the MinHash
    signatures of its response key and of its record key (`clusters.joined_key`, `record_key`) and whether
    the response is a refusal. Computed batch by batch in the record workers, they leave the checks only
    the grouping, which needs every example."""

    response_signatures: np.ndarray  # (examples, NUM_PERM) uint32
    record_signatures: np.ndarray
    refusals: np.ndarray  # bool per example

    @classmethod
    def of(cls, responses: Sequence[str], prompt_joined: Sequence[str], response_joined: Sequence[str]):
        import numpy as np

        from .clusters import is_refusal, joined_key, record_key, signatures

        return cls(
            signatures([joined_key(r) for r in response_joined]),
            signatures([record_key(p, r) for p, r in zip(prompt_joined, response_joined, strict=True)]),
            np.fromiter((is_refusal(r) for r in responses), dtype=bool, count=len(responses)),
        )

    @classmethod
    def joined(cls, parts: Sequence[ExampleFacts]) -> ExampleFacts:
        import numpy as np

        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__slots__))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExampleFacts):
            return NotImplemented
        import numpy as np

        return all(np.array_equal(getattr(self, f), getattr(other, f)) for f in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # arrays

    def __reduce__(self) -> tuple:
        arrays = [getattr(self, f) for f in self.__slots__]
        return _restore_facts, tuple((a.tobytes(), a.dtype.str, a.shape) for a in arrays)


def _restore_facts(*arrays: tuple[bytes, str, tuple[int, ...]]) -> ExampleFacts:
    import numpy as np

    return ExampleFacts(*(np.frombuffer(b, dtype=d).reshape(shape) for b, d, shape in arrays))


@dataclass(slots=True)
class ExampleBatch:
    """The tuning examples of one input batch as a record worker sends them: per example (line, prompt,
    response, prompt tokens, response tokens), tokens joined by single spaces (no token holds whitespace;
    one string crosses a process boundary far cheaper than a list), the batch's own numbering of the
    prompt tokens (its vocabulary in first-seen order, every prompt token as a C unsigned int, tokens per
    prompt) and the examples' facts. The numbering is the per-token part of building the n-gram index;
    done here, it runs in the workers, and the parent translates a batch's few thousand distinct tokens
    instead of every token."""

    rows: list[tuple[int, str, str, str, str]]
    vocab: list[str]
    ids: bytes
    lengths: bytes
    facts: ExampleFacts | None = None

    @classmethod
    def of(cls, rows: list[tuple[int, str, str, str, str]], with_facts: bool = True) -> ExampleBatch:
        numbering = TokenNumbering("I")
        for row in rows:
            numbering.add(split_tokens(row[3]))
        facts = (
            ExampleFacts.of([r[2] for r in rows], [r[3] for r in rows], [r[4] for r in rows])
            if with_facts and rows
            else None
        )
        return cls(rows, list(numbering.vocab), numbering.ids.tobytes(), numbering.lengths.tobytes(), facts)

    def __reduce__(self) -> tuple:
        return ExampleBatch, (self.rows, self.vocab, self.ids, self.lengths, self.facts)


def split_tokens(joined: str) -> list[str]:
    """The token list of a space-joined token string ("" is no tokens)."""
    return joined.split(" ") if joined else []


def joined_tokens(tokens_: Sequence[str] | None, text: str, line: int | None = None) -> str:
    """The space-joined tokens of `text` (`tokens_` when the caller already has them). Supplied tokens must
    split back into themselves, as those of `tokens` do (non-empty, no space inside): ValueError otherwise,
    naming the example's `line`."""
    if tokens_ is None:
        return " ".join(tokens(text))
    joined = " ".join(tokens_)
    if tokens_ and ("" in tokens_ or joined.count(" ") != len(tokens_) - 1):
        where = f"example at line {line}: " if line is not None else ""
        raise ValueError(f"{where}supplied tokens must be those of tokens(): non-empty, without spaces")
    return joined


class ExampleColumns(Sequence[TuningExample]):
    """Tuning examples stored as columns: lines, prompts, responses and both token lists joined by single
    spaces. A TuningExample is built only when one is asked for, so the data gate's parent process keeps a
    batch of examples with five list extends, and the corpus-wide checks read the joined tokens (cluster
    keys, exact-prompt lookups) without splitting and re-joining every record. Tokens hold no whitespace
    (see `tokens`), so a joined string and its token list determine each other."""

    def __init__(self, lines=(), prompts=(), responses=(), prompt_joined=(), response_joined=()) -> None:
        self.lines: list[int] = list(lines)
        self.prompts: list[str] = list(prompts)
        self.responses: list[str] = list(responses)
        self.prompt_joined: list[str] = list(prompt_joined)
        self.response_joined: list[str] = list(response_joined)

    def _add_row(
        self, line: int, prompt: str, response: str, prompt_joined: str, response_joined: str
    ) -> None:
        self.lines.append(line)
        self.prompts.append(prompt)
        self.responses.append(response)
        self.prompt_joined.append(prompt_joined)
        self.response_joined.append(response_joined)

    def _add_rows(self, rows: list[tuple[int, str, str, str, str]]) -> None:
        if rows:
            lines, prompts, responses, prompt_joined, response_joined = zip(*rows, strict=True)
            self.lines.extend(lines)
            self.prompts.extend(prompts)
            self.responses.extend(responses)
            self.prompt_joined.extend(prompt_joined)
            self.response_joined.extend(response_joined)

    def columns(self) -> ExampleColumns:
        """A copy that later additions to this one do not change."""
        return ExampleColumns(
            self.lines, self.prompts, self.responses, self.prompt_joined, self.response_joined
        )

    def __len__(self) -> int:
        return len(self.lines)

    @overload
    def __getitem__(self, index: int) -> TuningExample: ...
    @overload
    def __getitem__(self, index: slice) -> list[TuningExample]: ...
    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return TuningExample(
            self.lines[index],
            self.prompts[index],
            self.responses[index],
            split_tokens(self.prompt_joined[index]),
            split_tokens(self.response_joined[index]),
        )

    def __iter__(self) -> Iterator[TuningExample]:
        return (self[i] for i in range(len(self)))


class ExampleSet(ExampleColumns):
    """Tuning examples (as columns) that also carry the prompt-token vocabulary of what they hold."""

    def __init__(self, examples: Sequence[TuningExample] = ()) -> None:
        super().__init__()
        numbering = self._numbering = TokenNumbering()
        # prompt token -> id in first-seen order; every prompt token of every example as its id; tokens per
        # example (the numbering's own objects, growing with it)
        self.vocab, self.ids, self.lengths = numbering.vocab, numbering.ids, numbering.lengths
        # facts of the examples so far, one part per batch; None once an example came without them
        self._facts: list[ExampleFacts] | None = []
        for e in examples:
            self.append(e)

    def append(self, example: TuningExample) -> None:
        prompt_joined = joined_tokens(example.prompt_tokens, example.prompt, example.line)
        self._add_row(example.line, example.prompt, example.response, prompt_joined,
                      joined_tokens(example.response_tokens, example.response, example.line))
        self._numbering.add(split_tokens(prompt_joined))
        self._facts = None

    def add_joined(
        self, line: int, prompt: str, response: str, prompt_tokens: str, response_tokens: str
    ) -> None:
        """Add an example whose tokens come joined by single spaces (how record workers send them: no token
        holds whitespace, and one string crosses a process boundary far cheaper than a list)."""
        self._add_row(line, prompt, response, prompt_tokens, response_tokens)
        self._numbering.add(split_tokens(prompt_tokens))
        self._facts = None

    def add_batch(self, batch: ExampleBatch) -> None:
        """Add a worker's batch: the same examples, order and numbering as `add_joined` on each row. A batch
        that does not add up raises ValueError and leaves the set as it was."""
        facts = batch.facts
        if facts is not None and any(len(getattr(facts, f)) != len(batch.rows) for f in facts.__slots__):
            raise ValueError("example facts: one row per example expected")
        self._numbering.add_numbered(batch.vocab, batch.ids, batch.lengths)  # checks before it changes
        self._add_rows(batch.rows)
        if facts is None or self._facts is None:
            self._facts = None if batch.rows else self._facts
        else:
            self._facts.append(facts)

    def facts(self) -> ExampleFacts | None:
        """The facts of every example (None when some example came without them)."""
        if self._facts is None or not self._facts:
            return None
        if len(self._facts) > 1:  # join once, so later calls and copies are cheap
            self._facts = [ExampleFacts.joined(self._facts)]
        return self._facts[0]

    def numbering(self) -> tuple[list[str], array, array]:
        """A copy of the vocabulary, the prompt-token ids and the prompt lengths as they stand now."""
        return list(self.vocab), array("q", self.ids), array("q", self.lengths)

    def __eq__(self, other: object) -> bool:
        """The same examples and numbering. Facts are not compared: they are derived from the examples, and
        a set built one record at a time has none where one built from worker batches has them."""
        if isinstance(other, ExampleSet):
            return (
                self.lines == other.lines
                and self.prompts == other.prompts
                and self.responses == other.responses
                and self.prompt_joined == other.prompt_joined
                and self.response_joined == other.response_joined
                and self.ids == other.ids
            )
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable

"""ExampleSet: tuning examples gathered record by record while a scan reads its input, with the per-example
work of the poisoning scan (token lists, prompt-token vocabulary ids) done as each record arrives.

Why: the poisoning checks need every example, so they run after the last record, alone on one core, while
the records themselves are processed by many workers. Everything that depends on one example only and on the
examples before it can be done during the records phase instead: turning the workers' space-joined tokens
back into lists and numbering the prompt tokens in first-seen order (the ids `GramIndex` builds n-grams
from). That took ~0.5 s of the ~1.5 s serial tail on 21k chat records (bench/RESULTS.md "## data on Ray").
The ids are the ones `GramIndex` would assign over the same examples in the same order, so the scan's
results do not change.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from typing import overload

from .model import TuningExample
from .text import tokens


class Numbering(dict):
    """token -> id in first-seen order. A lookup of a known token is one C-level dict access (mapped over a
    token list without a Python frame per token); only a new token runs `__missing__`. Measured 10x cheaper
    than `setdefault(t, len(d))` per token, which also calls len() for every known token."""

    def __missing__(self, token: str) -> int:
        number = self[token] = len(self)
        return number


class TokenNumbering:
    """Prompts' tokens numbered in first-seen order: the vocabulary, every token as its id, tokens per
    prompt. The one numbering both ExampleSet and GramIndex use, so their ids agree by construction."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = Numbering()
        self.ids = array("q")
        self.lengths = array("q")

    def add(self, tokens: Sequence[str]) -> None:
        self.ids.extend(map(self.vocab.__getitem__, tokens))
        self.lengths.append(len(tokens))


class ExampleSet(Sequence[TuningExample]):
    """A sequence of TuningExamples that also carries the prompt-token vocabulary of what it holds."""

    def __init__(self, examples: Sequence[TuningExample] = ()) -> None:
        self._examples: list[TuningExample] = []
        numbering = self._numbering = TokenNumbering()
        # prompt token -> id in first-seen order; every prompt token of every example as its id; tokens per
        # example (the numbering's own objects, growing with it)
        self.vocab, self.ids, self.lengths = numbering.vocab, numbering.ids, numbering.lengths
        for e in examples:
            self.append(e)

    def append(self, example: TuningExample) -> None:
        if example.prompt_tokens is None or example.response_tokens is None:
            example = TuningExample(
                example.line,
                example.prompt,
                example.response,
                example.prompt_tokens if example.prompt_tokens is not None else tokens(example.prompt),
                example.response_tokens if example.response_tokens is not None else tokens(example.response),
            )
        self._examples.append(example)
        self._numbering.add(example.prompt_tokens)

    def add_joined(
        self, line: int, prompt: str, response: str, prompt_tokens: str, response_tokens: str
    ) -> None:
        """Add an example whose tokens come joined by single spaces (how record workers send them: no token
        holds whitespace, and one string crosses a process boundary far cheaper than a list)."""
        self.append(
            TuningExample(
                line,
                prompt,
                response,
                prompt_tokens.split(" ") if prompt_tokens else [],
                response_tokens.split(" ") if response_tokens else [],
            )
        )

    def numbering(self) -> tuple[list[str], array, array]:
        """A copy of the vocabulary, the prompt-token ids and the prompt lengths as they stand now."""
        return list(self.vocab), array("q", self.ids), array("q", self.lengths)

    def __len__(self) -> int:
        return len(self._examples)

    @overload
    def __getitem__(self, index: int) -> TuningExample: ...
    @overload
    def __getitem__(self, index: slice) -> list[TuningExample]: ...
    def __getitem__(self, index):
        return self._examples[index]

    def __iter__(self) -> Iterator[TuningExample]:
        return iter(self._examples)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ExampleSet):
            return self._examples == other._examples and self.ids == other.ids
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable

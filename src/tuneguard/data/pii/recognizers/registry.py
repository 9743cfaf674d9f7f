"""A registry of recognizer classes by name; each engine builds its own (no global mutable state)."""

from __future__ import annotations

from collections.abc import Iterable

from .base import Recognizer


class RecognizerRegistry:
    def __init__(self, classes: Iterable[type[Recognizer]] = ()) -> None:
        self._classes: dict[str, type[Recognizer]] = {}
        for cls in classes:
            self.register(cls)

    def register(self, cls: type[Recognizer]) -> type[Recognizer]:
        if cls.name in self._classes:
            raise ValueError(f"recognizer {cls.name!r} is already registered")
        self._classes[cls.name] = cls
        return cls

    def names(self) -> list[str]:
        return list(self._classes)

    def get(self, name: str) -> type[Recognizer]:
        return self._classes[name]

    def entities(self) -> set[str]:
        return {e for cls in self._classes.values() for e in cls.entities}

    def create(self, entities: Iterable[str] | None = None) -> list[Recognizer]:
        """Instances of every recognizer that finds at least one of `entities` (all when None)."""
        wanted = None if entities is None else set(entities)
        return [cls() for cls in self._classes.values() if wanted is None or wanted & set(cls.entities)]

"""A Typer command group that imports each sub-command on first use: a command pays for its own imports."""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperGroup
from typer.main import get_command_from_info, get_group_from_info


@dataclass(frozen=True)
class Lazy:
    """One sub-command: `attr` of `module` is a Typer app (`group=True`) or a command function."""

    name: str
    module: str
    attr: str
    group: bool = False


class _LazyCommands(MutableMapping[str, Any]):
    """The group's `commands` mapping: every name is known up front, a command is built when first looked up.

    Names iterate in table order without importing anything, so Typer's "did you mean" suggestions and
    list_commands stay cheap; only lookups (running a command, help listing) import a module.
    """

    def __init__(
        self, loaded: MutableMapping[str, Any], table: tuple[Lazy, ...], build: Callable[[Lazy], Any]
    ) -> None:
        self._loaded = dict(loaded)
        self._pending = {e.name: e for e in table if e.name not in self._loaded}
        self._order = [*self._loaded, *self._pending]
        self._build = build

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            entry = self._pending[name]  # KeyError means "no such command", as with a plain dict
            self._loaded[name] = self._build(entry)
            del self._pending[name]
        return self._loaded[name]

    def __setitem__(self, name: str, cmd: Any) -> None:
        if name not in self._loaded and name not in self._pending:
            self._order.append(name)
        self._pending.pop(name, None)
        self._loaded[name] = cmd

    def __delitem__(self, name: str) -> None:
        if name in self._pending:
            del self._pending[name]
        else:
            del self._loaded[name]
        self._order.remove(name)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._loaded or name in self._pending


class LazyTyperGroup(TyperGroup):
    """Subclass it with `table` set and pass it as `typer.Typer(cls=...)`; see `lazy_group`."""

    table: ClassVar[tuple[Lazy, ...]] = ()
    pretty_exceptions_short: ClassVar[bool] = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = _LazyCommands(self.commands, self.table, self._build)

    def list_commands(self, ctx: Any) -> list[str]:
        # TyperGroup iterates items(), which would import every command just to list their names
        return list(self.commands)

    def _build(self, entry: Lazy) -> Any:
        # Register through a throwaway Typer exactly as `app.add_typer` / `app.command` would, so the
        # command (help text, options, markup) is the same object an eager registration builds.
        target = getattr(importlib.import_module(entry.module), entry.attr)
        holder = typer.Typer()
        common = {
            "pretty_exceptions_short": self.pretty_exceptions_short,
            "rich_markup_mode": self.rich_markup_mode,
        }
        if entry.group:
            holder.add_typer(target, name=entry.name)
            return get_group_from_info(
                holder.registered_groups[0], suggest_commands=self.suggest_commands, **common
            )
        holder.command(name=entry.name)(target)
        return get_command_from_info(holder.registered_commands[0], **common)


def lazy_group(table: tuple[Lazy, ...], *, pretty_exceptions_short: bool = True) -> type[LazyTyperGroup]:
    """A LazyTyperGroup class for `table` (Typer takes a class, not an instance, hence the subclass)."""
    attrs = {"table": table, "pretty_exceptions_short": pretty_exceptions_short}
    return type("LazyGroup", (LazyTyperGroup,), attrs)

"""Registry operations on metadata only: list, history, promote, rollback, users, audit export and gc."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tuneguard.core import GateFailed, Ledger, UserError, Verdict

from . import access, meta

if TYPE_CHECKING:
    from .registry import Registry


class CatalogOps:
    def list(self: Registry) -> list[dict[str, Any]]:  # type: ignore[misc]
        """Every committed version, oldest first per name, with the aliases that point at it."""
        self._authorize("list", "*")
        pointed: dict[tuple[str, int], list[str]] = {}
        for (name, alias), version in meta.alias_map(self.engine).items():
            pointed.setdefault((name, version), []).append(alias)
        return [
            _public(row, sorted(pointed.get((row["name"], row["version"]), [])))
            for row in meta.committed_rows(self.engine)
        ]

    def history(self: Registry, name: str) -> dict[str, Any]:  # type: ignore[misc]
        self._authorize("history", name)
        rows = meta.committed_rows(self.engine, name)
        if not rows:
            raise UserError(f"{name}: no such artifact")
        current = {alias: v for (_n, alias), v in meta.alias_map(self.engine, name).items()}
        return {
            "name": name,
            "versions": [
                _public(r, sorted(a for a, v in current.items() if v == r["version"])) for r in rows
            ],
            "aliases": current,
            "alias_events": meta.alias_history(self.engine, name),
        }

    def promote(self: Registry, ref: str, alias: str) -> dict[str, Any]:  # type: ignore[misc]
        """Point `alias` at the version `ref` names (after its recorded gates pass, when policy asks)."""
        from .registry import ALIAS_RE

        self._authorize("promote", f"{ref} -> {alias}")
        if not ALIAS_RE.match(alias):
            raise UserError(f"--alias {alias!r}: start with a letter; letters, digits, '_' or '-'")
        name, version = self.resolve(ref)
        row = meta.version_row(self.engine, name, version)
        assert row is not None
        if self.policy.registry.require_gates_for_promotion:
            _check_gates(self, row)
        previous = meta.move_alias(self.engine, name, alias, version, "promote", self.principal.name)
        return {"name": name, "alias": alias, "from": previous, "to": version}

    def rollback(self: Registry, name: str, alias: str) -> dict[str, Any]:  # type: ignore[misc]
        """Move `alias` back to the target it had before its latest promotion."""
        self._authorize("rollback", f"{name}:{alias}")
        stack: list[int] = []
        for event in meta.alias_history(self.engine, name):
            if event["alias"] != alias:
                continue
            if event["action"] == "promote":
                stack.append(event["to_version"])
            elif stack:
                stack.pop()
        if not stack:
            raise UserError(f"{name}:{alias}: no such alias")
        if len(stack) < 2:
            raise UserError(
                f"{name}:{alias}: no earlier target to roll back to (only v{stack[-1]} was promoted)"
            )
        target = stack[-2]
        previous = meta.move_alias(self.engine, name, alias, target, "rollback", self.principal.name)
        return {"name": name, "alias": alias, "from": previous, "to": target}

    def add_user(self: Registry, name: str, role: str) -> str:  # type: ignore[misc]
        self._authorize("users", f"add {name} ({role})")
        return access.add_user(self.engine, name, role)

    def remove_user(self: Registry, name: str) -> None:  # type: ignore[misc]
        self._authorize("users", f"remove {name}")
        access.remove_user(self.engine, name)

    def users(self: Registry) -> list[dict[str, str]]:  # type: ignore[misc]
        self._authorize("users", "list")
        return access.list_users(self.engine)

    def audit(self: Registry) -> list[dict[str, Any]]:  # type: ignore[misc]
        """Every registry ledger entry (accesses allowed and denied, pushes, verifications)."""
        self._authorize("audit", "registry")
        with Ledger(self.home / "ledger.db", readonly=True) as ledger:
            return [e.to_dict() for e in ledger.entries(stage="registry")]

    def gc(self: Registry, older_than_s: float = 3600.0) -> dict[str, int]:  # type: ignore[misc]
        """Abort pushes pending longer than `older_than_s` (killed ones) and delete blobs no version owns."""
        self._authorize("users", "gc")
        aborted = 0
        for row in meta.stale_pending(self.engine, older_than_s):
            meta.mark_aborted(self.engine, row["prefix"])
            aborted += 1
        live = meta.known_prefixes(self.engine)
        removed = 0
        for prefix in self.store.prefixes():
            if prefix not in live:
                self.store.delete_prefix(prefix)
                removed += 1
        return {"aborted": aborted, "removed_prefixes": removed}


def _public(row: dict[str, Any], alias_names: list[str]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "version": row["version"],
        "ref": f"{row['name']}@v{row['version']}",
        "kind": row["kind"],
        "created": row["committed"],
        "actor": row["actor"],
        "files": row["files"],
        "size": row["size"],
        "digest": row["digest"],
        "signer": row["signer"],
        "key_id": row["key_id"],
        "lineage": json.loads(row["lineage"] or "{}"),
        "aliases": alias_names,
    }


def _gate_seqs(lineage: dict[str, Any]) -> list[int | str]:
    """Ledger seqs from lineage `gates` ("12,15" or a list) and `gate_seqs` ({stage: seq} as `tuneguard run`
    records it, or a list); None values (a stage that recorded nothing) are skipped."""
    found: list[int | str] = []
    for key in ("gates", "gate_seqs"):
        value = lineage.get(key)
        if isinstance(value, dict):
            value = list(value.values())
        elif isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        for item in value or []:
            if item is None:
                continue
            try:
                found.append(int(str(item).strip()))
            except ValueError:
                found.append(str(item).strip())
    return found


PASSING = (Verdict.PASS.value, Verdict.WARN.value)


def _check_gates(registry: Registry, row: dict[str, Any]) -> None:
    """Each recorded gate seq must lead to a passed stage result: the entry itself when it is one, else the
    first stage result of the same stage at or after it (the seq where that stage's run began)."""
    ref = f"{row['name']}@v{row['version']}"
    seqs = _gate_seqs(json.loads(row["lineage"] or "{}"))
    if not seqs:
        raise GateFailed(
            f"{ref}: no recorded gates (push with --lineage gates=SEQ[,SEQ...]); policy"
            " registry.require_gates_for_promotion is on"
        )
    with Ledger(registry.home / "ledger.db", readonly=True) as ledger:
        for seq in seqs:
            if not isinstance(seq, int):
                raise GateFailed(f"{ref}: lineage gates has a non-numeric ledger seq {seq!r}")
            entry = ledger.get(seq)
            if entry is None or entry.seq != seq:
                raise GateFailed(f"{ref}: gate ledger seq {seq} does not exist")
            if entry.kind != "stage_result":
                entry = next(
                    (e for e in ledger.entries(stage=entry.stage, kind="stage_result", since=seq)), None
                )
                if entry is None:
                    raise GateFailed(f"{ref}: no stage result follows gate ledger seq {seq}")
            verdict = entry.payload.get("verdict")
            if verdict not in PASSING:
                raise GateFailed(
                    f"{ref}: gate ledger seq {entry.seq} ({entry.stage}) did not pass (verdict {verdict})"
                )

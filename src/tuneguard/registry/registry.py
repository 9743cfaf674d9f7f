"""The registry: encrypted, signed, immutable versions of artifact folders, with aliases, lineage and roles.

`Registry.open()` is the local, single-owner registry (the owner is admin); the HTTP server builds one per
caller with that caller's role. Every operation, allowed or denied, is appended to the evidence ledger
(stage registry).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import tuneguard
from tuneguard.core import (
    Artifact,
    Ledger,
    Policy,
    StageResult,
    UserError,
    Verdict,
    load_policy,
    tuneguard_home,
)
from tuneguard.core.ledger import default_actor

from . import access, meta
from .blobs import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_OBJECT,
    BlobWriter,
    list_folder,
    wrap_associated_data,
)
from .catalog_ops import CatalogOps
from .crypto import IntegrityError, KeyProvider, key_provider
from .readback import ReadOps
from .signing import EcKeySigner
from .store import BlobStore, open_store

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
REF_RE = re.compile(r"^(?P<name>[^@:]+)(?:@v(?P<version>\d+)|:(?P<alias>[^@:]+))?$")
KINDS = ("model", "adapter", "dataset", "report")
LINEAGE_FILE = "tuneguard-adapter.json"
SV_REQUIREMENTS = ("SV-1", "SV-3", "SV-4", "SV-5", "DP-4")


class Registry(CatalogOps, ReadOps):
    """Push lives here; pull and verify come from ReadOps; queries, aliases, users and gc from CatalogOps."""

    def __init__(
        self,
        home: Path,
        policy: Policy,
        store: BlobStore,
        engine: Any,
        keys: KeyProvider,
        principal: access.Principal,
    ) -> None:
        self.home, self.policy, self.store, self.engine, self.keys = home, policy, store, engine, keys
        self.principal = principal
        self.signer = EcKeySigner(home / "keys")
        self.segment_size = policy.registry.segment_size
        workers = max(2, os.cpu_count() or 2)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tg-registry")
        self._window = 2 * workers + 2

    @classmethod
    def open(
        cls,
        home: str | os.PathLike[str] | None = None,
        *,
        policy: Policy | None = None,
        store_url: str | None = None,
        metadata_url: str | None = None,
        store_options: dict | None = None,
        keys: KeyProvider | None = None,
        principal: access.Principal | None = None,
    ) -> Registry:
        root = Path(home) if home is not None else tuneguard_home()
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        policy = policy or load_policy()
        store = open_store(
            store_url or os.environ.get("TUNEGUARD_REGISTRY_STORE") or policy.registry.store_url,
            root / "registry",
            **(store_options or {}),
        )
        engine = meta.make_engine(
            metadata_url or os.environ.get("TUNEGUARD_REGISTRY_DB") or policy.registry.metadata_url,
            root / "registry.db",
        )
        provider = keys or key_provider(None, root / "keys")
        return cls(
            root, policy, store, engine, provider, principal or access.Principal(default_actor(), "admin")
        )

    def as_principal(self, principal: access.Principal) -> Registry:
        """The same registry seen by another caller (the server makes one per request)."""
        view = object.__new__(Registry)
        view.__dict__.update(self.__dict__)
        view.principal = principal
        return view

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- evidence and access -------------------------------------------------------------------
    def _ledger(self) -> Ledger:
        return Ledger(self.home / "ledger.db")

    def _authorize(self, operation: str, subject: str) -> None:
        allowed = self.principal.allowed(operation)
        with self._ledger() as ledger:
            ledger.append(
                "registry",
                {"operation": operation, "subject": subject, "allowed": allowed, "role": self.principal.role},
                kind="access",
                actor=self.principal.name,
            )
        if not allowed:
            raise access.AccessDenied(f"role {self.principal.role!r} may not {operation} ({subject})")

    def _record(self, result: StageResult) -> None:
        with self._ledger() as ledger:
            ledger.record(result, actor=self.principal.name)

    def _result(self, verdict: Verdict, summary: str, **kw: Any) -> StageResult:
        return StageResult(
            stage="registry",
            verdict=verdict,
            summary=summary,
            requirements=SV_REQUIREMENTS,
            config_sha256=self.policy.digest(),
            tool_version=tuneguard.__version__,
            **kw,
        )

    # -- refs -----------------------------------------------------------------------------------
    def resolve(self, ref: str) -> tuple[str, int]:
        match = REF_RE.match(ref.strip())
        if not match or not NAME_RE.match(match["name"]):
            raise UserError(f"{ref!r}: not a reference (NAME, NAME@vN or NAME:alias)")
        name = match["name"]
        if match["version"]:
            number = int(match["version"])
            if meta.version_row(self.engine, name, number) is None:
                raise UserError(f"{name}@v{number}: no such version")
            return name, number
        if match["alias"]:
            target = meta.alias_map(self.engine, name).get((name, match["alias"]))
            if target is None:
                raise UserError(f"{name}:{match['alias']}: no such alias")
            return name, target
        latest = meta.latest_version(self.engine, name)
        if latest is None:
            raise UserError(f"{name}: no such artifact")
        return name, latest

    def _row(self, ref: str) -> dict[str, Any]:
        name, number = self.resolve(ref)
        row = meta.version_row(self.engine, name, number)
        assert row is not None
        return row

    def _data_key(self, row: dict[str, Any]) -> bytes:
        # A version is unwrapped by the provider that wrapped it, whatever the current default is.
        keys = (
            self.keys
            if row["key_provider"] == self.keys.name
            else key_provider(row["key_provider"], self.home / "keys")
        )
        try:
            return keys.unwrap(
                row["wrapped_key"], wrap_associated_data(row["name"], row["version"], row["prefix"])
            )
        except IntegrityError as exc:
            raise IntegrityError(f"{row['name']}@v{row['version']}: {exc}") from None

    # -- push -------------------------------------------------------------------------------------
    def push(
        self,
        folder: str | os.PathLike[str],
        name: str,
        kind: str = "model",
        lineage: dict[str, Any] | None = None,
    ) -> str:
        """Encrypt, sign and store `folder` as the next version of `name`; returns 'NAME@vN'."""
        self._authorize("push", name)
        if not NAME_RE.match(name):
            raise UserError(f"--name {name!r}: use letters, digits, '.', '_' or '-' (max 128)")
        if kind not in KINDS:
            raise UserError(f"--kind {kind!r}: one of {', '.join(KINDS)}")
        folder = Path(folder)
        files = list_folder(folder)
        lineage = {**_lineage_from_folder(folder), **(lineage or {})}
        started = time.perf_counter()
        with self._private_tmp("push") as tmp:
            sig_path = tmp / "model.sig"
            self.signer.sign(folder, sig_path)
            signature = sig_path.read_bytes()
        prefix, data_key, sig_object = secrets.token_hex(16), os.urandom(32), secrets.token_hex(16)
        version = meta.reserve_version(
            self.engine,
            {
                "name": name,
                "kind": kind,
                "prefix": prefix,
                "actor": self.principal.name,
                "key_provider": self.keys.name,
                "key_id": self.keys.key_id(),
                "wrapped_key": "",
            },
        )
        try:
            wrapped = self.keys.wrap(data_key, wrap_associated_data(name, version, prefix))
            entries = self._write_blobs(files, data_key, name, version, prefix, kind, signature, sig_object)
        except BaseException:
            # Not committed, so invisible; give the blobs back now rather than waiting for gc.
            meta.mark_aborted(self.engine, prefix)
            self.store.delete_prefix(prefix)
            raise
        digest = _sha256(signature)
        total = sum(e["size"] for e in entries)
        meta.commit_version(
            self.engine,
            prefix,
            wrapped_key=wrapped,
            signer=self.signer.key_id(),
            digest=digest,
            files=len(entries),
            size=total,
            lineage=meta.dumps(lineage),
        )
        ref = f"{name}@v{version}"
        seconds = time.perf_counter() - started
        self._record(
            self._result(
                Verdict.PASS,
                f"pushed {ref}",
                metrics={
                    "files": len(entries),
                    "bytes": total,
                    "seconds": round(seconds, 3),
                    "lineage": lineage,
                },
                artifacts=[Artifact(role=kind, path=ref, sha256=digest, size=total)],
            )
        )
        return ref

    def _write_blobs(
        self,
        files: list[tuple[str, Path, int]],
        data_key: bytes,
        name: str,
        version: int,
        prefix: str,
        kind: str,
        signature: bytes,
        sig_object: str,
    ) -> list[dict[str, Any]]:
        writer = BlobWriter(self.store, self._pool, self._window, self.segment_size)
        entries = []
        for rel, path, size in files:
            entry = {"path": rel, **writer.put_file(data_key, name, version, prefix, path)}
            if entry["size"] != size:
                raise UserError(
                    f"{path}: file changed while it was being pushed ({size} -> {entry['size']} bytes)"
                )
            entries.append(entry)
        writer.put_small(data_key, name, version, prefix, sig_object, signature)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": name,
            "version": version,
            "kind": kind,
            "segment_size": self.segment_size,
            "files": entries,
            "signature": {"object": sig_object, "signer": self.signer.key_id()},
        }
        writer.put_small(data_key, name, version, prefix, MANIFEST_OBJECT, json.dumps(manifest).encode())
        return entries

    @contextlib.contextmanager
    def _private_tmp(self, purpose: str):
        base = self.home / "tmp"
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = Path(tempfile.mkdtemp(prefix=f"{purpose}-", dir=base))  # mkdtemp is 0700
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _lineage_from_folder(folder: Path) -> dict[str, Any]:
    """Training writes tuneguard-adapter.json (base, base_sha256, dataset_sha256, run_id): lineage."""
    path = folder / LINEAGE_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    keys = ("base", "base_sha256", "dataset_sha256", "run_id", "probe_report")
    return {k: str(data[k]) for k in keys if isinstance(data, dict) and data.get(k) is not None}

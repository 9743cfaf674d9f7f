"""The model scan: list the files, hash and scan them in parallel, add provenance and model-card findings,
and return a ScanReport (the `model scan --json` shape)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuneguard.core import Finding, Severity, UserError
from tuneguard.core.early_hash import EARLY_HASHES
from tuneguard.core.policy import ModelPolicy

from .card import ModelCard, card_findings, read_model_card
from .provenance import sha256_stream
from .scanners import default_registry
from .types import Blob, ScanContext, ScannerRegistry

SKIP_DIRS = {".git", ".cache", "__pycache__", ".huggingface"}


@dataclass
class FileRecord:
    path: str
    size: int
    format: str = "unknown"
    sha256: str = ""
    expected_sha256: str | None = None

    @property
    def hash_ok(self) -> bool | None:
        return None if self.expected_sha256 is None else self.expected_sha256 == self.sha256

    def to_dict(self) -> dict[str, Any]:
        d = {"path": self.path, "format": self.format, "size": self.size, "sha256": self.sha256}
        if self.expected_sha256 is not None:
            d |= {"expected_sha256": self.expected_sha256, "hash_match": self.hash_ok}
        return d


@dataclass
class ScanReport:
    target: str
    kind: str  # "folder" | "file"
    files: list[FileRecord]
    findings: list[Finding]
    card: ModelCard | None
    seconds: float
    fail_severity: str = "high"
    scanners: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(f.severity.at_least(self.fail_severity) for f in self.findings)

    def counts(self) -> dict[str, int]:
        return {s.value: sum(1 for f in self.findings if f.severity is s) for s in Severity}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "target": self.target,
            "kind": self.kind,
            "verdict": "fail" if self.failed else "pass",
            "fail_severity": self.fail_severity,
            "counts": self.counts(),
            "seconds": round(self.seconds, 3),
            "bytes": sum(f.size for f in self.files),
            "scanners": self.scanners,
            "files": [f.to_dict() for f in self.files],
            "findings": [finding_dict(f) for f in self.findings],
            "model_card": self.card.to_dict() if self.card else None,
        }


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "file": f.location.get("file", f.subject),
        "format": f.location.get("format", ""),
        "check": f.check,
        "severity": f.severity.value,
        "message": f.message,
        "evidence": f.evidence,
        "requirements": list(f.requirements),
    }


def list_files(root: Path) -> tuple[list[Path], list[Finding]]:
    files: list[Path] = []
    findings: list[Finding] = []
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if p.is_symlink():
                target = p.resolve()
                rel = str(p.relative_to(root))
                if not target.is_relative_to(real_root):
                    findings.append(
                        Finding(
                            check="model.file.symlink_escape",
                            severity=Severity.HIGH,
                            message=f"symlink points outside the model folder to {target}",
                            requirements=("BM-4",),
                            subject=rel,
                            location={"file": rel},
                        )
                    )
                    continue
            if p.is_file():
                files.append(p)
    return files, findings


def _expected(expect: dict[str, str], rel: str) -> str | None:
    return expect.get(rel) or expect.get(Path(rel).name)


def scan_path(
    path: str | os.PathLike[str],
    policy: ModelPolicy | None = None,
    expect: dict[str, str] | None = None,
    registry: ScannerRegistry | None = None,
    on_bytes: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> ScanReport:
    """Scan a model file or folder without loading it. `on_bytes` is called as hashing advances."""
    start = time.perf_counter()
    root = Path(path)
    if not root.exists():
        raise UserError(f"{path}: no such file or folder")
    policy = policy or ModelPolicy()
    registry = registry or default_registry()
    expect = {**{k: v.lower() for k, v in policy.publisher_hashes.items()}, **(expect or {})}
    if root.is_dir():
        kind, base = "folder", root
        paths, findings = list_files(root)
    else:
        kind, base, paths, findings = "file", root.parent, [root], []
    ctx = ScanContext(registry=registry, policy=policy, root=base)
    records = {p: FileRecord(str(p.relative_to(base)), p.stat().st_size) for p in paths}
    workers = workers or min(max(len(paths), 1), os.cpu_count() or 1, 8)
    by_size = sorted(paths, key=lambda p: records[p].size, reverse=True)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="model-scan") as pool:
        # A file the console entry point began hashing at start-up is claimed, not hashed again.
        hashes = {
            p: EARLY_HASHES.claim(p, on_bytes) or pool.submit(sha256_stream, p, on_bytes) for p in by_size
        }
        scans = {p: pool.submit(ctx.scan_blob, Blob.from_file(p, records[p].path)) for p in by_size}
        for p in paths:
            records[p].sha256 = hashes[p].result()
            findings.extend(scans[p].result())
            records[p].format = ctx.formats.get(records[p].path, "unknown")
    files = [records[p] for p in paths]
    findings.extend(_provenance(files, expect))
    card = None
    if kind == "folder":
        card = read_model_card(root)
        findings.extend(card_findings(card, policy, str(root)))
    elif records[root].format == "gguf":
        card = gguf_card(ctx.metadata.get(records[root].path, {}))
        if card.license:
            findings.extend(card_findings(card, policy, str(root), folder=False))
    findings.sort(key=lambda f: (-f.severity.rank, f.subject, f.check))
    return ScanReport(
        str(root),
        kind,
        files,
        findings,
        card,
        time.perf_counter() - start,
        policy.fail_severity,
        registry.names(),
    )


def _provenance(files: list[FileRecord], expect: dict[str, str]) -> list[Finding]:
    out: list[Finding] = []
    seen: set[str] = set()
    for rec in files:
        exp = _expected(expect, rec.path)
        if exp is None:
            continue
        seen.update({rec.path, Path(rec.path).name})
        rec.expected_sha256 = exp
        if not rec.hash_ok:
            out.append(
                Finding(
                    check="model.provenance.hash_mismatch",
                    severity=Severity.CRITICAL,
                    message="SHA-256 differs from the publisher's hash",
                    requirements=("BM-5",),
                    subject=rec.path,
                    location={"file": rec.path},
                    evidence={"expected": exp, "actual": rec.sha256},
                )
            )
    for name in sorted(set(expect) - seen):
        out.append(
            Finding(
                check="model.provenance.missing_file",
                severity=Severity.HIGH,
                message="publisher lists a hash for a file that is not here",
                requirements=("BM-5",),
                subject=name,
                location={"file": name},
            )
        )
    return out


def gguf_card(meta: dict[str, Any]) -> ModelCard:
    """Model-card fields from GGUF `general.*` metadata (a single GGUF file carries its own card)."""
    from .card import normalize_license

    card = ModelCard()
    card.metadata = {k: v for k, v in meta.items() if isinstance(v, str | int | float)}
    card.license = normalize_license(meta.get("general.license"))
    card.license_source = "gguf general.license" if card.license else ""
    card.base_model = [
        str(v)
        for k, v in meta.items()
        if k.startswith("general.base_model.") and k.endswith((".repo_url", ".name"))
    ]
    card.datasets = [
        str(v) for k, v in meta.items() if k.startswith("general.dataset") and k.endswith(".name")
    ]
    return card

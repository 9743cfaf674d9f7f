"""What every scanner shares: a Blob to read, the ScanContext that recurses into members, the registry."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from tuneguard.core import Finding, Severity
from tuneguard.core.policy import ModelPolicy

REQ_ARTIFACT = ("BM-4",)


@dataclass(frozen=True, slots=True)
class Blob:
    """A byte stream to scan: a file on disk, or a member inside an archive ("outer!inner")."""

    name: str
    size: int
    opener: Callable[[], BinaryIO]
    path: Path | None = None
    depth: int = 0

    def head(self, n: int) -> bytes:
        with self.opener() as fh:
            return fh.read(n)

    @classmethod
    def from_file(cls, path: Path, name: str | None = None) -> Blob:
        return cls(name or str(path), path.stat().st_size, lambda: open(path, "rb"), path)  # noqa: SIM115

    @classmethod
    def from_bytes(cls, data: bytes, name: str, depth: int = 0) -> Blob:
        return cls(name, len(data), lambda: io.BytesIO(data), None, depth)


class Scanner:
    """One artifact format: subclasses set `name`, `formats`, `description` and implement `scan`."""

    name: ClassVar[str] = ""
    formats: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""

    def scan(self, blob: Blob, ctx: ScanContext) -> list[Finding]:
        raise NotImplementedError


class ScannerRegistry:
    """Scanners by name and by the formats they handle; an instance, never module-level state."""

    def __init__(self, scanners: Iterable[Scanner] = ()) -> None:
        self._by_name: dict[str, Scanner] = {}
        for scanner in scanners:
            self.register(scanner)

    def register(self, scanner: Scanner) -> None:
        if not scanner.name or scanner.name in self._by_name:
            raise ValueError(f"scanner name {scanner.name!r} is empty or already registered")
        self._by_name[scanner.name] = scanner

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def get(self, name: str) -> Scanner:
        return self._by_name[name]

    def for_format(self, fmt: str) -> list[Scanner]:
        return [s for s in self._by_name.values() if fmt in s.formats]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_name.values())


@dataclass
class ScanContext:
    """Settings and recursion for one scan; `scan_blob` detects a blob's format and runs its scanners."""

    registry: ScannerRegistry
    policy: ModelPolicy = field(default_factory=ModelPolicy)
    root: Path | None = None
    max_depth: int = 4
    max_member_bytes: int = 512 << 20
    formats: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)  # per blob, e.g. GGUF general.*

    def finding(
        self,
        check: str,
        severity: Severity,
        message: str,
        blob: Blob | str,
        requirements: tuple[str, ...] = REQ_ARTIFACT,
        **evidence: Any,
    ) -> Finding:
        name = blob if isinstance(blob, str) else blob.name
        return Finding(
            check=check,
            severity=severity,
            message=message,
            requirements=requirements,
            subject=name,
            location={"file": name, "format": self.formats.get(name, "")},
            evidence=evidence,
        )

    def scan_blob(self, blob: Blob, fmt: str | None = None) -> list[Finding]:
        from .detect import detect_format

        if blob.depth > self.max_depth:
            return [
                self.finding(
                    "model.archive.too_deep",
                    Severity.HIGH,
                    f"nesting deeper than {self.max_depth} levels; not scanned",
                    blob,
                )
            ]
        try:
            fmt = fmt or detect_format(blob)
        except Exception as exc:  # noqa: BLE001 - unreadable input is a finding, not a crash
            return [self.finding("model.file.unreadable", Severity.HIGH, f"cannot read: {exc}", blob)]
        self.formats[blob.name] = fmt
        findings: list[Finding] = []
        for scanner in self.registry.for_format(fmt):
            try:
                findings.extend(scanner.scan(blob, self))
            except Exception as exc:  # noqa: BLE001 - a scanner failure must never pass silently
                findings.append(
                    self.finding(
                        f"model.{scanner.name}.error",
                        Severity.HIGH,
                        f"{scanner.name} scanner could not parse the file: {type(exc).__name__}: {exc}",
                        blob,
                    )
                )
        return findings

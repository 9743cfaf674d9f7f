"""Reading versions back: pull (decrypt, verify, rename into place) and verify (decrypt to a wiped private
folder, check the signature and every file's hash, name every file that does not match)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuneguard.core import Finding, GateFailed, Severity, UserError, Verdict

from .blobs import BlobReader, safe_relative
from .crypto import IntegrityError
from .result import VerifyResult

if TYPE_CHECKING:
    from .registry import Registry


class ReadOps:
    def _open_version(self: Registry, ref: str) -> tuple[dict[str, Any], bytes, dict[str, Any], BlobReader]:
        row = self._row(ref)
        data_key = self._data_key(row)
        reader = BlobReader(self.store, self._pool, self._window)
        manifest = reader.manifest(data_key, row["name"], row["version"], row["prefix"])
        return row, data_key, manifest, reader

    def _decrypt_into(
        self: Registry,  # type: ignore[misc]
        row: dict[str, Any],
        data_key: bytes,
        manifest: dict[str, Any],
        reader: BlobReader,
        target: Path,
        *,
        keep_going: bool,
    ) -> list[dict[str, str]]:
        problems = []
        for entry in manifest["files"]:
            out = target / safe_relative(entry["path"])
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                with open(out, "wb") as fh:
                    reader.get_file(
                        data_key,
                        row["name"],
                        row["version"],
                        row["prefix"],
                        entry,
                        fh.write,
                        manifest["segment_size"],
                    )
            except IntegrityError as exc:
                out.unlink(missing_ok=True)
                if not keep_going:
                    raise
                problems.append({"file": entry["path"], "message": str(exc)})
        return problems

    def _check_signature(
        self: Registry,  # type: ignore[misc]
        row: dict[str, Any],
        data_key: bytes,
        manifest: dict[str, Any],
        reader: BlobReader,
        folder: Path,
        tmp: Path,
        skip: set[str],
    ) -> list[dict[str, str]]:
        label = f"{row['name']}@v{row['version']} signature"
        try:
            bundle = reader.small(
                data_key, row["name"], row["version"], row["prefix"], manifest["signature"]["object"], label
            )
        except IntegrityError as exc:
            return [{"file": "signature", "message": str(exc)}]
        if hashlib.sha256(bundle).hexdigest() != row["digest"]:
            return [{"file": "signature", "message": f"{label}: does not match the digest recorded at push"}]
        (tmp / "model.sig").write_bytes(bundle)
        return [
            {"file": p.file or "signature", "message": p.message}
            for p in self.signer.verify(folder, tmp / "model.sig")
            if p.file not in skip
        ]

    def pull(self: Registry, ref: str, out_dir: str | os.PathLike[str]) -> Path:
        """Decrypt and verify `ref` into `out_dir` (written in a temp folder, renamed when verified)."""
        self._authorize("pull", ref)
        out = Path(out_dir)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise UserError(f"{out}: already exists and is not an empty folder")
        try:
            row, data_key, manifest, reader = self._open_version(ref)
        except IntegrityError as exc:
            raise GateFailed(str(exc)) from None
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.pull-", dir=out.parent))
        try:
            try:
                self._decrypt_into(row, data_key, manifest, reader, staging, keep_going=False)
            except IntegrityError as exc:
                raise GateFailed(f"{row['name']}@v{row['version']}: {exc}") from None
            with self._private_tmp("pull") as tmp:
                problems = self._check_signature(row, data_key, manifest, reader, staging, tmp, set())
            if problems:
                raise GateFailed("; ".join(p["message"] for p in problems))
            os.chmod(staging, 0o755)  # noqa: S103 (a normal folder for the user, like mkdir)
            if out.exists():
                out.rmdir()
            os.replace(staging, out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return out

    def verify(self: Registry, ref: str) -> VerifyResult:
        """Decrypt every blob into a private temp folder (wiped after); check the signature and every hash."""
        self._authorize("verify", ref)
        name, number = self.resolve(ref)
        label = f"{name}@v{number}"
        problems: list[dict[str, str]] = []
        files = 0
        with self._private_tmp("verify") as tmp:
            try:
                row, data_key, manifest, reader = self._open_version(label)
            except IntegrityError as exc:
                problems.append({"file": "manifest", "message": str(exc)})
            else:
                files = len(manifest["files"])
                (tmp / "content").mkdir(mode=0o700)
                problems = self._decrypt_into(
                    row, data_key, manifest, reader, tmp / "content", keep_going=True
                )
                failed = {p["file"] for p in problems}
                problems += self._check_signature(
                    row, data_key, manifest, reader, tmp / "content", tmp, failed
                )
        result = VerifyResult(ref=label, ok=not problems, files=files, problems=problems)
        findings = [
            Finding(
                check="registry.integrity",
                severity=Severity.CRITICAL,
                message=p["message"],
                requirements=("SV-5",),
                subject=label,
                location={"file": p["file"]},
            )
            for p in problems
        ]
        self._record(
            self._result(
                Verdict.PASS if result.ok else Verdict.FAIL,
                f"verify {label}: {'ok' if result.ok else f'{len(problems)} problem(s)'}",
                findings=findings,
                metrics={"files": files},
            )
        )
        return result

"""Zip scanner (PyTorch zip checkpoints, .npz, .keras, plain zips): member names, links, bombs, and every
member scanned recursively in memory, never extracted to disk."""

from __future__ import annotations

import re
import stat
import struct
import zipfile
import zlib

from tuneguard.core import Finding, Severity

from ..types import Blob, ScanContext, Scanner
from .archive_rules import check_member_name

TORCH_STORAGE = re.compile(r"(^|/)data/\d+$")
TORCH_PLAIN = re.compile(
    r"(^|/)(version|byteorder|\.data/version|\.data/serialization_id|\.format_version"
    r"|\.storage_alignment)$"
)
MAX_RATIO = 200
MAX_TOTAL = 64 << 30


def _raw_member(fh, info: zipfile.ZipInfo) -> bytes:
    """Read a member from its local header the way lenient loaders do (ignoring flags, CRC and the name)."""
    fh.seek(info.header_offset)
    header = fh.read(30)
    if header[:4] != b"PK\x03\x04":
        raise ValueError("no local file header at the recorded offset")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    data = fh.read(info.compress_size)
    if info.compress_type == zipfile.ZIP_DEFLATED:
        return zlib.decompressobj(-15).decompress(data, 1 << 31)
    if info.compress_type == zipfile.ZIP_STORED:
        return data
    raise ValueError(f"compression method {info.compress_type} not supported")


class ZipScanner(Scanner):
    name = "zip"
    formats = ("zip", "pytorch-zip", "npz", "keras")
    description = "Zip containers: traversal, symlinks, compression bombs, evasive headers, recursive members"

    def scan(self, blob: Blob, ctx: ScanContext) -> list[Finding]:
        kind = ctx.formats.get(blob.name, "zip")
        findings: list[Finding] = []
        with blob.opener() as fh:
            try:
                zf = zipfile.ZipFile(fh)
            except (zipfile.BadZipFile, OSError) as exc:
                return [ctx.finding("model.zip.malformed", Severity.HIGH, f"unreadable zip: {exc}", blob)]
            with zf:
                infos = zf.infolist()
                total = sum(i.file_size for i in infos)
                if total > MAX_TOTAL:
                    findings.append(
                        ctx.finding(
                            "model.archive.bomb",
                            Severity.HIGH,
                            f"declares {total} uncompressed bytes",
                            blob,
                            total=total,
                        )
                    )
                for info in infos:
                    findings.extend(self._member(zf, fh, info, blob, ctx, kind))
        return findings

    def _member(
        self, zf: zipfile.ZipFile, fh, info: zipfile.ZipInfo, blob: Blob, ctx: ScanContext, kind: str
    ) -> list[Finding]:
        name = info.filename
        member = f"{blob.name}!{name}"
        out = [ctx.finding(c, s, m, member) for c, s, m in check_member_name(name)]
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            out.append(
                ctx.finding(
                    "model.archive.symlink", Severity.HIGH, "symbolic link inside the archive", member
                )
            )
            return out
        if info.is_dir():
            return out
        if (
            info.compress_size
            and info.file_size / info.compress_size > MAX_RATIO
            and info.file_size > 1 << 20
        ):
            out.append(
                ctx.finding(
                    "model.archive.bomb",
                    Severity.HIGH,
                    f"compression ratio {info.file_size // info.compress_size}:1",
                    member,
                    ratio=info.file_size // info.compress_size,
                )
            )
            return out
        if kind == "pytorch-zip" and (TORCH_STORAGE.search(name) or TORCH_PLAIN.search(name)):
            return out  # raw tensor bytes: torch reads them as storage, never through an unpickler
        try:
            with zf.open(info) as probe:
                probe.read(1)
            child = _crc_tolerant(zf, info, member, blob.depth + 1)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError) as exc:
            # Lenient readers (torch's) still load what strict zipfile refuses: scan what they would see.
            out.append(
                ctx.finding(
                    "model.zip.evasive_header",
                    Severity.HIGH,
                    f"member headers disagree or are flagged unreadable ({exc}); "
                    "scanned as a lenient loader would read it",
                    member,
                )
            )
            try:
                child = Blob.from_bytes(_raw_member(fh, info), member, blob.depth + 1)
            except (ValueError, zlib.error, OSError) as raw_exc:
                out.append(
                    ctx.finding("model.zip.malformed", Severity.HIGH, f"unreadable member: {raw_exc}", member)
                )
                return out
        if info.file_size > ctx.max_member_bytes:
            out.append(
                ctx.finding(
                    "model.archive.member_too_large",
                    Severity.MEDIUM,
                    f"member of {info.file_size} bytes not scanned",
                    member,
                )
            )
            return out
        out.extend(ctx.scan_blob(child))
        return out


def _crc_tolerant(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, depth: int) -> Blob:
    """Members are read with the CRC check off: torch ignores CRCs, so a bad CRC must not hide a payload."""

    def opener():
        stream = zf.open(info)
        stream._expected_crc = None  # noqa: SLF001 - zipfile has no public switch for this
        return stream

    return Blob(name, info.file_size, opener, None, depth)


def read_member_bytes(zf: zipfile.ZipFile, name: str, limit: int = 64 << 20) -> bytes | None:
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    if info.file_size > limit:
        return None
    with zf.open(info) as fh:
        return fh.read(limit + 1)

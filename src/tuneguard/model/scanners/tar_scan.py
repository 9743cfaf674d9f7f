"""Tar scanner (.tar, .tgz, .tar.bz2, .tar.xz): traversal, links, devices; members scanned in memory."""

from __future__ import annotations

import tarfile

from tuneguard.core import Finding, Severity

from ..types import Blob, ScanContext, Scanner
from .archive_rules import check_member_name

MAX_TOTAL = 64 << 30


class TarScanner(Scanner):
    name = "tar"
    formats = ("tar",)
    description = "Tar containers: traversal, symlinks/hardlinks, device files, recursive members"

    def scan(self, blob: Blob, ctx: ScanContext) -> list[Finding]:
        findings: list[Finding] = []
        with blob.opener() as fh:
            try:
                tf = tarfile.open(fileobj=fh, mode="r:*")  # noqa: SIM115 - closed below
            except (tarfile.TarError, OSError, EOFError) as exc:
                return [ctx.finding("model.tar.malformed", Severity.HIGH, f"unreadable tar: {exc}", blob)]
            with tf:
                total = 0
                try:
                    members = tf.getmembers()
                except (tarfile.TarError, OSError, EOFError) as exc:
                    return [ctx.finding("model.tar.malformed", Severity.HIGH, f"unreadable tar: {exc}", blob)]
                for m in members:
                    member = f"{blob.name}!{m.name}"
                    findings.extend(ctx.finding(c, s, msg, member) for c, s, msg in check_member_name(m.name))
                    if m.issym() or m.islnk():
                        findings.append(
                            ctx.finding(
                                "model.archive.symlink",
                                Severity.HIGH,
                                f"link member pointing to {m.linkname!r}",
                                member,
                                target=m.linkname,
                            )
                        )
                        continue
                    if m.isdev() or m.isfifo():
                        findings.append(
                            ctx.finding(
                                "model.archive.device", Severity.HIGH, "device or FIFO member", member
                            )
                        )
                        continue
                    if not m.isfile():
                        continue
                    total += m.size
                    if m.size > ctx.max_member_bytes:
                        findings.append(
                            ctx.finding(
                                "model.archive.member_too_large",
                                Severity.MEDIUM,
                                f"member of {m.size} bytes not scanned",
                                member,
                            )
                        )
                        continue
                    extracted = tf.extractfile(m)
                    data = extracted.read() if extracted else b""
                    findings.extend(ctx.scan_blob(Blob.from_bytes(data, member, blob.depth + 1)))
                if total > MAX_TOTAL or (blob.size and total / max(blob.size, 1) > 1000 and total > 1 << 30):
                    findings.append(
                        ctx.finding(
                            "model.archive.bomb",
                            Severity.HIGH,
                            f"expands to {total} bytes",
                            blob,
                            total=total,
                        )
                    )
        return findings

"""Member-name rules shared by the zip and tar scanners: where would extraction write this file?"""

from __future__ import annotations

from tuneguard.core import Severity


def check_member_name(name: str) -> list[tuple[str, Severity, str]]:
    norm = name.replace("\\", "/")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    out: list[tuple[str, Severity, str]] = []
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        out.append(("model.archive.absolute_path", Severity.HIGH, f"absolute member path {name!r}"))
    if ".." in parts:
        out.append(("model.archive.path_traversal", Severity.HIGH, f"member path {name!r} leaves the folder"))
    if "\x00" in name:
        out.append(("model.archive.nul_in_name", Severity.HIGH, "NUL byte in member name"))
    return out

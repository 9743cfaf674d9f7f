"""Format scanners one by one: safetensors header rules, chat-template Jinja check, provenance hashing."""

from __future__ import annotations

import hashlib
import json

import pytest

from tuneguard.core import Severity
from tuneguard.model.jinja_check import check_template
from tuneguard.model.provenance import hash_files, parse_expect
from tuneguard.model.scanners import default_registry
from tuneguard.model.types import Blob, ScanContext

from .corpus import SMOL_TEMPLATE, _safetensors


def checks_of(data: bytes, name: str) -> set[str]:
    return {f.check for f in ScanContext(default_registry()).scan_blob(Blob.from_bytes(data, name))}


def test_safetensors_real_file_passes(tmp_path) -> None:
    import torch
    from safetensors.torch import save_file

    save_file(
        {
            "a": torch.zeros(3, 5),
            "b": torch.ones(7, dtype=torch.int64),
            "c": torch.zeros(1, dtype=torch.bool),
        },
        str(tmp_path / "m.safetensors"),
    )
    assert checks_of((tmp_path / "m.safetensors").read_bytes(), "m.safetensors") == set()


def test_safetensors_gap_and_metadata() -> None:
    hdr = {"__metadata__": {"k": 1}, "a": {"dtype": "U8", "shape": [2], "data_offsets": [4, 6]}}
    assert {"model.safetensors.gap", "model.safetensors.bad_metadata"} <= checks_of(
        _safetensors(hdr, b"\0" * 6), "m.safetensors"
    )


def test_safetensors_unaligned_is_medium() -> None:
    hdr = {
        "a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},
        "b": {"dtype": "F32", "shape": [1], "data_offsets": [1, 5]},
    }
    found = ScanContext(default_registry()).scan_blob(
        Blob.from_bytes(_safetensors(hdr, b"\0" * 5), "m.safetensors")
    )
    assert [(f.check, f.severity) for f in found] == [("model.safetensors.unaligned", Severity.MEDIUM)]


def test_safetensors_reads_only_the_header(tmp_path) -> None:
    """A 64 MiB data section is never read: the scan opens the file and reads 8 + header bytes."""
    hdr = json.dumps({"a": {"dtype": "U8", "shape": [64 << 20], "data_offsets": [0, 64 << 20]}}).encode()
    p = tmp_path / "big.safetensors"
    with open(p, "wb") as fh:
        fh.write(len(hdr).to_bytes(8, "little") + hdr)
        fh.truncate(8 + len(hdr) + (64 << 20))
    reads: list[int] = []

    class Counting:
        def __init__(self):
            self.fh = open(p, "rb")  # noqa: SIM115

        def read(self, n=-1):
            data = self.fh.read(n)
            reads.append(len(data))
            return data

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    blob = Blob("big.safetensors", p.stat().st_size, Counting, p)
    assert ScanContext(default_registry()).scan_blob(blob, "safetensors") == []
    assert sum(reads) <= 8 + len(hdr)


LLAMA3_LIKE = (
    "{% set ns = namespace(found=false) %}{% for m in messages %}{% if m.role == 'system' %}"
    "{% set ns.found = true %}{% endif %}{{ '<|start|>' + m['role'] + '\n' + m['content'] | trim }}"
    "{% endfor %}{% if tools %}{{ tools | tojson(indent=2) }}{% endif %}"
    "{% if add_generation_prompt %}{{ '<|start|>assistant' }}{% endif %}{{ raise_exception('x') "
    "if false }}{{ messages[-1]['content'].split('x')[0] }}{{ strftime_now('%Y') }}"
)


@pytest.mark.parametrize("template", [SMOL_TEMPLATE, LLAMA3_LIKE])
def test_benign_templates_pass(template) -> None:
    assert check_template(template) == []


@pytest.mark.slow
def test_embedded_gguf_template_passes() -> None:
    from gguf import GGUFReader

    from tuneguard.core import embedded_model_path

    reader = GGUFReader(embedded_model_path(), "r")
    template = reader.fields["tokenizer.chat_template"].contents()
    assert "im_start" in template and check_template(template) == []


@pytest.mark.parametrize(
    "template,check",
    [
        ("{{ x.__class__ }}", "model.template.dunder_access"),
        ("{{ x['__class__'] }}", "model.template.dunder_access"),
        ("{{ x|attr('__dict__') }}", "model.template.dunder_access"),
        ("{{ x|map(attribute='__class__')|list }}", "model.template.dunder_access"),
        ("{{ x|attr(y) }}", "model.template.dynamic_attr"),
        ("{{ x[('_'*2)~'class'~('_'*2)] }}", "model.template.dynamic_key"),
        ("{{ cycler.next }}", "model.template.gadget_global"),
        ("{{ '{0.__class__}'.format(x) }}", "model.template.format_gadget"),
        ("{{ x.gi_frame }}", "model.template.escape_attr"),
        ("{% include 'other.j2' %}", "model.template.loads_templates"),
        ("{% for %}", "model.template.syntax"),
    ],
)
def test_template_gadgets(template, check) -> None:
    assert check in {i.check for i in check_template(template)}


def test_parallel_hashes_match_hashlib(tmp_path) -> None:
    files = []
    for i, size in enumerate((0, 1, (4 << 20) + 3, 9 << 20)):
        p = tmp_path / f"f{i}"
        p.write_bytes(bytes([i]) * size)
        files.append(p)
    seen: list[int] = []
    got = hash_files(files, workers=3, on_bytes=seen.append)
    assert got == {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    assert sum(seen) == sum(p.stat().st_size for p in files)


def test_mmap_windows_and_read_fallback_agree(tmp_path) -> None:
    from tuneguard.model.provenance import sha256_stream

    p = tmp_path / "f"
    p.write_bytes(bytes(range(256)) * 40_000)
    want = hashlib.sha256(p.read_bytes()).hexdigest()
    assert sha256_stream(p, chunk=1 << 20) == sha256_stream(p, chunk=3 << 20) == want
    (tmp_path / "empty").write_bytes(b"")
    assert sha256_stream(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


def test_parse_expect_rejects_bad_input() -> None:
    from tuneguard.core import UserError

    assert parse_expect([f"a=b={'A' * 64}"]) == {"a=b": "a" * 64}
    for bad in ("nohash", "f=123", f"={'a' * 64}"):
        with pytest.raises(UserError):
            parse_expect([bad])

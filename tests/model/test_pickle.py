"""Pickle walker and classifier: stack simulation, malformed input, and one regression test per published
scanner bypass (fickling GHSAs, picklescan CVEs)."""

from __future__ import annotations

import io
import random

import pytest

from tuneguard.core import Severity
from tuneguard.model.scanners import default_registry
from tuneguard.model.scanners.pickle_policy import classify_global
from tuneguard.model.scanners.pickle_walk import walk_pickle
from tuneguard.model.types import Blob, ScanContext

from . import pickle_asm as a
from .corpus import _torch_zip, pickle_tricks


def scan_bytes(data: bytes, name: str = "x.pkl"):
    ctx = ScanContext(default_registry())
    return ctx.scan_blob(Blob.from_bytes(data, name))


def worst(findings) -> Severity | None:
    return max((f.severity for f in findings), key=lambda s: s.rank, default=None)


def imports(data: bytes) -> set[str]:
    walk = walk_pickle(io.BytesIO(data))
    return {f"{g.module}.{g.name}" for g in walk.globals}


@pytest.fixture(scope="module")
def tricks(tmp_path_factory) -> dict[str, bytes]:
    return pickle_tricks(tmp_path_factory.mktemp("s") / "SENTINEL")


# --- stack simulation -------------------------------------------------------------------------------------


def test_memo_resolves_names_for_stack_global(tricks) -> None:
    assert "os.system" in imports(tricks["memo_names"])
    assert "subprocess.getoutput" in imports(tricks["long_memo_names"])


def test_string_opcodes_feed_stack_global(tricks) -> None:
    assert "os.system" in imports(tricks["string_ops_stack_global"])


def test_inst_and_obj_targets(tricks) -> None:
    assert "os.system" in imports(tricks["inst_opcode"])
    assert "pty.spawn" in imports(tricks["obj_pty_spawn"])


def test_reduce_records_call_target(tricks) -> None:
    walk = walk_pickle(io.BytesIO(tricks["reduce_os_system"]))
    assert ("posix.system", walk.calls[0][1]) == walk.calls[0]


def test_stack_global_from_non_constant_is_flagged() -> None:
    data = a.proto(4) + a.EMPTY_TUPLE + a.sbu("system") + a.STACK_GLOBAL + a.STOP
    findings = scan_bytes(data)
    assert "model.pickle.unresolved_import" in {f.check for f in findings}


@pytest.mark.parametrize("cut", [1, 3, 7, 12, 20])
def test_truncated_stream_is_a_finding_not_a_crash(tricks, cut) -> None:
    data = tricks["reduce_os_system"][:-cut]
    findings = scan_bytes(data)
    assert "model.pickle.malformed" in {f.check for f in findings}


def test_random_corruption_never_crashes(tricks) -> None:
    rng = random.Random(4)
    base = tricks["getattr_importlib"]
    for _ in range(300):
        raw = bytearray(base)
        for _ in range(rng.randint(1, 6)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        findings = scan_bytes(bytes(raw))
        assert all(f.severity for f in findings)


def test_real_torch_pickles_are_allowlisted(tmp_path) -> None:
    import torch

    torch.save({"w": torch.randn(2, 2), "p": torch.nn.Parameter(torch.ones(1))}, tmp_path / "m.pt")
    torch.save(
        torch.nn.Linear(2, 2).state_dict(), tmp_path / "legacy.pt", _use_new_zipfile_serialization=False
    )
    for p in (tmp_path / "m.pt", tmp_path / "legacy.pt"):
        ctx = ScanContext(default_registry())
        assert ctx.scan_blob(Blob.from_file(p)) == [], p


# --- classification ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module,name",
    [
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch", "FloatStorage"),
        ("collections", "OrderedDict"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("__builtin__", "set"),
        ("torch.nn.modules.linear", "Linear"),
    ],
)
def test_allowlisted(module, name) -> None:
    assert classify_global(module, name).severity is None


@pytest.mark.parametrize(
    "module,name",
    [
        ("os", "system"),
        ("posix", "system"),
        ("nt", "system"),
        ("subprocess", "Popen"),
        ("builtins", "exec"),
        ("builtins", "__import__"),
        ("runpy", "_run_code"),
        ("importlib", "import_module"),
        ("socket", "socket"),
        ("shutil", "rmtree"),
        ("_pickle", "loads"),
        ("pip._internal.cli.main", "main"),
        ("asyncio.subprocess", "create_subprocess_shell"),
        ("operator", "methodcaller"),
        ("functools", "partial"),
        ("torch.serialization", "os.system"),
        ("collections", "OrderedDict.__init__.__globals__"),
        ("torch.nn.modules.linear", "Linear.__reduce__"),
    ],
)
def test_dangerous_is_critical(module, name) -> None:
    assert classify_global(module, name).severity is Severity.CRITICAL


@pytest.mark.parametrize(
    "module,name",
    [
        ("logging.config", "listen"),
        ("transformers.training_args", "TrainingArguments"),
        ("zipfile", "ZipFile"),
    ],
)
def test_unknown_is_high(module, name) -> None:
    assert classify_global(module, name).severity is Severity.HIGH


# --- published bypasses, one test each -----------------------------------------------------------------

BYPASSES = {
    # trailofbits/fickling security advisories (unsafe-import lists that missed a module)
    "GHSA-r7v6-mfhq-g3m2 pty.spawn via STACK_GLOBAL+memo": ("obj_pty_spawn", Severity.CRITICAL),
    "GHSA-565g-hwwr-4pp3 marshal.loads + types.FunctionType": ("marshal_function", Severity.CRITICAL),
    "GHSA-wfq2-52f7-7qvj runpy.run_path": ("runpy_run_path", Severity.CRITICAL),
    "GHSA-p523-jq9w-64x9 cProfile.run": ("cprofile_run", Severity.CRITICAL),
    "GHSA-q5qq-mvfm-j35x ctypes via getattr": ("ctypes_cdll", Severity.CRITICAL),
    "GHSA-5hvc-6wx8-mvv4 pydoc.locate": ("pydoc_locate", Severity.CRITICAL),
    "GHSA-q5qq-mvfm-j35x importlib.import_module via getattr": ("getattr_importlib", Severity.CRITICAL),
    "GHSA-q5qq-mvfm-j35x code.InteractiveInterpreter": ("code_interactive", Severity.CRITICAL),
    "GHSA-q5qq-mvfm-j35x multiprocessing.util.spawnv_passfds": ("multiprocessing_spawn", Severity.CRITICAL),
    # mmaitre314/picklescan advisories
    "CVE-2025-1716 pip.main not on the denylist": ("pip_main", Severity.CRITICAL),
    "CVE-2025-10157 submodule of a banned package": ("asyncio_submodule", Severity.CRITICAL),
    "numpy.testing runstring": ("numpy_runstring", Severity.CRITICAL),
    # protectai/modelscan and picklescan issue reports
    "modelscan#85 BUILD setattr on an allowed function feeding STACK_GLOBAL": (
        "build_setattr_stack_global",
        Severity.CRITICAL,
    ),
    "modelscan#330 numpy.__builtins__ then eval": ("module_builtins_dunder", Severity.CRITICAL),
    "picklescan#14 memo confusion (BINPUT mixed with MEMOIZE)": ("memo_confusion", Severity.CRITICAL),
    "modelscan#267 nested pickle.loads": ("nested_pickle_loads", Severity.CRITICAL),
    # general techniques
    "payload in a second pickle after a benign one": ("second_stream", Severity.CRITICAL),
    "payload before a truncation": ("truncated_after_payload", Severity.CRITICAL),
    "attribute chain through an allowlisted module": ("attr_chain_torch_os", Severity.CRITICAL),
    "nested pickle in a bytes argument": ("nested_pickle_bytes", Severity.CRITICAL),
    "Python 2 module alias": ("py2_builtin_alias", Severity.CRITICAL),
    "callable on no denylist": ("unlisted_logging_listen", Severity.HIGH),
    "copyreg extension registry": ("ext_registry", Severity.HIGH),
}


@pytest.mark.parametrize("case", sorted(BYPASSES))
def test_published_bypass(case, tricks) -> None:
    trick, severity = BYPASSES[case]
    for ext in (".pkl", ".bin", ".weird"):
        assert worst(scan_bytes(tricks[trick], f"sample{ext}")) is severity, (case, ext)


def test_cve_2025_10155_extension_does_not_matter(tricks, tmp_path) -> None:
    """picklescan skipped pickles whose extension it treated as another format; detection is by magic."""
    for ext in (".txt", ".safetensors", ".json.bak", ""):
        p = tmp_path / f"model{ext}"
        p.write_bytes(tricks["reduce_os_system"])
        ctx = ScanContext(default_registry())
        assert worst(ctx.scan_blob(Blob.from_file(p))) is Severity.CRITICAL, ext


@pytest.mark.parametrize("mutate", ["crc", "name", "flag"])
def test_cve_2025_1944_1945_10156_zip_header_tricks(tricks, mutate) -> None:
    """Bad CRC (CVE-2025-10156), local/central name mismatch (CVE-2025-1944), flag bits (CVE-2025-1945):
    strict zip readers refuse the member, torch loads it; we flag the header and scan the bytes anyway."""
    from .corpus import _corrupt_crc, _flag_encrypted, _rename_local

    data = _torch_zip(tricks["reduce_os_system"])
    data = {
        "crc": _corrupt_crc,
        "flag": _flag_encrypted,
        "name": lambda d: _rename_local(d, b"archive/data.pkx"),
    }[mutate](data)
    findings = scan_bytes(data, "model.pt")
    assert {"model.zip.evasive_header", "model.pickle.dangerous_global"} <= {f.check for f in findings}


def test_torch_storage_bytes_are_not_parsed_as_pickle() -> None:
    data = _torch_zip(b"\x80\x02}q\x00.")  # storage member starts with \x80\x02 by design
    assert scan_bytes(data, "model.pt") == []

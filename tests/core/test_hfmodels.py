import json
from pathlib import Path

import pytest

from tuneguard.core import UserError, materialize_model, model_digest
from tuneguard.core.hfmodels import CONVERTED_MARKER


@pytest.mark.slow
def test_embedded_converts_once_to_safetensors(embedded_folder: Path) -> None:
    assert (embedded_folder / "model.safetensors").stat().st_size > 100_000_000
    assert (embedded_folder / "config.json").is_file()
    config = json.loads((embedded_folder / "config.json").read_text())
    assert "quantization_config" not in config
    marker = json.loads((embedded_folder / CONVERTED_MARKER).read_text())
    assert marker["sha256"] == model_digest("embedded")
    assert materialize_model("embedded") == embedded_folder  # cached, no second conversion


def test_bad_specs(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        materialize_model(tmp_path / "missing")
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(UserError, match="unsupported file type"):
        materialize_model(tmp_path / "weights.bin")
    (tmp_path / "folder").mkdir()
    with pytest.raises(UserError, match="no config.json"):
        materialize_model(tmp_path / "folder")

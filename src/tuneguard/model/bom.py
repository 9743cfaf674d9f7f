"""CycloneDX 1.6 ML-BOM: the model as a machine-learning-model component with every file's SHA-256, its
license, model-card fields and, for an adapter, a dependency on its base model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .engine import ScanReport

ADAPTER_MARKERS = ("adapter_config.json", "tuneguard-adapter.json")


def _base_model(root: Path, report: ScanReport) -> tuple[str | None, str | None]:
    """(base model id, its sha256 if known) for an adapter folder; (None, None) otherwise."""
    if report.kind != "folder":
        return None, None
    base, digest = None, None
    for name in ("tuneguard-adapter.json", "adapter_config.json"):
        path = root / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text("utf-8"))
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        base = base or data.get("base") or data.get("base_model_name_or_path")
        digest = digest or data.get("base_sha256")
    return (str(base) if base else None), (str(digest) if digest else None)


def build_bom(report: ScanReport, name: str | None = None, version: str | None = None) -> dict[str, Any]:
    """The BOM as a JSON-ready dict, validated against the CycloneDX 1.6 schema."""
    from cyclonedx.contrib.license.factories import LicenseFactory
    from cyclonedx.exception import MissingOptionalDependencyException
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    import tuneguard

    root = Path(report.target)
    card = report.card
    name = (
        name or (card.metadata.get("general.name") if card and report.kind == "file" else None) or root.name
    )
    sha = (
        [HashType(alg=HashAlgorithm.SHA_256, content=f.sha256) for f in report.files]
        if report.kind == "file"
        else []
    )
    licenses = (
        [LicenseFactory().make_from_string(card.license.removeprefix("other:"))]
        if card and card.license
        else []
    )
    props = [
        Property(name="tuneguard:scan_verdict", value="fail" if report.failed else "pass"),
        Property(name="tuneguard:tool_version", value=tuneguard.__version__),
    ]
    if card:
        props += [Property(name="tuneguard:base_model", value=b) for b in card.base_model]
        props += [Property(name="tuneguard:dataset", value=d) for d in card.datasets]
        if card.intended_use:
            props.append(Property(name="tuneguard:intended_use", value=card.intended_use))
        if card.license_source:
            props.append(Property(name="tuneguard:license_source", value=card.license_source))
    files = (
        [
            Component(
                type=ComponentType.FILE,
                name=f.path,
                bom_ref=f"file:{f.path}",
                hashes=[HashType(alg=HashAlgorithm.SHA_256, content=f.sha256)],
                properties=[
                    Property(name="tuneguard:format", value=f.format),
                    Property(name="tuneguard:size", value=str(f.size)),
                ],
            )
            for f in report.files
        ]
        if report.kind == "folder"
        else []
    )
    model = Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        name=name,
        version=version,
        bom_ref="model",
        hashes=sha,
        licenses=licenses,
        properties=props,
        components=files,
    )
    bom = Bom()
    bom.metadata.component = model
    base, base_sha = _base_model(root, report)
    if base:
        base_comp = Component(
            type=ComponentType.MACHINE_LEARNING_MODEL,
            name=base,
            bom_ref="base-model",
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=base_sha)] if base_sha else [],
        )
        bom.components.add(base_comp)
        bom.register_dependency(model, [base_comp])
    else:
        bom.register_dependency(model, [])
    data = json.loads(JsonV1Dot6(bom).output_as_string())
    _add_model_card(data, report)
    try:
        error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(data))
    except MissingOptionalDependencyException:  # jsonschema absent: the library's own output is trusted
        error = None
    if error is not None:
        raise ValueError(f"generated BOM does not validate against CycloneDX 1.6: {error}")
    return data


def _add_model_card(data: dict[str, Any], report: ScanReport) -> None:
    """cyclonedx-python-lib has no modelCard type yet, so the 1.6 `modelCard` object is added to the JSON."""
    card = report.card
    if card is None:
        return
    params: dict[str, Any] = {}
    if card.datasets:
        params["datasets"] = [{"type": "dataset", "name": d} for d in card.datasets]
    task = card.metadata.get("pipeline_tag")
    if isinstance(task, str):
        params["task"] = task
    arch = card.metadata.get("general.architecture")
    if isinstance(arch, str):
        params["architectureFamily"] = arch
    model_card: dict[str, Any] = {}
    if params:
        model_card["modelParameters"] = params
    if card.intended_use:
        model_card["considerations"] = {"useCases": [card.intended_use]}
    if not model_card:
        return
    for comp in [data.get("metadata", {}).get("component"), *data.get("components", [])]:
        if isinstance(comp, dict) and comp.get("bom-ref") == "model":
            comp["modelCard"] = model_card

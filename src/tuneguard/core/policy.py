"""The policy file (tuneguard.toml): per-stage thresholds and paths, validated so that a bad key is named."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .canonical import canonical_json
from .errors import UserError
from .files import sha256_bytes

POLICY_ENV = "TUNEGUARD_CONFIG"
DEFAULT_POLICY_FILE = "tuneguard.toml"

SeverityName = Literal["info", "low", "medium", "high", "critical"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class DataPolicy(_Section):
    fail_severity: SeverityName = Field(
        "medium", description="findings at or above this count against the gate"
    )
    max_findings: int = Field(0, ge=0, description="scan fails when more findings reach fail_severity")
    default_operator: Literal[
        "mask", "redact", "placeholder", "pseudonym", "tokenize", "drop-record", "keep"
    ] = "placeholder"
    operators: dict[
        str, Literal["mask", "redact", "placeholder", "pseudonym", "tokenize", "drop-record", "keep"]
    ] = Field(default_factory=dict, description="entity name -> operator, overrides default_operator")
    max_record_chars: int = Field(100_000, gt=0)
    near_duplicate_threshold: float = Field(0.9, gt=0, le=1)
    drop_duplicates: bool = False
    checks: list[str] = Field(default_factory=list, description="empty = every default check")
    ner_backend: str | None = Field(
        None, description="spaCy model name/path or 'hf:PATH' for PERSON/LOCATION"
    )


class ModelPolicy(_Section):
    license_allow: list[str] = Field(
        default_factory=lambda: [
            "apache-2.0",
            "mit",
            "bsd-2-clause",
            "bsd-3-clause",
            "cc-by-4.0",
            "cc-by-sa-4.0",
            "openrail",
            "openrail++",
            "creativeml-openrail-m",
            "bigscience-openrail-m",
            "llama3",
            "llama3.1",
            "llama3.2",
            "gemma",
            "mpl-2.0",
        ]
    )
    license_deny: list[str] = Field(
        default_factory=lambda: ["cc-by-nc-4.0", "cc-by-nc-sa-4.0", "cc-by-nc-nd-4.0", "agpl-3.0", "unknown"]
    )
    require_model_card: bool = False
    publisher_hashes: dict[str, str] = Field(default_factory=dict, description="file name -> expected sha256")
    fail_severity: SeverityName = "high"


class ProbePolicy(_Section):
    suites: list[str] = Field(
        default_factory=lambda: ["harmful", "jailbreak", "injection", "pii-leak", "over-refusal"]
    )
    limit: int | None = Field(None, gt=0, description="items per suite; none = all")
    concurrency: int = Field(8, gt=0)
    max_new_tokens: int = Field(96, gt=0)
    alpha: float = Field(0.05, gt=0, lt=1)
    margin_overall: float = Field(0.05, ge=0, le=1)
    margin_category: float = Field(0.10, ge=0, le=1)
    judge: str = "default"
    cache: bool = True


class TrainPolicy(_Section):
    base: str = "embedded"
    max_steps: int | None = Field(None, gt=0)
    epochs: float = Field(1.0, gt=0)
    lr: float = Field(2e-4, gt=0)
    lora_r: int = Field(8, gt=0)
    lora_alpha: int = Field(16, gt=0)
    batch_size: int = Field(8, gt=0)
    max_seq_length: int = Field(512, gt=0)
    seed: int = 0
    canaries: int = Field(0, ge=0)
    canary_repeats: int = Field(0, ge=0)
    max_canary_exposure: float = Field(10.0, ge=0, description="bits; above this the privacy test fails")
    allow_ungated: bool = False
    probe_after: bool = True


class RegistryPolicy(_Section):
    name: str | None = None
    require_gates_for_promotion: bool = True
    segment_size: int = Field(1 << 20, ge=4096)
    store_url: str | None = Field(None, description="None = TUNEGUARD_HOME/registry; or s3://bucket/prefix")
    metadata_url: str | None = Field(None, description="SQLAlchemy URL; None = SQLite under TUNEGUARD_HOME")


class ServePolicy(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, gt=0, lt=65536)
    upstream: str | None = None
    max_body_bytes: int = Field(8 << 20, gt=0)
    rate_limit_per_minute: int = Field(600, gt=0)
    input_pii: Literal["block", "redact", "log"] = "redact"
    input_injection: Literal["block", "redact", "log"] = "block"
    output_pii: Literal["block", "redact", "log"] = "redact"
    log_raw_text: bool = False
    webhooks: list[str] = Field(default_factory=list)
    tls_cert: str | None = None
    tls_key: str | None = None
    debug: bool = False
    upstream_timeout_s: float = Field(60.0, gt=0)
    output_canary: Literal["block", "redact", "log"] = "block"
    output_judge: Literal["block", "log", "off"] = "log"
    canaries: list[str] = Field(default_factory=list)


class PipelinePolicy(_Section):
    dataset: str | None = None
    base_model: str = "embedded"
    output_dir: str = "out"
    report_dir: str = "report"
    serve_check: bool = False


class Policy(_Section):
    data: DataPolicy = Field(default_factory=DataPolicy)
    model: ModelPolicy = Field(default_factory=ModelPolicy)
    probe: ProbePolicy = Field(default_factory=ProbePolicy)
    train: TrainPolicy = Field(default_factory=TrainPolicy)
    registry: RegistryPolicy = Field(default_factory=RegistryPolicy)
    serve: ServePolicy = Field(default_factory=ServePolicy)
    pipeline: PipelinePolicy = Field(default_factory=PipelinePolicy)

    source: str | None = Field(None, exclude=True, description="file the policy came from; None = defaults")

    def digest(self) -> str:
        """SHA-256 of the effective settings, recorded with every stage result."""
        return sha256_bytes(canonical_json(self.model_dump(mode="json", exclude={"source"})).encode())


def _format_error(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            lines.append(f"{path}: unknown key '{key}'")
        else:
            lines.append(f"{path}: key '{key}': {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)


def parse_policy(text: str, path: str | Path = "<string>") -> Policy:
    path = Path(path)
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: invalid TOML: {exc}") from exc
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        raise UserError(_format_error(path, exc)) from None
    policy.source = str(path)
    return policy


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    """Load `path`, else $TUNEGUARD_CONFIG, else ./tuneguard.toml if present, else library defaults."""
    explicit = path or os.environ.get(POLICY_ENV)
    candidate = Path(explicit) if explicit else Path(DEFAULT_POLICY_FILE)
    if not candidate.exists():
        if explicit:
            raise UserError(f"{candidate}: policy file not found")
        return Policy()
    try:
        text = candidate.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{candidate}: cannot read policy file: {exc}") from exc
    return parse_policy(text, candidate)


def default_policy_text() -> str:
    """The commented default tuneguard.toml that `tuneguard init` writes."""
    from importlib import resources

    return resources.files("tuneguard.core").joinpath("default_policy.toml").read_text("utf-8")

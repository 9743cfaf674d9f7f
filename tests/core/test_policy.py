from pathlib import Path

import pytest

from tuneguard.core import Policy, UserError, load_policy, parse_policy
from tuneguard.core.policy import default_policy_text


def test_defaults_when_no_file(tg_home: Path) -> None:
    policy = load_policy()
    assert policy.source is None and policy.data.max_findings == 0


def test_shipped_template_equals_library_defaults() -> None:
    parsed = parse_policy(default_policy_text(), "tuneguard.toml")
    assert parsed.digest() == Policy().digest()


def test_valid_overrides(tmp_path: Path) -> None:
    path = tmp_path / "tuneguard.toml"
    path.write_text(
        '[data]\nmax_findings = 3\noperators = { EMAIL_ADDRESS = "pseudonym" }\n[probe]\nlimit = 10\n'
    )
    policy = load_policy(path)
    assert policy.data.max_findings == 3 and policy.probe.limit == 10
    assert policy.data.operators["EMAIL_ADDRESS"] == "pseudonym"
    assert policy.digest() != Policy().digest()


@pytest.mark.parametrize(
    "text, needle",
    [
        ("[data]\nmax_findngs = 3\n", "unknown key 'data.max_findngs'"),
        ("[data]\nmax_findings = -1\n", "key 'data.max_findings'"),
        ("[probe]\nalpha = 2\n", "key 'probe.alpha'"),
        ("[serve]\ninput_pii = 'explode'\n", "key 'serve.input_pii'"),
        ("[nonsense]\n", "unknown key 'nonsense'"),
        ("[data\n", "invalid TOML"),
    ],
)
def test_errors_name_the_key(text: str, needle: str) -> None:
    with pytest.raises(UserError) as err:
        parse_policy(text, "conf.toml")
    assert needle in str(err.value) and "conf.toml" in str(err.value)


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        load_policy(tmp_path / "nope.toml")

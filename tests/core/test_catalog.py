import re

from tuneguard.core import CheckSpec, load_catalog

from ..conftest import SHARED


def test_catalog_matches_reference_requirements() -> None:
    catalog = load_catalog()
    reference = SHARED / "reference" / "requirements.md"
    ids = catalog.ids()
    assert len(ids) == len(set(ids)) == 29
    if reference.exists():
        ref_ids = re.findall(r"^\| ((?:DP|BM|FT|SV|DM)-\d+) \|", reference.read_text(), flags=re.M)
        assert ids == ref_ids
    for req in catalog.requirements:
        assert req.title and req.description and req.evidence
        assert any(m.startswith("AI-STR-01 FT-") for m in req.mapped_to)
        for o in req.owasp:
            assert o in catalog.owasp
        for a in req.atlas:
            assert a in catalog.atlas


def test_coverage_lists_checks_per_requirement() -> None:
    catalog = load_catalog()
    checks = [
        CheckSpec("x.one", "data", "one", ("DP-1", "DP-2")),
        CheckSpec("x.two", "data", "two", ("DP-1",)),
    ]
    cover = catalog.coverage(checks)
    assert [c.id for c in cover["DP-1"]] == ["x.one", "x.two"]
    assert cover["SV-1"] == []

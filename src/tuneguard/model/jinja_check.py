"""Chat-template (Jinja) static check: parse with jinja2 (never render) and walk the AST for sandbox-escape
gadgets: dunder or private attribute access, template-global internals, dynamic attribute lookups."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, nodes
from jinja2.exceptions import TemplateSyntaxError

from tuneguard.core import Severity

# Globals the default Jinja environment offers whose internals lead to Python objects.
GADGET_GLOBALS = frozenset(
    {
        "cycler",
        "joiner",
        "namespace",
        "lipsum",
        "range",
        "dict",
        "self",
        "config",
        "request",
        "url_for",
        "get_flashed_messages",
        "g",
        "session",
    }
)
ESCAPE_ATTRS = frozenset(
    {
        "mro",
        "func_globals",
        "f_globals",
        "gi_frame",
        "gi_code",
        "tb_frame",
        "f_back",
        "cr_frame",
        "ag_frame",
        "im_func",
        "func_code",
        "format_map",
    }
)
GETATTR_FILTERS = frozenset(
    {"attr", "map", "selectattr", "rejectattr", "groupby", "sort", "sum", "unique", "min", "max"}
)


@dataclass(frozen=True, slots=True)
class TemplateIssue:
    check: str
    severity: Severity
    message: str
    line: int


def _is_dunder(name: str) -> bool:
    return name.startswith("__") or name.endswith("__")


def check_template(source: str) -> list[TemplateIssue]:
    try:
        ast = Environment().parse(source)  # noqa: S701 - parsed, never rendered
    except TemplateSyntaxError as exc:
        return [
            TemplateIssue(
                "model.template.syntax",
                Severity.MEDIUM,
                f"template does not parse: {exc.message}",
                exc.lineno,
            )
        ]
    issues: list[TemplateIssue] = []
    for node in ast.find_all(nodes.Node):
        issues.extend(_check_node(node))
    return issues


def _check_node(node: nodes.Node) -> list[TemplateIssue]:  # noqa: C901
    line = getattr(node, "lineno", 0)
    out: list[TemplateIssue] = []
    if isinstance(node, nodes.Getattr):
        if _is_dunder(node.attr):
            out.append(
                TemplateIssue(
                    "model.template.dunder_access",
                    Severity.CRITICAL,
                    f"access to {node.attr!r} (sandbox escape gadget)",
                    line,
                )
            )
        elif node.attr.startswith("_"):
            out.append(
                TemplateIssue(
                    "model.template.private_access",
                    Severity.HIGH,
                    f"access to private attribute {node.attr!r}",
                    line,
                )
            )
        elif node.attr in ESCAPE_ATTRS:
            out.append(
                TemplateIssue("model.template.escape_attr", Severity.HIGH, f"access to {node.attr!r}", line)
            )
        if (
            isinstance(node.node, nodes.Name)
            and node.node.name in GADGET_GLOBALS
            and node.node.ctx == "load"
            and node.node.name in ("cycler", "joiner", "lipsum", "self", "config", "request", "url_for")
        ):
            out.append(
                TemplateIssue(
                    "model.template.gadget_global",
                    Severity.HIGH,
                    f"attribute {node.attr!r} of template global {node.node.name!r}",
                    line,
                )
            )
    elif isinstance(node, nodes.Getitem):
        key = node.arg
        if isinstance(key, nodes.Const) and isinstance(key.value, str):
            if _is_dunder(key.value) or key.value.startswith("_"):
                out.append(
                    TemplateIssue(
                        "model.template.dunder_access",
                        Severity.CRITICAL,
                        f"subscript {key.value!r} (sandbox escape gadget)",
                        line,
                    )
                )
        elif not isinstance(
            key,
            nodes.Const
            | nodes.Name
            | nodes.Getattr
            | nodes.Getitem
            | nodes.Slice
            | nodes.Sub
            | nodes.Add
            | nodes.Neg,
        ):
            out.append(
                TemplateIssue(
                    "model.template.dynamic_key",
                    Severity.HIGH,
                    "subscript with a computed key (can spell a dunder name)",
                    line,
                )
            )
    elif isinstance(node, nodes.Filter) and node.name in GETATTR_FILTERS:
        for arg in [*node.args, *(kw.value for kw in node.kwargs)]:
            if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
                if (
                    "__" in arg.value
                    or arg.value.startswith("_")
                    or any(part.startswith("_") for part in arg.value.split("."))
                ):
                    out.append(
                        TemplateIssue(
                            "model.template.dunder_access",
                            Severity.CRITICAL,
                            f"filter {node.name}() with {arg.value!r}",
                            line,
                        )
                    )
            elif node.name == "attr":
                out.append(
                    TemplateIssue(
                        "model.template.dynamic_attr",
                        Severity.HIGH,
                        "attr() filter with a computed name",
                        line,
                    )
                )
    elif (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Getattr)
        and node.node.attr in ("format", "format_map")
        and isinstance(node.node.node, nodes.Const)
        and isinstance(node.node.node.value, str)
        and "{" in node.node.node.value
        and any(c in node.node.node.value for c in ".[")
    ):
        out.append(
            TemplateIssue(
                "model.template.format_gadget",
                Severity.HIGH,
                "str.format with attribute lookups in the format string",
                line,
            )
        )
    elif (
        isinstance(node, nodes.Const)
        and isinstance(node.value, str)
        and any(g in node.value for g in ("__globals__", "__builtins__", "__subclasses__", "__import__"))
    ):
        out.append(
            TemplateIssue(
                "model.template.dunder_string",
                Severity.HIGH,
                "string literal naming an interpreter internal",
                line,
            )
        )
    elif isinstance(node, nodes.Import | nodes.FromImport | nodes.Include | nodes.Extends):
        out.append(
            TemplateIssue(
                "model.template.loads_templates",
                Severity.MEDIUM,
                "template imports/includes other templates",
                line,
            )
        )
    return out

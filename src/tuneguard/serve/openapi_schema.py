"""OpenAPI operations for the proxied endpoints (served as plain ASGI, so described here by hand)."""

from __future__ import annotations

from typing import Any

_MESSAGE = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"type": "string", "enum": ["system", "user", "assistant", "tool", "developer"]},
        "content": {"type": "string", "maxLength": 100000},
    },
}
_COMMON = {
    "model": {"type": "string", "maxLength": 200},
    "stream": {"type": "boolean"},
    "max_tokens": {"type": "integer", "minimum": 1, "maximum": 4096},
    "temperature": {"type": "number", "minimum": 0, "maximum": 2},
}
CHAT_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["model", "messages"],
                "properties": {
                    **_COMMON,
                    "messages": {"type": "array", "minItems": 1, "maxItems": 64, "items": _MESSAGE},
                },
            }
        }
    },
}
COMPLETION_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["model", "prompt"],
                "properties": {**_COMMON, "prompt": {"type": "string", "maxLength": 100000}},
            }
        }
    },
}


def _operation(summary: str, description: str, op_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "tags": ["openai"],
            "summary": summary,
            "description": description,
            "operationId": op_id,
            "requestBody": body,
            "responses": {
                "200": {"description": "Successful Response", "content": {"application/json": {"schema": {}}}}
            },
        }
    }


def completion_paths() -> dict[str, Any]:
    """The two completion operations, in the shape FastAPI gave them when they were FastAPI routes."""
    return {
        "/v1/chat/completions": _operation(
            "Chat Completions",
            "OpenAI chat completions, guarded (supports `stream: true`).",
            "chat_completions_v1_chat_completions_post",
            CHAT_BODY,
        ),
        "/v1/completions": _operation(
            "Completions",
            "OpenAI text completions, guarded (supports `stream: true`).",
            "completions_v1_completions_post",
            COMPLETION_BODY,
        ),
    }


_ERRORS = {
    "400": "malformed JSON or blocked by an input guard",
    "401": "missing or invalid API key",
    "403": "the key's role may not use this endpoint",
    "413": "body over the size limit",
    "429": "rate limit exceeded",
    "502": "upstream unreachable or failing",
}


def patch_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Add bearer security and the documented error statuses to every authenticated operation."""
    schema.setdefault("components", {})["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer"}
    }
    for path, ops in schema.get("paths", {}).items():
        if path == "/healthz":
            continue
        for op in ops.values():
            op["security"] = [{"bearerAuth": []}]
            for code, text in _ERRORS.items():
                if code in ("400", "413") and "requestBody" not in op:
                    continue
                op.setdefault("responses", {}).setdefault(code, {"description": text})
    return schema

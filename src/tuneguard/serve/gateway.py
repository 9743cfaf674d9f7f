"""Per-request gateway work: auth, body limits, guards, bookkeeping (routes: app.py, completions.py)."""

from __future__ import annotations

import base64
import logging
import time
from pathlib import Path
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.types import Receive

from tuneguard.core.policy import ServePolicy

from .anomaly import AnomalyDetector
from .audit import AuditWriter
from .guards import Placeholders, build_guards, judge_error
from .keys import ApiKey, KeyStore
from .limits import RateLimiter
from .metrics import GatewayMetrics, LiveSeries

log = logging.getLogger("tuneguard.serve")
GUARDED_ROLES_SKIP = {"system", "developer", "assistant"}  # the operator's own prompt and earlier model turns


class ApiError(Exception):
    def __init__(self, status: int, etype: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.etype, self.message, self.headers = status, etype, message, headers or {}


class ClientGone(Exception):
    """The client disconnected before its request body arrived."""


class Gateway:
    """Everything one gateway instance holds; the routes are thin wrappers over its methods."""

    def __init__(
        self,
        policy: ServePolicy,
        upstream: str,
        keys: KeyStore,
        ledger_path: Path | None,
        templates: tuple[str | Path, ...],
        detector: AnomalyDetector | None,
        holdback: int,
    ) -> None:
        self.policy, self.upstream, self.keys = policy, upstream, keys
        self.inputs, self.outputs = build_guards(policy, templates)
        self.metrics = GatewayMetrics()
        self.live = LiveSeries()
        self.limiter = RateLimiter(policy.rate_limit_per_minute)
        self.holdback = holdback
        self.guard_status = {g.name: g.available() for g in [*self.inputs.guards, *self.outputs.guards]}
        judge_on = policy.output_judge != "off"
        if judge_on:
            error = judge_error()
            self.guard_status["output_judge"] = (not error, error)
        self.audit = AuditWriter(
            ledger_path,
            detector=detector or AnomalyDetector(),
            judge=judge_on,
            log_raw_text=policy.log_raw_text,
            webhooks=policy.webhooks,
            on_alert=self._on_alert,
        )
        self.client: Any = None

    def _on_alert(self, alert: dict[str, Any]) -> None:
        self.metrics.child(self.metrics.anomalies, alert["signal"], alert["scope"]).inc()
        self.live.add_alert(alert)

    # -- auth ---------------------------------------------------------------------------------------
    def authenticate(self, request: Request, roles: tuple[str, ...], basic: bool = False) -> ApiKey:
        return self.authorize(request.headers.get("authorization", ""), roles, basic)

    def authorize(self, header: str, roles: tuple[str, ...], basic: bool = False) -> ApiKey:
        """The key in an Authorization header value, if it is valid and its role is one of `roles`."""
        scheme, _, value = header.partition(" ")
        token = None
        if scheme.lower() == "bearer":
            token = value.strip()
        elif basic and scheme.lower() == "basic":
            try:
                token = base64.b64decode(value.strip(), validate=True).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                token = None
        key = self.keys.authenticate(token)
        challenge = {"WWW-Authenticate": 'Basic realm="tuneguard"' if basic else "Bearer"}
        if key is None:
            raise ApiError(
                401,
                "authentication_error",
                "missing or invalid API key (Authorization: Bearer ...)",
                challenge,
            )
        if key.role not in roles:
            raise ApiError(403, "permission_error", f"role '{key.role}' may not use this endpoint")
        return key

    # -- body ---------------------------------------------------------------------------------------
    async def read_json(self, declared: bytes | None, receive: Receive) -> dict[str, Any]:
        """The request body (an ASGI `receive`) as a JSON object, within `max_body_bytes`."""
        limit = self.policy.max_body_bytes
        if declared is not None:
            if not declared.isdigit():
                raise ApiError(400, "invalid_request_error", "invalid Content-Length header")
            if int(declared) > limit:
                raise ApiError(413, "request_too_large", f"request body exceeds {limit} bytes")
        parts, size = [], 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                raise ClientGone
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise ApiError(413, "request_too_large", f"request body exceeds {limit} bytes")
            parts.append(chunk)
            if not msg.get("more_body", False):
                break
        try:
            body = orjson.loads(parts[0] if len(parts) == 1 else b"".join(parts))
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "invalid_request_error", f"request body is not valid JSON ({exc})") from None
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_request_error", "request body must be a JSON object")
        return body

    # -- guards -------------------------------------------------------------------------------------
    def guard_input(self, body: dict[str, Any], chat: bool, hits: list[dict[str, Any]]) -> str:
        """Guard the prompt text in place; returns the guarded prompt text (for hashing)."""
        texts: list[str] = []
        placeholder = Placeholders()

        def check(text: str) -> str:
            verdict = self.inputs.apply(text, placeholder)
            self._count(verdict.hits, hits)
            if verdict.blocked:
                raise ApiError(
                    400,
                    "guard_blocked",
                    f"request blocked by the {verdict.blocked_by} guard",
                    {"x-tuneguard-blocked": verdict.blocked_by},
                )
            texts.append(verdict.text)
            return verdict.text

        if chat:
            messages = body.get("messages")
            if not isinstance(messages, list) or not messages:
                raise ApiError(400, "invalid_request_error", "'messages' must be a non-empty array")
            for i, msg in enumerate(messages):
                if not isinstance(msg, dict):
                    raise ApiError(400, "invalid_request_error", f"messages[{i}] must be an object")
                role = msg.get("role")
                if not isinstance(role, str):
                    raise ApiError(400, "invalid_request_error", f"messages[{i}].role must be a string")
                if role in GUARDED_ROLES_SKIP:
                    continue
                content = msg.get("content")
                if isinstance(content, str):
                    msg["content"] = check(content)
                elif isinstance(content, list):
                    for part in content:
                        if isinstance(part, dict) and isinstance(part.get("text"), str):
                            part["text"] = check(part["text"])
                elif content is not None:
                    raise ApiError(
                        400, "invalid_request_error", f"messages[{i}].content must be a string or array"
                    )
        else:
            prompt = body.get("prompt")
            if isinstance(prompt, str):
                body["prompt"] = check(prompt)
            elif isinstance(prompt, list) and all(isinstance(p, str) for p in prompt):
                body["prompt"] = [check(p) for p in prompt]
            else:
                raise ApiError(
                    400, "invalid_request_error", "'prompt' must be a string or an array of strings"
                )
        return "\n".join(texts)

    def _count(self, verdict_hits: list[Any], hits: list[dict[str, Any]]) -> None:
        for hit in verdict_hits:
            self.metrics.child(self.metrics.guard_hits, hit.guard, hit.kind, hit.action).inc(hit.count)
            hits.append(hit.to_dict())

    def guard_output(self, data: dict[str, Any], chat: bool, hits: list[dict[str, Any]]) -> tuple[str, bool]:
        texts, changed = [], False
        choices = data.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            if not isinstance(choice, dict):
                continue
            holder = choice.get("message") if chat else choice
            field = "content" if chat else "text"
            if not isinstance(holder, dict) or not isinstance(holder.get(field), str):
                continue
            verdict = self.outputs.apply(holder[field], Placeholders())
            self._count(verdict.hits, hits)
            if verdict.blocked:
                holder[field], changed = "", True
                choice["finish_reason"] = "content_filter"
            elif verdict.text != holder[field]:
                holder[field], changed = verdict.text, True
            texts.append(holder[field])
        return "\n".join(texts), changed

    # -- bookkeeping --------------------------------------------------------------------------------
    def finish(
        self, route: str, status: int, key: ApiKey | None, started: float, record: dict[str, Any]
    ) -> None:
        elapsed = time.perf_counter() - started
        name = key.name if key else "-"
        m = self.metrics
        m.inflight -= 1
        m.child(m.requests, route, str(status), name).inc()
        m.child(m.latency, route).observe(elapsed)
        guards = record.get("guards") or []
        self.live.add(elapsed, status >= 500, len(guards))
        usage = record.pop("_usage", None)
        if isinstance(usage, dict):
            for kind in ("prompt_tokens", "completion_tokens"):
                if isinstance(usage.get(kind), int):
                    m.child(m.tokens, name, kind.split("_")[0]).inc(usage[kind])
                    record[kind] = usage[kind]
        record.update(
            route=route,
            status=status,
            key_id=key.id if key else None,
            key_name=key.name if key else None,
            latency_ms=round(elapsed * 1000, 3),
            time=time.time(),
        )
        self.audit.submit(record)


def error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse(
        {"error": {"type": exc.etype, "message": exc.message}}, status_code=exc.status, headers=exc.headers
    )

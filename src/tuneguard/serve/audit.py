"""The audit writer: request metadata goes to the hash-chained ledger in batches, off the request path.

The request handler appends a dict to a list. Every `interval_s` a flusher thread ships the list, as one
JSON message, to a separate audit process (its own interpreter, so its CPU work never holds the gateway's
GIL). There an AuditProcessor hashes prompt and response, asks the probe judges for refusal/harm flags
(sampled under load), feeds the anomaly detector, appends one ledger entry per request (plus one per alert)
in one transaction per batch, posts alert webhooks, and sends alerts back for metrics and the dashboard.
`close()` ships what is left and waits for the process to finish, so a clean shutdown loses nothing. Raw
text is dropped unless the policy asks for it.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson

from tuneguard.core import Ledger

from .anomaly import Alert, AnomalyDetector
from .guards import judge_pairs

log = logging.getLogger("tuneguard.serve")
STAGE = "serve"
JUDGE_CHARS = 4000
_STOP = b"STOP"


def _sha256(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class AuditProcessor:
    """Runs in the audit process: judges, hashes, detects anomalies and appends batches to the ledger."""

    def __init__(
        self,
        ledger_path: Path | None,
        detector: AnomalyDetector | None,
        judge: bool,
        log_raw_text: bool,
        webhooks: list[str],
        judge_per_s: float = 50.0,
    ) -> None:
        self.ledger = Ledger(ledger_path)
        self.detector, self.judge, self.log_raw_text = detector, judge, log_raw_text
        self.webhooks = list(webhooks)
        self._hooks = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="tg-webhook") if self.webhooks else None
        )
        self.judge_per_s = judge_per_s
        self._judge_tokens, self._judge_at = float(judge_per_s), time.monotonic()
        self.written = 0
        self.errors = 0

    def close(self) -> None:
        if self._hooks is not None:
            self._hooks.shutdown(wait=True)
        self.ledger.close()

    def write(self, batch: list[dict[str, Any]]) -> list[Alert]:
        alerts: list[Alert] = []
        try:
            items = self._prepare(batch, alerts)
            self.ledger.append_many(items)
            self.written += sum(1 for _, kind, _ in items if kind == "request")
        except Exception as exc:  # the ledger must not take the gateway down; count and say so
            self.errors += 1
            log.error("audit batch of %d records not written: %s", len(batch), exc.__class__.__name__)
        return alerts

    def _prepare(
        self, batch: list[dict[str, Any]], alerts: list[Alert]
    ) -> list[tuple[str, str, dict[str, Any]]]:
        judged: dict[int, dict[str, Any]] = {}
        if self.judge:
            picked = self._judge_sample([r for r in batch if "_kind" not in r and r.get("_response")])
            pairs = [((r.get("_prompt") or "")[:JUDGE_CHARS], r["_response"][:JUDGE_CHARS]) for r in picked]
            try:
                results = judge_pairs(pairs) or [] if pairs else []
                judged = {id(r): v for r, v in zip(picked, results, strict=False)}
            except Exception as exc:
                log.warning("judge failed on %d responses: %s", len(pairs), exc.__class__.__name__)
        items: list[tuple[str, str, dict[str, Any]]] = []
        for rec in batch:
            if "_kind" in rec:
                kind = rec.pop("_kind")
                items.append((STAGE, kind, rec))
                continue
            prompt, response = rec.pop("_prompt", None), rec.pop("_response", None)
            rec["prompt_sha256"], rec["response_sha256"] = _sha256(prompt), _sha256(response)
            rec["prompt_chars"] = len(prompt or "")
            rec["response_chars"] = len(response or "")
            if id(rec) in judged:
                rec["judge"] = judged[id(rec)]
            if self.log_raw_text:
                rec["prompt"], rec["response"] = prompt, response
            items.append((STAGE, "request", rec))
            if self.detector is not None:
                verdict = rec.get("judge")
                for alert in self.detector.observe(
                    rec.get("key_name") or "",
                    float(rec.get("latency_ms") or 0.0),
                    int(rec["status"]) >= 500,
                    bool(rec.get("guards")),
                    verdict["refused"] if verdict else None,
                    rec["response_chars"],
                ):
                    items.append((STAGE, "anomaly", alert.to_dict()))
                    alerts.append(alert)
                    self._alert(alert)
        return items

    def _judge_sample(self, candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Up to the judge budget (judge_per_s, accrued over time): the judge costs ~2 ms a response, so under
        heavy load it samples rather than starve the proxy of CPU. Unjudged records simply carry no flags."""
        now = time.monotonic()
        self._judge_tokens = min(
            self.judge_per_s, self._judge_tokens + (now - self._judge_at) * self.judge_per_s
        )
        self._judge_at = now
        take = min(len(candidates), int(self._judge_tokens))
        self._judge_tokens -= take
        if take >= len(candidates):
            return candidates
        step = len(candidates) / max(take, 1)
        return [candidates[int(i * step)] for i in range(take)]

    def _alert(self, alert: Alert) -> None:
        log.warning("tuneguard anomaly: %s", alert.message)
        if self._hooks is not None:
            for url in self.webhooks:
                self._hooks.submit(
                    _post_webhook, url, {"source": "tuneguard", "kind": "anomaly", **alert.to_dict()}
                )


def _post_webhook(url: str, payload: dict[str, Any]) -> None:
    import httpx

    try:
        httpx.post(url, json=payload, timeout=5.0).raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("alert webhook %s failed: %s", url.split("?")[0], exc.__class__.__name__)


def _audit_main(inbox: Connection, outbox: Connection, config: dict[str, Any]) -> None:
    """Entry point of the audit process: batches in, alerts out, until STOP; then report the counts."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    proc = AuditProcessor(**config)
    try:
        while True:
            try:
                msg = inbox.recv_bytes()
            except EOFError:
                break
            if msg == _STOP:
                break
            alerts = proc.write(orjson.loads(msg))
            if alerts:
                outbox.send_bytes(orjson.dumps({"alerts": [a.to_dict() for a in alerts]}))
    finally:
        proc.close()
        outbox.send_bytes(orjson.dumps({"done": True, "written": proc.written, "errors": proc.errors}))


class AuditWriter:
    """The gateway-side half: collects records, ships batches to the audit process, relays its alerts."""

    def __init__(
        self,
        ledger_path: Path | None = None,
        *,
        detector: AnomalyDetector | None = None,
        judge: bool = True,
        log_raw_text: bool = False,
        webhooks: list[str] | None = None,
        on_alert: Callable[[dict[str, Any]], None] | None = None,
        interval_s: float = 0.1,
        judge_per_s: float = 50.0,
    ) -> None:
        from tuneguard.core import ledger_path as default_ledger

        self._config = {
            "ledger_path": Path(ledger_path) if ledger_path else default_ledger(),
            "detector": detector,
            "judge": judge,
            "log_raw_text": log_raw_text,
            "webhooks": list(webhooks or []),
            "judge_per_s": judge_per_s,
        }
        self.on_alert = on_alert
        self.interval_s = interval_s
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = False
        self._proc: Any = None
        self._send: Connection | None = None
        self._recv: Connection | None = None
        self._threads: list[threading.Thread] = []
        self.submitted = 0
        self.shipped = 0
        self.written = 0
        self.errors = 0

    # -- request path ---------------------------------------------------------------------------
    def submit(self, record: dict[str, Any]) -> None:
        self.submitted += 1
        with self._lock:
            self._pending.append(record)

    def event(self, kind: str, payload: dict[str, Any]) -> None:
        """A non-request ledger entry (start, stop) written in order with the requests."""
        with self._lock:
            self._pending.append({"_kind": kind, **payload})

    def depth(self) -> int:
        """Records not yet shipped to the audit process."""
        return len(self._pending)

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        ctx = mp.get_context("spawn")  # a clean interpreter: no inherited event loop, threads or sockets
        child_in, self._send = ctx.Pipe(duplex=False)
        self._recv, child_out = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(
            target=_audit_main, args=(child_in, child_out, self._config), daemon=True, name="tuneguard-audit"
        )
        self._proc.start()
        child_in.close()
        child_out.close()
        self._threads = [
            threading.Thread(target=self._flusher, name="tg-audit-flush", daemon=True),
            threading.Thread(target=self._reader, name="tg-audit-alerts", daemon=True),
        ]
        for t in self._threads:
            t.start()

    def close(self, timeout: float = 120.0) -> None:
        if self._proc is None:
            return
        self._closing = True
        self._wake.set()
        self._threads[0].join(timeout)
        self._ship()  # anything submitted after the flusher's last pass
        assert self._send is not None
        self._send.send_bytes(_STOP)
        self._threads[1].join(timeout)
        self._proc.join(timeout)
        if self._proc.is_alive():
            log.error("audit process did not finish within %.0f s", timeout)
            self._proc.terminate()
        self._proc = None

    # -- background threads (gateway process) ---------------------------------------------------------
    def _ship(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if batch:
            assert self._send is not None
            self._send.send_bytes(orjson.dumps(batch))
            self.shipped += sum(1 for r in batch if "_kind" not in r)

    def _flusher(self) -> None:
        while not self._closing:
            self._wake.wait(self.interval_s)
            try:
                self._ship()
            except (OSError, ValueError) as exc:
                log.error("audit process unreachable: %s", exc.__class__.__name__)
                return

    def _reader(self) -> None:
        assert self._recv is not None
        while True:
            try:
                msg = orjson.loads(self._recv.recv_bytes())
            except (EOFError, OSError):
                return
            for alert in msg.get("alerts", []):
                if self.on_alert:
                    self.on_alert(alert)
            if msg.get("done"):
                self.written, self.errors = msg["written"], msg["errors"]
                return

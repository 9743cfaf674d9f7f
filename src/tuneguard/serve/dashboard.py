"""The admin dashboard: one self-contained HTML page (inline JS and SVG charts; no CDN)."""

from __future__ import annotations

DASHBOARD_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tuneguard gateway</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:20px;background:#fafafa;color:#222}
h1{font-size:18px;margin:0 0 12px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:14px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px}
.card h2{font-size:13px;margin:0 0 6px;color:#555}
svg{width:100%;height:160px}
.stat{font-size:22px;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:12px}
td,th{border-bottom:1px solid #eee;padding:3px 6px;text-align:left}
.warn{color:#b00}
</style></head><body>
<h1>tuneguard gateway <span id="status" class="warn"></span></h1>
<div class="grid">
<div class="card"><h2>Requests / s</h2><div class="stat" id="rps">-</div><svg id="c_req"></svg></div>
<div class="card"><h2>Latency ms (p50 blue, p95 orange)</h2><div class="stat" id="lat">-</div>
<svg id="c_lat"></svg></div>
<div class="card"><h2>Guard hits / s</h2><div class="stat" id="gh">-</div><svg id="c_guard"></svg></div>
<div class="card"><h2>Errors (5xx) / s</h2><div class="stat" id="err">-</div><svg id="c_err"></svg></div>
</div>
<div class="card" style="margin-top:14px"><h2>Anomaly alerts</h2>
<table><thead><tr><th>time</th><th>scope</th><th>signal</th><th>message</th></tr></thead>
<tbody id="alerts"></tbody></table>
</div>
<script>
"use strict";
const NS = "http://www.w3.org/2000/svg";
function line(svg, series, colors) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const w = svg.clientWidth || 400, h = svg.clientHeight || 160, pad = 28;
  let max = 1;
  for (const s of series) for (const v of s) if (v > max) max = v;
  const n = Math.max(2, series[0].length);
  const axis = document.createElementNS(NS, "text");
  axis.setAttribute("x", 2); axis.setAttribute("y", 12); axis.setAttribute("font-size", "10");
  axis.textContent = max.toFixed(max < 10 ? 2 : 0); svg.appendChild(axis);
  series.forEach((s, i) => {
    const pts = s.map((v, j) => (pad + j * (w - pad - 4) / (n - 1)).toFixed(1) + "," +
                               (h - 14 - v / max * (h - 28)).toFixed(1)).join(" ");
    const p = document.createElementNS(NS, "polyline");
    p.setAttribute("points", pts); p.setAttribute("fill", "none");
    p.setAttribute("stroke", colors[i]); p.setAttribute("stroke-width", "1.5");
    svg.appendChild(p);
  });
}
function last(a) { return a.length ? a[a.length - 1] : 0; }
async function tick() {
  try {
    const r = await fetch("dashboard/data", {credentials: "same-origin", cache: "no-store"});
    if (!r.ok) { document.getElementById("status").textContent = "(HTTP " + r.status + ")"; return; }
    const d = await r.json();
    document.getElementById("status").textContent =
      d.guards_inactive.length ? "(inactive guards: " + d.guards_inactive.join(", ") + ")" : "";
    line(document.getElementById("c_req"), [d.requests], ["#1f77b4"]);
    line(document.getElementById("c_lat"), [d.p50_ms, d.p95_ms], ["#1f77b4", "#ff7f0e"]);
    line(document.getElementById("c_guard"), [d.guard_hits], ["#2ca02c"]);
    line(document.getElementById("c_err"), [d.errors], ["#d62728"]);
    document.getElementById("rps").textContent = last(d.requests);
    document.getElementById("lat").textContent = last(d.p50_ms) + " / " + last(d.p95_ms);
    document.getElementById("gh").textContent = last(d.guard_hits);
    document.getElementById("err").textContent = last(d.errors);
    const tb = document.getElementById("alerts");
    tb.textContent = "";
    for (const a of d.alerts) {
      const tr = document.createElement("tr");
      for (const v of [new Date(a.time * 1000).toISOString(), a.scope, a.signal, a.message]) {
        const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
      }
      tb.appendChild(tr);
    }
  } catch (e) { document.getElementById("status").textContent = "(" + e + ")"; }
}
tick(); setInterval(tick, 2000);
</script></body></html>
"""

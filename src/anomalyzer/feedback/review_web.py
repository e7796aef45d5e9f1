"""Review in the browser: a page on the loopback interface with the row, its reason, plots and three buttons.

:class:`ReviewServer` serves one page and a small JSON API over the standard
library's threaded HTTP server, bound to 127.0.0.1 by default:

- ``GET /``: the page (self-contained: its script and styles are inline, the
  plots are drawn as SVG by the page itself, nothing is fetched from elsewhere);
- ``GET /api/state``: the row to judge next (id, rank, score, reason, most
  unusual columns with a histogram of each and the row's place in it, all its
  values), the ids of the rows after it, the progress and the description of
  the anomalies found so far;
- ``POST /api/label`` with ``{"position": p, "label": "anomaly" | "normal" | "unsure"}``
  and ``POST /api/undo``: change the labels; both answer with the new state.

User text reaches the page only as JSON read into ``textContent``, never as HTML.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pandas as pd

from anomalyzer.errors import AnomalyzerError
from anomalyzer.feedback.review_tui import shown
from anomalyzer.feedback.session import FeedbackSession
from anomalyzer.feedback.store import LABELS
from anomalyzer.reasons import _fmt

# Rows listed as "next up" after the one shown.
QUEUE = 10
BINS = 20
LEVELS = 8
_MAX_BODY = 1 << 16


def column_plot(column: pd.Series, value: Any) -> dict[str, Any]:
    """What the page draws for one column: a histogram (or level counts) and where ``value`` falls.

    >>> plot = column_plot(pd.Series([1.0, 2.0, 2.0, 9.0]), 9.0)
    >>> plot["kind"], len(plot["counts"]), plot["marked"]
    ('numeric', 20, 19)
    """
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if numeric:
        x = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
        x = x[np.isfinite(x)]
        if x.size:
            counts, edges = np.histogram(x, bins=BINS)
            v = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
            marked = None
            if pd.notna(v):
                marked = int(np.clip(np.searchsorted(edges, v, side="right") - 1, 0, BINS - 1))
            return {"kind": "numeric", "counts": counts.tolist(),
                    "labels": [_fmt(float(e)) for e in edges[[0, -1]]], "marked": marked}  # fmt: skip
    freq = column.astype(str).value_counts()
    top = freq.iloc[:LEVELS]
    shown = str(value)
    marked = top.index.get_loc(shown) if shown in top.index else None
    return {"kind": "categorical", "counts": top.tolist(),
            "labels": [str(v) for v in top.index], "marked": marked}  # fmt: skip


class ReviewServer:
    """Serve the review page for ``session`` at ``url`` until :meth:`shutdown`."""

    def __init__(
        self,
        session: FeedbackSession,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        who: str | None = None,
    ) -> None:
        self.session = session
        self.who = who
        self._lock = threading.Lock()
        self._plots: dict[tuple[int, str], dict[str, Any]] = {}
        handler = _handler(self)
        try:
            self.httpd = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise AnomalyzerError(
                f"Cannot serve the review page on {host}:{port}: {exc.strerror or exc}; "
                "choose another --port."
            ) from None
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}/"

    def start(self) -> ReviewServer:
        """Serve in a background thread (for tests and notebooks)."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def shutdown(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- the API ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        s = self.session
        with self._lock:
            queue = [int(p) for p in s.next(QUEUE + 1)]
            row = None
            if queue:
                view = s.view(queue[0])
                row = {
                    "position": view["position"],
                    "id": view["id"],
                    "rank": view["rank"],
                    "score": round(view["score"], 6),
                    "reason": view["reason"],
                    "unusual": view["unusual"],
                    "values": [[c, shown(v)] for c, v in view["values"].items()],
                    "plots": [
                        {"column": c, **self._plot(view["position"], c)} for c in view["unusual"]
                    ],
                }
            return {
                "row": row,
                "next": [s.ids[p] for p in queue[1:]],
                "progress": s.progress(),
                "description": s.describe(),
            }

    def label(self, position: Any, label: Any) -> dict[str, Any]:
        if label not in LABELS:
            raise AnomalyzerError(f"label must be one of {', '.join(LABELS)}, got {label!r}.")
        if not isinstance(position, int) or not 0 <= position < len(self.session.ids):
            raise AnomalyzerError(f"position must be a row position, got {position!r}.")
        with self._lock:
            self.session.label(position, label, who=self.who)
        return self.state()

    def undo(self) -> dict[str, Any]:
        with self._lock:
            self.session.undo()
        return self.state()

    def _plot(self, position: int, column: str) -> dict[str, Any]:
        key = (position, column)
        if key not in self._plots:
            frame = self.session.frame
            self._plots[key] = column_plot(frame[column], frame[column].iloc[position])
        return self._plots[key]


def _handler(server: ReviewServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: the terminal is the user's
            return

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header(
                "Content-Security-Policy",
                "default-src 'self' 'unsafe-inline'; img-src 'self' data:",
            )
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: Any) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def do_GET(self) -> None:
            if self.path == "/":
                self._send(HTTPStatus.OK, PAGE.encode(), "text/html; charset=utf-8")
            elif self.path == "/api/state":
                self._json(HTTPStatus.OK, server.state())
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > _MAX_BODY:
                self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"})
                return
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/api/label":
                    self._json(HTTPStatus.OK, server.label(body.get("position"), body.get("label")))
                elif self.path == "/api/undo":
                    self._json(HTTPStatus.OK, server.undo())
                else:
                    self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
            except (AnomalyzerError, ValueError, AttributeError) as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})

    return Handler


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>anomalyzer review</title>
<link rel="icon" href="data:,">
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px;color:#222}
h1{font-size:1.3rem} .muted{color:#666} #reason{font-size:1.1rem;margin:.5rem 0}
button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem;border-radius:6px;border:1px solid #888;cursor:pointer}
#anomaly{background:#fdd} #normal{background:#dfd} #skip{background:#eee}
.plots{display:flex;gap:1.5rem;flex-wrap:wrap;margin:1rem 0} .plot{width:320px}
table{border-collapse:collapse} td{padding:2px 10px;border-bottom:1px solid #eee}
td.unusual{font-weight:bold;color:#a00} #next li{font-family:monospace}
</style></head><body>
<h1>Review: <span id="rowid"></span> <span class="muted" id="rank"></span></h1>
<div id="progress" class="muted"></div>
<div id="reason"></div>
<div>
 <button id="anomaly" data-label="anomaly">Anomaly (a)</button>
 <button id="normal" data-label="normal">Normal (n)</button>
 <button id="skip" data-label="unsure">Skip (s)</button>
 <button id="undo">Undo (u)</button>
</div>
<div class="plots" id="plots"></div>
<div style="display:flex;gap:3rem">
 <div><h2>Values</h2><table id="values"></table></div>
 <div><h2>Next up</h2><ol id="next"></ol></div>
</div>
<h2>Found so far</h2><p id="description"></p>
<script>
"use strict";
let state = null, busy = false;
function el(tag, text, cls){const e=document.createElement(tag); if(text!==undefined) e.textContent=text; if(cls) e.className=cls; return e;}
function svg(tag, attrs){const e=document.createElementNS("http://www.w3.org/2000/svg", tag); for(const k in attrs) e.setAttribute(k, attrs[k]); return e;}
function plot(p){
  const box=el("div", undefined, "plot"); box.appendChild(el("div", p.column + (p.kind==="numeric" ? " (" + p.labels[0] + " to " + p.labels[1] + ")" : "")));
  const w=320,h=120,n=p.counts.length,max=Math.max(1,...p.counts), s=svg("svg",{width:w,height:h,"class":"colplot"});
  p.counts.forEach((c,i)=>{const bh=Math.max(1,(h-20)*Math.sqrt(c/max)); const r=svg("rect",{x:i*w/n+1,y:h-20-bh,width:w/n-2,height:bh,fill:i===p.marked?"#d33":"#89a"}); const t=svg("title",{}); t.textContent=(p.kind==="categorical"?p.labels[i]+": ":"")+c; r.appendChild(t); s.appendChild(r);});
  const note=svg("text",{x:0,y:h-5,"font-size":"11"}); note.textContent="red: this row (square-root scale)"; s.appendChild(note);
  box.appendChild(s); return box;
}
function show(st){
  state=st; const r=st.row, p=st.progress;
  document.getElementById("progress").textContent="Labelled "+p.labelled+" of "+p.rows+": "+p.anomalies+" anomalies, "+p.normal+" normal, "+p.unsure+" skipped";
  document.getElementById("description").textContent=st.description;
  const next=document.getElementById("next"); next.replaceChildren(...st.next.map(id=>el("li",id)));
  const values=document.getElementById("values"), plots=document.getElementById("plots");
  if(!r){document.getElementById("rowid").textContent="every row judged"; document.getElementById("rank").textContent=""; document.getElementById("reason").textContent=""; values.replaceChildren(); plots.replaceChildren(); return;}
  document.getElementById("rowid").textContent=r.id;
  document.getElementById("rank").textContent="rank "+r.rank+" of "+p.rows+", score "+r.score;
  document.getElementById("reason").textContent=r.reason;
  values.replaceChildren(...r.values.map(([c,v])=>{const tr=el("tr"); tr.appendChild(el("td",c,r.unusual.includes(c)?"unusual":"")); tr.appendChild(el("td",v)); return tr;}));
  plots.replaceChildren(...r.plots.map(plot));
}
async function call(path, body){
  if(busy) return; busy=true; document.body.dataset.busy="1";
  try{const res=await fetch(path,{method:body===undefined?"GET":"POST",headers:{"Content-Type":"application/json"},body:body===undefined?undefined:JSON.stringify(body)});
      const st=await res.json(); if(res.ok) show(st); else alert(st.error);}
  finally{busy=false; document.body.dataset.busy="";}
}
function label(l){ if(state && state.row) call("/api/label",{position:state.row.position,label:l}); }
document.querySelectorAll("button[data-label]").forEach(b=>b.addEventListener("click",()=>label(b.dataset.label)));
document.getElementById("undo").addEventListener("click",()=>call("/api/undo",{}));
document.addEventListener("keydown",e=>{const k={a:"anomaly",n:"normal",s:"unsure"}[e.key]; if(k) label(k); else if(e.key==="u") call("/api/undo",{});});
call("/api/state");
</script></body></html>
"""


def serve(session: FeedbackSession, *, host: str = "127.0.0.1", port: int = 0,
          who: str | None = None) -> ReviewServer:  # fmt: skip
    """A started :class:`ReviewServer` (its ``url`` says where)."""
    return ReviewServer(session, host=host, port=port, who=who).start()

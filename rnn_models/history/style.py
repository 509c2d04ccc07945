"""What both pages share: their CSS, their one small script, and the inline JSON block."""

import json
import math

# An empty inline icon: served over http, the browser would otherwise ask for /favicon.ico.
FAVICON = '<link rel="icon" href="data:,">'

CSS = """
[hidden]{display:none!important}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:16px 24px;color:#222;background:#fff}
h1{font-size:20px;margin:4px 0 8px}h2{font-size:16px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}
th{background:#f2f2f2}code{font-size:12px}table.changes td{white-space:nowrap}
.row{display:flex;flex-wrap:wrap;gap:8px}
svg.chart{border:1px solid #ddd;background:#fff;max-width:100%;height:auto}
svg text{font-size:11px;fill:#333}svg text.title{font-size:12px;font-weight:600}
svg text.tick{font-size:10px}svg text.legend{font-size:10px}
svg .grid{stroke:#eee}svg .ref{stroke:#888;stroke-dasharray:4 3}
svg .version-mark line{stroke:#999;stroke-dasharray:3 3}svg .version-mark text{font-size:9px;fill:#666}
svg a.pt:hover circle{stroke:#000}
.notice{background:#fff4d6;border:1px solid #e0c060;padding:6px 10px}
.failed{background:#fde2e1;border:2px solid #c0392b;padding:8px 12px;font-weight:600}
.passed{background:#e3f4e1;border:1px solid #2e8b3a;padding:8px 12px}
td.fail{color:#c0392b;font-weight:600}td.pass{color:#2e8b3a}
nav#filter{position:sticky;top:0;background:#fff;padding:6px 0;border-bottom:1px solid #ddd;z-index:1}
nav#filter a{margin-left:16px}
section.cell{border-top:1px solid #ccc;margin-top:8px}
"""

# The pages' only script: the cell filter and each cell's earlier curve, kept in the URL hash
# (#cell=gru&vs-gru=<commit>) so that a link shows what its sender saw.
PAGE_SCRIPT = """
(function () {
  function read() {
    var state = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      if (!part) return;
      var kv = part.split("=");
      state[decodeURIComponent(kv[0])] = decodeURIComponent(kv[1] || "");
    });
    return state;
  }
  function write(state) {
    var parts = [];
    Object.keys(state).sort().forEach(function (k) {
      if (state[k]) parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(state[k]));
    });
    location.hash = parts.join("&");
  }
  function apply() {
    var state = read(), filter = document.getElementById("cell-filter");
    if (filter) filter.value = state.cell || "";
    document.querySelectorAll("[data-cell]").forEach(function (el) {
      if (el.tagName === "SELECT") return;
      el.hidden = !!state.cell && el.getAttribute("data-cell") !== state.cell;
    });
    document.querySelectorAll("select.vs").forEach(function (select) {
      var wanted = state["vs-" + select.getAttribute("data-cell")];
      if (wanted && select.querySelector('option[value="' + wanted + '"]')) select.value = wanted;
      var section = select.closest("section");
      section.querySelectorAll("g.earlier").forEach(function (g) {
        g.style.display = g.getAttribute("data-commit") === select.value ? "" : "none";
      });
    });
    var link = document.getElementById("permalink");
    if (link) link.href = location.hash || "#";
  }
  document.addEventListener("change", function (event) {
    var state = read(), target = event.target;
    if (target.id === "cell-filter") state.cell = target.value;
    else if (target.classList.contains("vs")) state["vs-" + target.getAttribute("data-cell")] = target.value;
    else return;
    write(state);
  });
  window.addEventListener("hashchange", apply);
  apply();
})();
"""


def finite(data):
    """``data`` with every NaN or infinity as None (JSON has neither)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(v) for v in data]
    return data


def json_script(element_id, data):
    """``data`` as an inline ``<script type="application/json">``, its ``</`` escaped so no
    string in it can close the element."""
    text = json.dumps(finite(data), sort_keys=True, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return f'<script type="application/json" id="{element_id}">{text}</script>'

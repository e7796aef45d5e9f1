"""The report's HTML template (jinja2), its style sheet and its table sorter.

Kept in a Python module rather than a data file so that it ships with any
installation of the package.
"""

from __future__ import annotations

STYLE = """
:root { --ink: #1f2933; --muted: #61707f; --line: #e3e8ee; --bg: #f6f8fa;
        --accent: #e45756; --normal: #4c78a8; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 14px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background: #1f2933; color: #fff; padding: 22px 32px 18px; }
header h1 { margin: 0; font-size: 22px; font-weight: 600; word-break: break-all; }
header p { margin: 4px 0 0; color: #c5ced8; font-size: 13px; }
main { max-width: 1320px; margin: 0 auto; padding: 20px 32px 40px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
          padding: 18px 22px; margin: 0 0 20px; }
h2 { font-size: 17px; margin: 0 0 4px; }
p.intro { margin: 0 0 12px; color: var(--muted); }
p.note { margin: 8px 0 0; color: var(--muted); font-style: italic; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 18px; font-weight: 600; word-break: break-word; }
.card.flagged .v { color: var(--accent); }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 14px; }
.figure { min-width: 0; border: 1px solid var(--line); border-radius: 6px; padding: 4px; }
.table-wrap { overflow-x: auto; max-height: 620px; overflow-y: auto;
              border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left;
         vertical-align: top; }
thead th { position: sticky; top: 0; background: #eef2f6; z-index: 1; white-space: nowrap; }
table.sortable thead th { cursor: pointer; user-select: none; }
table.sortable thead th:hover { background: #e1e7ee; }
table.sortable thead th::after { content: " \\2195"; color: #9aa5b1; font-size: 11px; }
table.sortable thead th[aria-sort="ascending"]::after { content: " \\25B2"; color: var(--ink); }
table.sortable thead th[aria-sort="descending"]::after { content: " \\25BC"; color: var(--ink); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.reason { min-width: 280px; }
tr.flagged td:first-child { border-left: 3px solid var(--accent); }
tbody tr:nth-child(even) { background: #fafbfc; }
.pill { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; }
.pill.yes { background: #fde2e1; color: #a3201d; }
.pill.no { background: #e8edf3; color: var(--muted); }
.metrics { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr));
           gap: 10px; margin-bottom: 14px; }
details summary { cursor: pointer; font-weight: 600; font-size: 17px; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 0 0 28px; }
@media (max-width: 700px) { main { padding: 12px; } .grid { grid-template-columns: 1fr; } }
"""

# Sorts a table on a header click (or Enter/Space): numbers by the cell's
# data-value, text alphabetically; a second click reverses the order.
SORTER = """
(function () {
  function key(cell) {
    var v = cell.getAttribute("data-value");
    if (v !== null && v !== "" && !isNaN(Number(v))) { return Number(v); }
    return cell.textContent.trim().toLowerCase();
  }
  function compare(x, y) {
    var nx = typeof x === "number", ny = typeof y === "number";
    if (nx && ny) { return x - y; }
    if (nx !== ny) { return nx ? -1 : 1; }
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      function sort() {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
          return { row: row, key: key(row.cells[col]), i: i };
        });
        rows.sort(function (a, b) {
          var c = compare(a.key, b.key);
          return (ascending ? c : -c) || a.i - b.i;
        });
        rows.forEach(function (r) { body.appendChild(r.row); });
      }
      th.tabIndex = 0;
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
      });
    });
  });
})();
"""

# The page around each report's own sections: head (style sheet, plotly),
# title, summary cards; and the footer with the table sorter.
_PAGE_TOP = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="anomalyzer {{ version }}">
<title>{{ c.title }}</title>
<link rel="icon" href="data:,">
<style>{{ style }}{{ series_style }}</style>
<script>{{ plotly_js }}</script>
</head>
<body>
<header>
  <h1>{{ c.title }}</h1>
  <p>Generated {{ c.generated }} by anomalyzer {{ version }}. {{ c.sampling_note }}</p>
</header>
<main>
<section id="summary">
  <h2>Summary</h2>
  <div class="cards">
  {% for key, value in c.summary %}
    <div class="card{% if key == 'flagged' %} flagged{% endif %}">
      <div class="k">{{ key }}</div><div class="v">{{ value }}</div>
    </div>
  {% endfor %}
  </div>
</section>

"""

_PAGE_END = """</main>
<footer>Self-contained report: it opens offline and loads nothing from the network.</footer>
<script>{{ sorter }}</script>
</body>
</html>
"""

TEMPLATE = (
    _PAGE_TOP
    + """{% for s in sections[:1] %}{{ section(s, c.metrics) }}{% endfor %}

<section id="top">
  <h2>Top anomalies</h2>
  <p class="intro">{{ c.table_note }}</p>
  <div class="table-wrap">
  <table class="sortable" id="top-table">
    <thead><tr>{% for h in c.table_head %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead>
    <tbody>
    {% for row in c.table_rows %}
      <tr{% if row[flag_col][0] == 'yes' %} class="flagged"{% endif %}>
      {% for text, value in row %}
        {% set head = c.table_head[loop.index0] %}
        {% if head == 'flagged' %}
        <td><span class="pill {{ text }}">{{ text }}</span></td>
        {% elif head == 'reason' %}
        <td class="reason">{{ text }}</td>
        {% else %}
        <td{% if value %} class="num" data-value="{{ value }}"{% endif %}>{{ text }}</td>
        {% endif %}
      {% endfor %}
      </tr>
    {% endfor %}
    </tbody>
  </table>
  </div>
</section>

{% for s in sections[1:] %}{{ section(s, c.metrics) }}{% endfor %}

<section id="columns-used">
  <details>
    <summary>Columns: {{ c.columns | selectattr('used', 'equalto', 'yes') | list | length }}
      used, {{ c.columns | selectattr('used', 'equalto', 'no') | list | length }} set aside</summary>
    <div class="table-wrap" style="margin-top:10px">
    <table class="sortable" id="columns-table">
      <thead><tr><th>column</th><th>role</th><th>used</th><th>missing</th><th>why</th></tr></thead>
      <tbody>
      {% for col in c.columns %}
        <tr><td>{{ col.name }}</td><td>{{ col.role }}</td><td>{{ col.used }}</td>
            <td class="num" data-value="{{ col.missing[:-1] }}">{{ col.missing }}</td>
            <td>{{ col.reason }}</td></tr>
      {% endfor %}
      </tbody>
    </table>
    </div>
  </details>
</section>
"""
    + _PAGE_END
)

SECTION = """{% macro section(s, metrics) %}
<section id="{{ s.key }}">
  <h2>{{ s.title }}</h2>
  {% if s.intro %}<p class="intro">{{ s.intro }}</p>{% endif %}
  {% if s.key == 'labels' and metrics %}
  <div class="metrics">
  {% for key, value in metrics %}
    <div class="card"><div class="k">{{ key }}</div><div class="v">{{ value }}</div></div>
  {% endfor %}
  </div>
  {% endif %}
  {% if s.html %}
  <div class="{{ 'wide' if s.wide else 'grid' }}">
  {% for fig in s.html %}<div class="figure">{{ fig }}</div>{% endfor %}
  </div>
  {% endif %}
  {% if s.note %}<p class="note">{{ s.note }}</p>{% endif %}
</section>
{% endmacro %}"""

# The page of a series detection: the same head, style, sections and sorter as
# the tabular page, with the time view, the top flagged points and the notes.
SERIES_STYLE = """
ul.notes { margin: 0; padding-left: 20px; }
ul.notes li { margin: 2px 0; }
"""

SERIES_TEMPLATE = (
    _PAGE_TOP
    + """{% for s in sections %}{{ section(s, []) }}{% endfor %}

<section id="top">
  <h2>Top flagged points</h2>
  <p class="intro">{{ c.table_note }}</p>
  <div class="table-wrap">
  <table class="sortable" id="top-table">
    <thead><tr>{% for h in c.table_head %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead>
    <tbody>
    {% for row in c.table_rows %}
      <tr>
      {% for text, value in row %}
        {% if loop.last %}
        <td class="reason">{{ text }}</td>
        {% else %}
        <td{% if value %} class="num" data-value="{{ value }}"{% endif %}>{{ text }}</td>
        {% endif %}
      {% endfor %}
      </tr>
    {% endfor %}
    </tbody>
  </table>
  </div>
</section>

<section id="notes">
  <h2>Data defects handled</h2>
  {% if c.notes %}
  <ul class="notes">
  {% for note in c.notes %}<li>{{ note }}</li>{% endfor %}
  </ul>
  {% else %}
  <p class="intro">None were found.</p>
  {% endif %}
</section>
"""
    + _PAGE_END
)

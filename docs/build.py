"""Build the documentation site: hand-written pages, generated references, run case studies.

``python docs/build.py`` (what ``make docs`` runs) stages the site's sources
under ``build/docs/src`` and builds the HTML into ``build/docs/site``:

- the hand-written pages of ``docs/site/`` (getting started, concepts, how-tos);
- the detector list, generated from the registries (``anomalyzer.detectors``
  and ``anomalyzer.timeseries``): what each finds, its family and its
  parameters with their defaults;
- the command-line reference, generated from the typer app's commands;
- the Python API reference, from the docstrings (mkdocstrings);
- the case studies of ``docs/case_studies/*.py`` (jupytext percent scripts),
  run top to bottom, each cell's printed output and figures written under it;
  a case study that raises fails the build;
- the benchmark tables of ``benchmarks/results/``.

Options: ``--strict`` (warnings such as broken links fail the build, as
``make test`` builds it), ``--quick`` (case studies on a sample of their data),
``--out DIR`` (staging and site under DIR). Case studies need
``../shared/data``; when it is missing their pages say so instead.

Only ``docs/site/``, ``docs/case_studies/`` and this script make the site:
other files under ``docs/`` are not part of it.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import html
import inspect
import io
import logging
import os
import shutil
import sys
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = DOCS / "site"
CASE_STUDIES = DOCS / "case_studies"
RESULTS = ROOT / "benchmarks" / "results"
SHARED = ROOT.parent / "shared" / "data"
CONFIG = ROOT / "mkdocs.yml"
QUICK_ENV = "ANOMALYZER_DOCS_QUICK"

#: Case studies in the order of the site's navigation, and whether they need ../shared.
STUDIES = {
    "fraud": False,
    "network_intrusion": True,
    "server_metrics": True,
    "ecg": True,
}

#: README sections of features (``docs/<name>.md``) shown as how-to pages, by file name:
#: each starts with a ``## Title`` heading, which becomes the page's title. Add a
#: feature's file here and to the How-tos of ``mkdocs.yml`` as ``howto/<name>.md``.
FEATURE_PAGES = ("scale", "service", "feedback", "onnx", "safety", "drift")

#: Benchmark tables shown on the benchmarks page, with what each measures.
BENCHMARKS = {
    "adbench.md": "Tables: the 29 ADBench data sets (fit on all rows without labels, score them).",
    "labelled.csv": "Tables: labelled 70/30 split (fit on 70%, score the other 30%).",
    "nab.txt": "Series: the NAB corpus, offline and causal, and streaming throughput.",
    "nab_neural.txt": "Series: the neural detector on the NAB corpus (`nab.py --detectors neural`).",
    "ecg.txt": "Series: the UCR ECG recordings, fit on train and score test (`ecg.py`).",
    "ts_groups.txt": "Series: many series at once (`ts_groups.py`).",
    "cli_scale.txt": "The command line on growing tables (`cli_scale.py`).",
}


# -- running a case study -----------------------------------------------------------------


@dataclass
class Cell:
    """One cell of a case study: markdown, or code with its outputs (text or HTML)."""

    kind: str
    source: str
    outputs: list[tuple[str, str]] = field(default_factory=list)


class CaseStudyError(RuntimeError):
    """A case study raised: the message names the script and the cell."""


def run_case_study(path: Path, *, quick: bool = False, cwd: Path = ROOT) -> list[Cell]:
    """Run the jupytext percent script ``path`` cell by cell, as a notebook would.

    Each code cell runs in one shared namespace; what it prints is kept, and
    its last expression, when it is not None, is shown as a notebook shows it:
    a plotly figure as an interactive figure, a DataFrame as a table, anything
    else as its ``repr``. ``quick`` sets ``ANOMALYZER_DOCS_QUICK=1``, which the
    case studies read to run on a sample of their data.
    """
    import jupytext

    notebook = jupytext.read(path)
    cells: list[Cell] = []
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": str(path)}
    with _environment(quick, cwd):
        for number, nb_cell in enumerate(notebook.cells, start=1):
            source = nb_cell.source
            if nb_cell.cell_type == "markdown":
                cells.append(Cell("markdown", source))
                continue
            if nb_cell.cell_type != "code" or not source.strip():
                continue
            cell = Cell("code", source)
            try:
                _run_cell(source, namespace, cell, f"{path.name}, cell {number}")
            except Exception as exc:
                raise CaseStudyError(
                    f"{path.name}, cell {number} raised {type(exc).__name__}: {exc}"
                ) from exc
            cells.append(cell)
    return cells


@contextlib.contextmanager
def _environment(quick: bool, cwd: Path) -> Iterator[None]:
    before = os.environ.get(QUICK_ENV)
    here = Path.cwd()
    os.environ[QUICK_ENV] = "1" if quick else "0"
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(here)
        if before is None:
            os.environ.pop(QUICK_ENV, None)
        else:
            os.environ[QUICK_ENV] = before


def _run_cell(source: str, namespace: dict[str, Any], cell: Cell, where: str) -> None:
    tree = ast.parse(source, filename=where)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(tree, where, "exec"), namespace)
        value = (
            eval(compile(ast.Expression(last.value), where, "eval"), namespace) if last else None
        )
    if buffer.getvalue():
        cell.outputs.append(("text", buffer.getvalue()))
    if value is not None:
        cell.outputs.append(_display(value))


def _display(value: Any) -> tuple[str, str]:
    """How a notebook shows a cell's value: a figure, a table, or its repr."""
    import pandas as pd
    import plotly.graph_objects as go

    if isinstance(value, go.Figure):
        div = value.to_html(full_html=False, include_plotlyjs=False,
                            config={"displaylogo": False, "responsive": True})  # fmt: skip
        return "html", f'<div class="az-figure">{div}</div>'
    if isinstance(value, pd.DataFrame | pd.Series):
        frame = value.to_frame() if isinstance(value, pd.Series) else value
        return "html", frame.to_html(classes="az-table", border=0, float_format="{:.4g}".format)
    return "text", repr(value)


def case_study_markdown(cells: list[Cell], source: str) -> str:
    """The page of a case study: its markdown, its code, and the outputs under each cell."""
    parts = []
    for cell in cells:
        if cell.kind == "markdown":
            parts.append(cell.source)
            continue
        parts.append(f"```python\n{cell.source.strip()}\n```")
        for kind, text in cell.outputs:
            if kind == "text":
                parts.append(f"```text\n{text.rstrip()}\n```")
            else:
                parts.append(f'<div class="az-output" markdown="0">\n{text}\n</div>')
    parts.append(f"*Source: `{source}` (a jupytext percent script; "
                 "`jupytext --to notebook` opens it as a notebook).*")  # fmt: skip
    return "\n\n".join(parts) + "\n"


# -- generated references -----------------------------------------------------------------


def detectors_page() -> str:
    """Every registered detector, table and series, with what it finds and its parameters."""
    from anomalyzer import detectors, timeseries

    lines = [
        "# Detectors",
        "",
        "Generated from the registries: `anomalyzer.detectors.available()` for tables and",
        "`anomalyzer.timeseries.available()` for series. Every detector follows the same",
        "contract (see [the contract](concepts/contract.md)); build one with",
        "`anomalyzer.detectors.make(name, **params)` or `anomalyzer.timeseries.make(...)`,",
        "or pick it by name in `az.detect(df, name)` and `anomalyzer detect --detector name`.",
        "",
        "**Cost** is the median seconds to fit and score, as last measured by the",
        "benchmarks (`benchmarks/results/adbench.csv`: the 29 ADBench tables;",
        "`nab_offline.csv` and `nab_neural_offline.csv`: the 45 NAB series); blank where not measured.",
        "",
        "## Table detectors",
        "",
        "| name | family | what it finds | needs | cost (s) |",
        "|---|---|---|---|---|",
    ]
    table_cost = _median_seconds(RESULTS / "adbench.csv")
    table_names = detectors.available(labels=True)
    for name in table_names:
        s = detectors.spec(name)
        needs = ", ".join(s.requires) + (" labels" if s.labels else "")
        lines.append(f"| [`{name}`](#{name}) | {s.family} | {s.summary} | {needs.strip()} | "
                     f"{table_cost.get(name, '')} |")  # fmt: skip
    series_cost = _median_seconds(RESULTS / "nab_offline.csv")
    series_cost.update(_median_seconds(RESULTS / "nab_neural_offline.csv"))
    lines += ["", "## Series detectors", "", "| name | what it finds | cost (s) |", "|---|---|---|"]
    series = timeseries.describe()
    for name, finds in series.items():
        lines.append(f"| [`{name}`](#series-{name}) | {finds} | {series_cost.get(name, '')} |")
    lines += ["", "## Parameters", ""]
    for name in table_names:
        cls = detectors.detector_class(name)
        lines += [f"### {name} {{#{name}}}", "", _first_paragraph(cls), "", _params(cls), ""]
    for name in series:
        cls = timeseries.detector_class(name)
        lines += [f"### series: {name} {{#series-{name}}}", "", _first_paragraph(cls), "",
                  _params(cls), ""]  # fmt: skip
    return "\n".join(lines)


def _median_seconds(path: Path) -> dict[str, str]:
    """Median ``seconds`` per ``detector`` of a benchmark table, as text; empty when missing."""
    import pandas as pd

    if not path.exists():
        return {}
    table = pd.read_csv(path)
    if not {"detector", "seconds"} <= set(table.columns):
        return {}
    return {str(k): f"{v:.3g}" for k, v in table.groupby("detector")["seconds"].median().items()}


def _first_paragraph(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return _plain(doc.split("\n\n")[0].replace("\n", " "))


def _plain(text: str) -> str:
    """reStructuredText roles and double backticks as plain Markdown code."""
    import re

    text = re.sub(r":(?:func|class|meth|mod|data|attr):`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _params(cls: type) -> str:
    rows = ["| parameter | default |", "|---|---|"]
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name == "self" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        default = "" if p.default is inspect.Parameter.empty else f"`{p.default!r}`"
        rows.append(f"| `{p.name}` | {default.replace('|', '&#124;')} |")
    return "\n".join(rows)


def cli_page() -> str:
    """Each command of the typer app: its help and its options, as ``--help`` prints them."""
    import typer

    from anomalyzer.cli import app

    group = typer.main.get_command(app)
    lines = [
        "# Command line",
        "",
        "Generated from the `anomalyzer` command's own help. Exit codes: 0 on success,",
        "2 for a mistake in the command or the data (one sentence, no traceback), 1 otherwise.",
        "",
    ]
    # Contexts come from the commands themselves: typer may bring its own click.
    ctx = group.make_context("anomalyzer", [], resilient_parsing=True)
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub = command.make_context(f"anomalyzer {name}", [], resilient_parsing=True)
        lines += [f"## anomalyzer {name}", "", _plain(command.help or "").strip(), "",
                  "| option | help |", "|---|---|"]  # fmt: skip
        for param in command.get_params(sub):
            record = param.get_help_record(sub)
            if record is None:
                if param.param_type_name != "argument":
                    continue
                record = (param.human_readable_name, getattr(param, "help", "") or "")
            flags, text = record
            text = html.escape(text).replace("|", "&#124;").replace("\n", " ")
            lines.append(f"| `{flags.replace('|', '&#124;')}` | {text} |")
        usage = command.get_usage(sub).strip()
        lines += ["", "```text", usage, "```", ""]
    return "\n".join(lines)


def feature_page(text: str) -> str:
    """A README section (``## Title`` and ``###`` parts) as a page: every heading one level up.

    >>> print(feature_page("## Serve\\n\\n### Routes\\n```\\n## not a heading\\n```"), end="")
    # Serve
    <BLANKLINE>
    ## Routes
    ```
    ## not a heading
    ```
    """
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("##"):
            line = line[1:]
        out.append(line)
    return "\n".join(out) + "\n"


def benchmarks_page() -> str:
    lines = [
        "# Benchmarks",
        "",
        "The tables `make bench` writes to `benchmarks/results/`, as last run. Each script in",
        "`benchmarks/` says how it measures; timings are from the machine it ran on.",
        "",
    ]
    for name, what in BENCHMARKS.items():
        path = RESULTS / name
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        lines += [f"## {name}", "", what, ""]
        if name.endswith(".md"):
            lines += [text, ""]
        else:
            lines += ["```text", text.rstrip(), "```", ""]
    return "\n".join(lines)


# -- staging and building -----------------------------------------------------------------


def stage(out: Path, *, quick: bool, studies: Sequence[str] | None = None) -> Path:
    """Write every source page of the site into ``out`` (emptied first); return it.

    ``studies`` names the case studies to run (all by default); the pages of
    the others only say where they are built. The test of the site runs one,
    since the case studies have a test of their own.
    """
    import plotly.offline

    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(PAGES, out)
    (out / "assets").mkdir(exist_ok=True)
    (out / "assets" / "plotly.min.js").write_text(plotly.offline.get_plotlyjs(), encoding="utf-8")
    (out / "detectors.md").write_text(detectors_page(), encoding="utf-8")
    (out / "cli.md").write_text(cli_page(), encoding="utf-8")
    (out / "benchmarks.md").write_text(benchmarks_page(), encoding="utf-8")
    for name in FEATURE_PAGES:
        source = DOCS / f"{name}.md"
        text = (
            feature_page(source.read_text(encoding="utf-8"))
            if source.exists()
            else f"# {name}\n\nNot part of this build (`docs/{name}.md` is missing).\n"
        )
        (out / "howto" / f"{name}.md").write_text(text, encoding="utf-8")
    pages = out / "case_studies"
    pages.mkdir(exist_ok=True)
    for name, needs_shared in STUDIES.items():
        script = CASE_STUDIES / f"{name}.py"
        relative = script.relative_to(ROOT)
        title = _title(script)
        if needs_shared and not SHARED.is_dir():
            page = (f"# {title}\n\nThis case study reads `../shared/data/cases/`, which is "
                    "missing here; the page is built where that data is.\n")  # fmt: skip
        elif studies is not None and name not in studies:
            page = f"# {title}\n\nNot run in this build; `make docs` runs `{relative}`.\n"
        else:
            page = case_study_markdown(run_case_study(script, quick=quick), str(relative))
        (pages / f"{name}.md").write_text(page, encoding="utf-8")
    return out


def _title(script: Path) -> str:
    for line in script.read_text(encoding="utf-8").splitlines():
        if line.startswith("# # "):
            return line[4:].strip()
    return script.stem


def build(
    out: Path,
    *,
    strict: bool = False,
    quick: bool = False,
    studies: Sequence[str] | None = None,
) -> Path:
    """Stage the sources under ``out/src`` and build the site into ``out/site``; return it."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    src = stage(out / "src", quick=quick, studies=studies)
    site = out / "site"
    config = load_config(str(CONFIG), docs_dir=str(src), site_dir=str(site), strict=strict)
    mkdocs_build(config)
    return site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "docs")
    parser.add_argument("--strict", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    # mkdocs' warnings (broken links, docstrings it cannot read) shown as they happen.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    from mkdocs.exceptions import MkDocsException

    try:
        site = build(args.out, strict=args.strict, quick=args.quick)
    except CaseStudyError as exc:
        print(f"docs: {exc}", file=sys.stderr)
        return 1
    except (MkDocsException, SystemExit) as exc:  # a strict build with warnings aborts
        print(textwrap.fill(f"docs: the build failed ({exc})"), file=sys.stderr)
        return 1
    print(f"docs: built {site / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

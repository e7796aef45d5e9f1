"""``anomalyzer models``: push, list, show, promote and delete versions in the model registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from anomalyzer.cli.app import app, out
from anomalyzer.errors import AnomalyzerError

models_app = typer.Typer(
    help="The model registry: named model files with versions and aliases.",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")

RegistryOpt = Annotated[
    str | None,
    typer.Option(
        "--registry",
        help="Registry URL or SQLite file (default: $ANOMALYZER_REGISTRY, else "
        "~/.anomalyzer/registry.db); PostgreSQL: postgresql+psycopg://user@host/db.",
    ),
]
NameArg = Annotated[str, typer.Argument(help="Model name.")]


def open_registry(url: str | None):  # type: ignore[no-untyped-def]
    """The registry ``--registry`` names (created on first use)."""
    try:
        from anomalyzer.registry import Registry
    except ImportError as exc:  # pragma: no cover - only without the service extra
        raise AnomalyzerError(
            f"The registry needs the service extra ({exc.name} is missing); "
            "pip install 'anomalyzer[service]'."
        ) from None
    return Registry(url)


def _metrics(pairs: list[str]) -> dict[str, float]:
    found: dict[str, float] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise AnomalyzerError(
                f"--metric {pair!r} is not NAME=NUMBER, e.g. --metric roc_auc=0.91."
            )
        try:
            found[key.strip()] = float(value)
        except ValueError:
            raise AnomalyzerError(f"--metric {pair!r}: {value!r} is not a number.") from None
    return found


@models_app.command("push")
def push(
    file: Annotated[Path, typer.Argument(help="Model file (.azm) written by `detect --save`.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Name to push it under.")],
    metric: Annotated[
        list[str] | None,
        typer.Option(help="A measured number to keep with it, NAME=VALUE (repeatable)."),
    ] = None,
    description: Annotated[str, typer.Option(help="A line on what changed.")] = "",
    registry: RegistryOpt = None,
) -> None:
    """Store FILE as the next version of NAME (the same file twice is one version)."""
    with open_registry(registry) as reg:
        record = reg.push(file, name=name, metrics=_metrics(metric or []), description=description)
    out.print(
        f"[bold]{record.name}[/bold] version {record.version}: {record.detector} ({record.kind}), "
        f"{record.n_rows:,} training rows, sha256 {record.sha256[:12]}",
        highlight=False,
    )


@models_app.command("list")
def list_models(registry: RegistryOpt = None) -> None:
    """Every model with its newest version and aliases."""
    with open_registry(registry) as reg:
        models = reg.list()
    if not models:
        out.print("The registry holds no models yet; push one with `anomalyzer models push`.")
        return
    table = Table(show_header=True, header_style="bold")
    for col in ("name", "latest", "versions", "aliases", "kind", "detector", "updated"):
        table.add_column(col)
    for m in models:
        aliases = ", ".join(f"{a} -> {v}" for a, v in m.aliases.items())
        table.add_row(m.name, str(m.latest), str(m.n_versions), aliases, m.kind, m.detector,
                      m.updated_at.strftime("%Y-%m-%d %H:%M UTC"))  # fmt: skip
    out.print(table)


@models_app.command("show")
def show(
    name: NameArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    registry: RegistryOpt = None,
) -> None:
    """Every version of NAME with its metadata and aliases."""
    with open_registry(registry) as reg:
        info = reg.show(name)
    if as_json:
        out.print_json(json.dumps(info.to_dict()))
        return
    table = Table(show_header=True, header_style="bold", title=f"{name}")
    for col in (
        "version",
        "aliases",
        "detector",
        "kind",
        "rows",
        "metrics",
        "pushed by",
        "pushed at",
    ):
        table.add_column(col)
    for v in info.versions:
        metrics = ", ".join(f"{k}={x:.4g}" for k, x in v.metrics.items())
        table.add_row(str(v.version), ", ".join(v.aliases), v.detector, v.kind, f"{v.n_rows:,}",
                      metrics, v.pushed_by, v.pushed_at.strftime("%Y-%m-%d %H:%M UTC"))  # fmt: skip
    out.print(table)


@models_app.command("promote")
def promote(
    name: NameArg,
    version: Annotated[int, typer.Argument(help="Version number.", min=1)],
    alias: Annotated[str, typer.Option(help="Alias to point at VERSION.")] = "production",
    registry: RegistryOpt = None,
) -> None:
    """Point an alias (production, staging...) of NAME at VERSION; servers follow within a second."""
    with open_registry(registry) as reg:
        record = reg.promote(name, version, alias=alias)
    out.print(f"[bold]{name}[/bold] {alias} -> version {record.version}", highlight=False)


@models_app.command("delete")
def delete(
    name: NameArg,
    version: Annotated[
        int | None, typer.Option(help="Delete this version only (default: the whole model).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Delete even what an alias points to.")] = False,
    registry: RegistryOpt = None,
) -> None:
    """Delete a version of NAME, or all of NAME; aliased versions need --force."""
    with open_registry(registry) as reg:
        gone = reg.delete(name, version, force=force)
    out.print(f"Deleted {name} version{'s' if len(gone) > 1 else ''} {', '.join(map(str, gone))}.")


@models_app.command("audit")
def audit(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    limit: Annotated[int, typer.Option(help="How many of the last changes.", min=1)] = 50,
    registry: RegistryOpt = None,
) -> None:
    """The last changes to the registry: who did what, when."""
    with open_registry(registry) as reg:
        entries = reg.audit(name, limit=limit)
    table = Table(show_header=True, header_style="bold")
    for col in ("when", "who", "action", "model", "version", "detail"):
        table.add_column(col)
    for e in entries:
        table.add_row(e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.name or "",
                      "" if e.version is None else str(e.version),
                      json.dumps(e.detail, default=str))  # fmt: skip
    out.print(table)

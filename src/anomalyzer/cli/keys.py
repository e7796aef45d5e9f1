"""``anomalyzer keys``: API keys of the service (stored hashed; a key is shown once)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from anomalyzer.cli.app import app, out
from anomalyzer.cli.models import RegistryOpt, open_registry

keys_app = typer.Typer(help="API keys of `anomalyzer serve`.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def create(
    scope: Annotated[
        str, typer.Option(help="score: score, explain, stream, feedback; admin: also promote.")
    ] = "score",
    note: Annotated[str, typer.Option(help="Who or what the key is for.")] = "",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print the key only.")] = False,
    registry: RegistryOpt = None,
) -> None:
    """Create an API key and print it: it is shown this once and stored only as a hash."""
    with open_registry(registry) as reg:
        record, token = reg.create_key(scope, note=note)
    if quiet:
        print(token)
        return
    out.print(
        f"Created {record.scope} key [bold]{record.id}[/bold]; keep it now, it is not shown again:"
    )
    print(token)


@keys_app.command("list")
def list_keys(registry: RegistryOpt = None) -> None:
    """Every key's id, scope and state (never the key itself)."""
    with open_registry(registry) as reg:
        keys = reg.keys()
    table = Table(show_header=True, header_style="bold")
    for col in ("id", "scope", "note", "created by", "created", "state"):
        table.add_column(col)
    for k in keys:
        state = "revoked" if k.revoked_at else "active"
        table.add_row(
            k.id, k.scope, k.note, k.created_by, k.created_at.strftime("%Y-%m-%d %H:%M"), state
        )
    out.print(table)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (see `anomalyzer keys list`).")],
    registry: RegistryOpt = None,
) -> None:
    """Revoke a key; servers refuse it within seconds."""
    with open_registry(registry) as reg:
        reg.revoke_key(key_id)
    out.print(f"Revoked key {key_id}.")

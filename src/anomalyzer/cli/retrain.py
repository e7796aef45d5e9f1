"""``anomalyzer retrain``: fit a challenger on recent rows, compare it with the model, decide."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from anomalyzer.cli.app import app, out
from anomalyzer.cli.files import check_output, read_data
from anomalyzer.cli.models import RegistryOpt, open_registry
from anomalyzer.cli.monitor import ModelArg, check_not_input, load_table_model
from anomalyzer.cli.options import DataArg, QueryOpt, TableOpt
from anomalyzer.cli.progress import Steps
from anomalyzer.errors import AnomalyzerError

#: Exit code when a promotion was asked for and the rule refused it.
EXIT_REFUSED = 4


@app.command()
def retrain(
    model: ModelArg,
    data: DataArg,
    table: TableOpt = None,
    query: QueryOpt = None,
    window: Annotated[
        int | None,
        typer.Option(help="Use only the last N rows of DATA (a sliding window).", min=2),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(help="Fit on these rows plus the window (reference + recent)."),
    ] = None,
    time: Annotated[
        str | None,
        typer.Option(help="Order the rows by this column (dates or numbers) first."),
    ] = None,
    holdout: Annotated[
        float,
        typer.Option(help="Share of the window, the latest rows, kept aside to compare."),
    ] = 0.2,
    output: Annotated[
        Path, typer.Option("--out", "-o", help="Where to save the challenger model.")
    ] = Path("challenger.azm"),
    decision: Annotated[
        Path | None,
        typer.Option(help="Write the comparison and the decision as JSON (.json)."),
    ] = None,
    promote_to: Annotated[
        Path | None,
        typer.Option(
            help="Also save the challenger here, the model in use, when the promotion rule "
            "holds (exit code 4 when it does not)."
        ),
    ] = None,
    min_rows: Annotated[
        int, typer.Option(help="Rule: fewest rows the challenger is fitted on.")
    ] = 500,
    min_rank_correlation: Annotated[
        float,
        typer.Option(help="Rule: least Spearman correlation with the model's scores."),
    ] = 0.3,
    rate_tolerance: Annotated[
        float,
        typer.Option(help="Rule: relative distance of the flag rate from its target."),
    ] = 0.5,
    require_drift: Annotated[
        bool, typer.Option(help="Rule: promote only when the model has drifted.")
    ] = True,
    force: Annotated[bool, typer.Option(help="Promote even when the rule does not hold.")] = False,
    push: Annotated[
        str | None,
        typer.Option(
            help="Push the challenger to the model registry as a new version of this name "
            "(not promoted unless --promote)."
        ),
    ] = None,
    registry: RegistryOpt = None,
    promote: Annotated[
        bool,
        typer.Option(
            help="With --push: move --alias to the new version when the rule holds "
            "(exit code 4 when it does not)."
        ),
    ] = False,
    alias: Annotated[str, typer.Option(help="The alias --promote moves.")] = "production",
) -> None:
    """Fit a challenger on the recent rows of DATA (latest last, or by --time) and compare it with MODEL.

    Both score the latest rows of the window, kept aside; the agreement (rank
    correlation, flagged rows in common, flag rates against the target) and
    the promotion rule's decision are printed. The challenger is saved to
    --out; with --promote-to it is saved there too, only when the rule holds.
    With --push it becomes a new version in the model registry, and with
    --promote the registry alias moves to it, only when the rule holds.
    """
    from anomalyzer.monitor.retrain import PromotionRule
    from anomalyzer.monitor.retrain import retrain as run_retrain

    rule = PromotionRule(
        min_rows=min_rows,
        require_drift=require_drift,
        rate_tolerance=rate_tolerance,
        min_rank_correlation=min_rank_correlation,
    )
    check_output(output, (), "--out")
    check_output(decision, (".json",), "--decision")
    check_output(promote_to, (), "--promote-to")
    inputs: list[str | Path] = [model, data, *([reference] if reference else [])]
    for path, option in (
        (output, "--out"),
        (decision, "--decision"),
        (promote_to, "--promote-to"),
    ):
        check_not_input(path, option, *inputs)
    if promote_to is not None and output.resolve() == promote_to.resolve():
        raise AnomalyzerError("--promote-to must differ from --out.")
    if promote and push is None:
        raise AnomalyzerError("--promote moves a registry alias: add --push NAME.")
    with Steps() as steps:
        fitted = load_table_model(steps, model)
        df = read_data(steps, data, table, query)
        with steps.step("Fitting the challenger and comparing"):
            result = run_retrain(
                fitted,
                df,
                window=window,
                reference=reference,
                holdout=holdout,
                time=time,
                rule=rule,
                force=force,
            )
        a = result.agreement
        out.print(
            f"Challenger fitted on {a['n_fit']:,} rows; compared on the latest "
            f"{a['n_holdout']:,}: rank correlation {a['rank_correlation']:.2f}, flagged rows in "
            f"common {a['flag_overlap']:.0%}, flag rate {a['flag_rate_champion']:.1%} (model) vs "
            f"{a['flag_rate_challenger']:.1%} (challenger), target {a['target_rate']:.1%}.",
            highlight=False,
            markup=False,
        )
        out.print(result.drift.verdict, highlight=False, markup=False)
        out.print(result.decision.text, highlight=False, markup=False)
        with steps.step(f"Saving the challenger to {output}"):
            result.challenger.save(output)
        out.print(f"Wrote {output}")
        if decision is not None:
            decision.write_text(json.dumps(result.to_dict(), indent=1), encoding="utf-8")
            out.print(f"Wrote {decision}")
        refused = False
        if push is not None:
            from anomalyzer.monitor.promotion import push_challenger

            with (
                steps.step(f"Pushing the challenger as {push}"),
                open_registry(registry) as store,
            ):
                pushed = push_challenger(store, result, output, push, alias=alias, promote=promote)
            moved = f"; {alias} now points at it" if pushed.promoted else ""
            out.print(f"Pushed {push} version {pushed.version}{moved}", highlight=False)
            refused = promote and not pushed.promoted
        if promote_to is not None:
            if not result.decision.promote:
                out.print(f"Not promoted: {promote_to} is unchanged.")
                sys.exit(EXIT_REFUSED)  # SystemExit: see the monitor command
            shutil.copyfile(output, promote_to)
            out.print(f"Promoted: wrote {promote_to}")
        if refused:
            sys.exit(EXIT_REFUSED)

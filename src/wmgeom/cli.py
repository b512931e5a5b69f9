"""Command line: thin wrappers that parse, call the API, and print .

User errors (:class:`~wmgeom.errors.WmgeomError`, bad arguments included) print one line
and exit with status 2, without a traceback; outputs are written atomically, so nothing is
half-written. Ctrl-C (SIGINT) and SIGTERM stop a command the same way: the temporaries of
the write under way are removed, one line says how to continue (``--resume``), and the
exit status is 128 + the signal's number (130, 143). The guarantees are listed in
``docs/guarantees.md``.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from wmgeom.errors import WmgeomError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="wmgeom: working-memory RNNs on naturalistic stimuli, and the geometry of their memories.",
)
console = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file.")]
ProfileOpt = Annotated[str | None, typer.Option(
    "--profile", "-p", help="quick (default; CPU, minutes) or paper (Lei et al. 2024's setup, GPU).")]
ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bars.")]


class Study(StrEnum):
    nback = "nback"
    two_orientation = "two-orientation"
    nback_grid = "nback-grid"


GridOpt = Annotated[bool, typer.Option(
    "--grid", help="The paper grid: architectures × regimes (× sizes × seeds), compared.")]
ArchOpt = Annotated[str | None, typer.Option(
    "--architectures", help="Grid: comma-separated architectures (default rnn,gru,lstm).")]
TasksOpt = Annotated[str | None, typer.Option(
    "--tasks", help="Grid: comma-separated task families (default nback; e.g. nback,dms).")]
RegimeOpt = Annotated[str | None, typer.Option(
    "--regimes", help="Grid: comma-separated regimes (default STSF,STMF,MTMF).")]
SeedsOpt = Annotated[str | None, typer.Option("--seeds", help="Grid: comma-separated seeds.")]
SizesOpt = Annotated[str | None, typer.Option(
    "--sizes", help="Grid: comma-separated hidden sizes, or 'paper' (512 RNN, 256 GRU/LSTM).")]
JobsOpt = Annotated[int | None, typer.Option(
    "--jobs", min=1, help="Grid: parallel local processes (default: one per CPU core).")]
RayOpt = Annotated[bool, typer.Option(
    "--ray", help="Grid: run the points as Ray tasks (RAY_ADDRESS's cluster, or a local one).")]


def _grid_config(config: Path | None, profile: str | None, architectures: str | None,
                 regimes: str | None, seeds: str | None, sizes: str | None,
                 tasks: str | None = None):
    """The grid of ``--config`` (a grid config, or an N-back config used as the base)."""
    from wmgeom.io import read_yaml
    from wmgeom.studies import grid

    data = read_yaml(config) if config else {}
    profile = profile or data.pop("profile", None) or "quick"
    data.pop("profile", None)
    if data.get("study", "nback-grid") != "nback-grid":
        in_file = data.pop("study")
        if in_file != "nback":
            raise WmgeomError(f"config file {config} is for study {in_file!r}; --grid takes "
                              "a grid config or an N-back config")
        data = {"base": data}
    data.pop("study", None)
    cfg = grid.make_config(profile, data)
    return grid.merge_options(
        cfg, architectures=_csv_list(architectures) if architectures else None,
        tasks=_csv_list(tasks) if tasks else None,
        regimes=[r.upper() for r in _csv_list(regimes)] if regimes else None,
        seeds=_csv_list(seeds, int, "--seeds") if seeds else None,
        sizes=grid.sizes_option(sizes))


def _config(config: Path | None, profile: str | None, command: str):
    """The N-back config of ``--config`` / ``--profile`` (the stage commands are N-back's)."""
    from wmgeom.studies.registry import load_study_config

    return load_study_config(config, profile, "nback", command=f"wmgeom {command}")[1]


@app.command()
def run(
    out: Annotated[Path, typer.Option("--out", "-o", help="Run directory.")] = Path("wmgeom-run"),
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    study: Annotated[Study | None, typer.Option(
        help="Which study to run (default: the config file's, else nback).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the run in --out.")] = False,
    grid: GridOpt = False,
    architectures: ArchOpt = None,
    tasks: TasksOpt = None,
    regimes: RegimeOpt = None,
    seeds: SeedsOpt = None,
    sizes: SizesOpt = None,
    jobs: JobsOpt = None,
    ray: RayOpt = False,
    progress: ProgressOpt = True,
) -> None:
    """Everything, end to end: stimuli, features, training, recording, analyses, report.

    With --grid: every architecture × regime (× size × seed) of Lei et al. 2024, trained,
    analysed and compared in one folder.
    """
    from wmgeom.studies.registry import load_study_config

    if grid and study not in (None, Study.nback, Study.nback_grid):
        raise WmgeomError(f"--grid runs the N-back grid, not --study {study.value}; drop one "
                          "of them")
    if grid or study is Study.nback_grid:
        from wmgeom.studies import grid as grid_study

        cfg = _grid_config(config, profile, architectures, regimes, seeds, sizes, tasks)
        summary = grid_study.run(cfg, out, resume=resume, progress=progress, jobs=jobs,
                                 use_ray=ray)
    else:
        chosen, cfg = load_study_config(config, profile, study.value if study else None)
        summary = chosen.run(cfg, out, resume=resume, progress=progress)
    print(json.dumps(summary, indent=2))
    _print_skipped(summary.get("skipped_analyses", []))
    console.print(f"[green]done[/green]: {out}/report.html")


def _print_skipped(lines: list[str]) -> None:
    """Analyses a recording could not support, on stderr (also in the report)."""
    from rich.markup import escape

    for line in lines:
        console.print(f"[yellow]skipped[/yellow] {escape(line)}", highlight=False,
                      soft_wrap=True)


@app.command()
def render(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the iWISDM layout.")],
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Render the stimulus set; write it in iWISDM layout with a contact sheet."""
    from wmgeom.stimuli import render_to_folder

    stimset = render_to_folder(out, _config(config, profile, "render").stimuli)
    console.print(f"[green]rendered[/green] {len(stimset.table)} images → {out} "
                  f"(contact sheet: {out}/contact_sheet.png)")


@app.command()
def features(config: ConfigOpt = None, profile: ProfileOpt = None,
             progress: ProgressOpt = True) -> None:
    """Compute (or find) the backbone feature cache of the configured stimulus set."""
    from wmgeom.studies.nback import prepare

    prep = prepare(_config(config, profile, "features"), progress)
    console.print(f"[green]features[/green] {prep.cache.spec.name} ({prep.cache.spec.weights}): "
                  f"{prep.cache.maps.shape[0]} canvases × {prep.cache.shape}, key {prep.cache.key}")


@app.command()
def train(
    out: Annotated[Path, typer.Option("--out", "-o", help="Run directory.")] = Path("wmgeom-run"),
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    resume: Annotated[bool, typer.Option(help="Continue the run in --out.")] = False,
    progress: ProgressOpt = True,
) -> None:
    """Train a model; writes config.yaml, metrics.csv, checkpoints/ and summary.json."""
    from wmgeom.studies.nback import train as train_run

    print(json.dumps(train_run(_config(config, profile, "train"), out, resume=resume,
                               progress=progress), indent=2))


@app.command()
def record(run_dir: Annotated[Path, typer.Argument(help="A trained run directory.")],
           progress: ProgressOpt = True) -> None:
    """Record activations of a trained run into RUN_DIR/activations.nc."""
    from wmgeom.studies.nback import record as record_run

    console.print(f"[green]recorded[/green] {record_run(run_dir, progress)}")


@app.command()
def analyze(run_dirs: Annotated[list[Path] | None, typer.Argument(
                help="One or more run directories.")] = None,
            out: Annotated[Path | None, typer.Option(
                "--out", "-o", help="Folder for analysis/ and figures/ (default: the first "
                "run directory).")] = None,
            jobs: Annotated[int, typer.Option(
                "--jobs", min=1, help="Processes analysing runs in parallel (one run each).")] = 1,
            recording: Annotated[list[Path] | None, typer.Option(
                "--recording", "-r", help="Activations or a recording to analyse instead of "
                "run directories (.nwb, .nc, or .npz with a .csv trial table); repeat to "
                "compare several.")] = None,
            config: Annotated[Path | None, typer.Option(
                "--config", "-c", help="With --recording: YAML of how to read the file, cut "
                "frames and decode (docs/anyones_data.md).")] = None,
            progress: ProgressOpt = True) -> None:
    """Run every analysis on recorded runs (or --recording files); tables to analysis/,
    figures to figures/ (and, for recordings, report.html)."""
    from wmgeom.studies.nback import analyze as analyze_runs
    from wmgeom.studies.nback import skipped_lines

    if recording:
        _analyze_recordings(recording, run_dirs, out, config, progress)
        return
    if not run_dirs:
        raise WmgeomError("give one or more run directories, or --recording FILE")
    if config is not None:
        raise WmgeomError("--config applies to --recording files; a run directory is "
                          "analysed with its own config.yaml")
    tables = analyze_runs(list(run_dirs), out_dir=out, progress=progress, jobs=jobs)
    _print_skipped(skipped_lines(tables))
    console.print(f"[green]analysed[/green] {len(tables)} tables → {out or run_dirs[0]}/analysis")


def _analyze_recordings(files: list[Path], run_dirs: list[Path] | None, out: Path | None,
                        config: Path | None, progress: bool) -> None:
    """``wmgeom analyze --recording FILE``: every analysis the data support, then the report."""
    from rich.markup import escape

    from wmgeom.studies.nback.recordings import analyze_data

    if run_dirs:
        raise WmgeomError("give run directories or --recording files, not both")
    out = out or Path(f"{files[0].stem}-analysis")
    tables = analyze_data(files, out, config, progress=progress)
    status = tables["status"]
    ran = status[status["status"] == "ran"]
    console.print(f"[green]ran[/green] {', '.join(dict.fromkeys(ran['analysis'])) or 'nothing'}")
    for _, row in status[status["status"] == "skipped"].iterrows():
        console.print(f"[yellow]skipped[/yellow] {escape(row['analysis'])} ({escape(row['run'])}): "
                      f"{escape(row['reason'])}", highlight=False, soft_wrap=True)
    console.print(f"[green]analysed[/green] {len(files)} recording(s) → {out}/analysis, "
                  f"{out}/report.html")


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(
        help="An analysed run directory (or the --out folder of `wmgeom analyze`).")]) -> None:
    """Write RUN_DIR/report.html: every figure, table and the config on one page."""
    from wmgeom.studies.registry import study_of_run

    if not run_dir.is_dir():
        raise WmgeomError(f"{run_dir} is not a directory; pass a run directory")
    console.print(f"[green]report[/green] {study_of_run(run_dir).report(run_dir)}")


@app.command()
def tasks(n_values: Annotated[str, typer.Option(help="Comma-separated N set.")] = "1,2,3") -> None:
    """List the registered task names."""
    from wmgeom.tasks import names

    values = _csv_list(n_values, int, "--n-values")
    if not values or any(n < 1 for n in values):
        raise WmgeomError(f"--n-values {n_values!r}: give positive integers, e.g. 1,2,3")
    if len(set(values)) != len(values):
        raise WmgeomError(f"--n-values {n_values!r}: give each N once, e.g. 1,2,3")
    for name in names(tuple(values)):
        print(name)


def _csv_list(text: str, cast=str, option: str = "the list") -> list:
    try:
        return [cast(x.strip()) for x in text.split(",") if x.strip()]
    except ValueError:
        raise WmgeomError(f"{option} {text!r}: give comma-separated "
                          f"{'integers' if cast is int else 'values'}, e.g. 0,1,2") from None


@app.command()
def sweep(
    out: Annotated[Path, typer.Option("--out", "-o", help="Grid folder.")] = Path("wmgeom-grid"),
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    architectures: ArchOpt = None,
    tasks: TasksOpt = None,
    regimes: RegimeOpt = None,
    seeds: SeedsOpt = None,
    sizes: SizesOpt = None,
    jobs: JobsOpt = None,
    ray: RayOpt = False,
    resume: Annotated[bool, typer.Option(
        help="Continue an interrupted sweep (it always does: finished points are kept, "
             "interrupted ones resume from their checkpoints).")] = False,
    progress: ProgressOpt = True,
) -> None:
    """Train and record the grid points only (no analysis): `wmgeom run --grid` does all."""
    from wmgeom.studies import grid as grid_study

    cfg = _grid_config(config, profile, architectures, regimes, seeds, sizes, tasks)
    print(grid_study.sweep(cfg, out, jobs=jobs, use_ray=ray, progress=progress)
          .to_string(index=False))


class Interrupted(BaseException):
    """Ctrl-C (SIGINT) or SIGTERM, raised past the command-line parser, which would swallow
    it; ``signum`` is the signal's number."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _interrupt(signum, frame) -> None:
    raise Interrupted(signum)


def _option_errors() -> tuple[type[Exception], ...]:
    """The errors of bad options and arguments: click's, and those of the copy of click that
    newer typer versions carry."""
    import click

    return tuple(c for c in (click.ClickException,
                             getattr(typer.exceptions, "TyperException", None))
                 if c is not None)


#: The commands that continue an interrupted run with ``--resume`` (the others start over).
RESUMABLE = ("run", "train", "sweep")

#: The signals that stop a command cleanly, and the exit status of each (128 + its number).
STOP_SIGNALS = {"SIGINT": 130, "SIGTERM": 143}


def main() -> None:
    """Console entry point: one-line messages for user errors, exit status 2; Ctrl-C and
    SIGTERM print how to continue and exit 130 and 143."""
    import logging
    import signal

    from rich.markup import escape

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    handler.setLevel(logging.WARNING)
    logging.getLogger("wmgeom").addHandler(handler)
    previous = {name: signal.signal(getattr(signal, name), _interrupt) for name in STOP_SIGNALS}
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except _option_errors() as exc:  # a bad option or argument: one line too
        if type(exc).__name__ == "NoArgsIsHelpError":  # `wmgeom` alone: the help
            exc.show()
        else:
            command = getattr(getattr(exc, "ctx", None), "command_path", None)
            hint = f" (see `{command} --help`)" if command else ""
            message = exc.format_message().replace("Value error, ", "")
            console.print(f"[red]error:[/red] {escape(message)}{escape(hint)}",
                          highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except WmgeomError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except (Interrupted, KeyboardInterrupt) as exc:
        for name in STOP_SIGNALS:  # a second signal now ends the process at once
            signal.signal(getattr(signal, name), signal.SIG_DFL)
        command = next((a for a in sys.argv[1:] if not a.startswith("-")), "")
        again = "with --resume" if command in RESUMABLE else "again"
        console.print("[yellow]interrupted[/yellow]: every file written so far is complete; "
                      f"run the same command {again} to continue.", highlight=False,
                      soft_wrap=True)
        signum = getattr(exc, "signum", signal.SIGINT)
        sys.exit(STOP_SIGNALS.get(signal.Signals(signum).name, 130))
    finally:
        for name, handler_before in previous.items():
            signal.signal(getattr(signal, name), handler_before)


if __name__ == "__main__":
    main()

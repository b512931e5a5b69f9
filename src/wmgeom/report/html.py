"""One self-contained HTML page per run (SPEC U3).

:func:`render_html` turns a list of :class:`Section` objects into a single page with
inline CSS and every image embedded as a base64 PNG, so the page can be mailed or
archived without its folder and opens offline. No script, stylesheet, font or image is
fetched from anywhere.
"""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from wmgeom.errors import WmgeomError
from wmgeom.io import write_text_atomic

FigureLike = str | os.PathLike | Figure

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
       color: #1f2328; background: #ffffff; line-height: 1.45; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 1.8em; border-bottom: 2px solid #d0d7de; padding-bottom: 8px; }
h2 { font-size: 1.35em; margin-top: 2.2em; border-bottom: 1px solid #d0d7de;
     padding-bottom: 4px; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
nav ol { columns: 2; font-size: 0.95em; }
figure { margin: 18px 0; padding: 10px; border: 1px solid #d0d7de; border-radius: 6px;
         background: #fafbfc; }
figure img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption { font-size: 0.92em; color: #424a53; margin-top: 6px; }
table { border-collapse: collapse; font-size: 0.85em; margin: 8px 0 18px; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: right; white-space: nowrap; }
th { background: #f1f3f5; }
td:first-child, th:first-child { text-align: left; }
.table-wrap { max-height: 420px; overflow: auto; }
.note { color: #57606a; font-size: 0.9em; }
pre { background: #f6f8fa; padding: 12px; border-radius: 6px; overflow: auto;
      font-size: 0.85em; }
"""


@dataclass
class Section:
    """A titled block of the report.

    Attributes:
        title: Heading of the section.
        text: Paragraphs (plain text; blank lines separate paragraphs). Escaped on render.
        figures: ``(figure, caption)`` pairs; a figure is a PNG path or a matplotlib Figure.
        tables: ``(name, DataFrame)`` pairs rendered as HTML tables.
        code: Optional preformatted text (for example the resolved config).
    """

    title: str
    text: str = ""
    figures: list[tuple[FigureLike, str]] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    code: str | None = None


def figure_data_uri(figure: FigureLike) -> str:
    """Return a ``data:image/png;base64,...`` URI for a PNG file or a matplotlib Figure."""
    if isinstance(figure, Figure):
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        data = buffer.getvalue()
    else:
        path = Path(figure)
        if not path.is_file():
            raise WmgeomError(f"figure file {path} does not exist; run `wmgeom analyze` first")
        data = path.read_bytes()
        if not data.startswith(b"\x89PNG"):
            raise WmgeomError(f"figure file {path} is not a PNG; pass a .png file or a Figure")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _table_html(df: pd.DataFrame, max_rows: int) -> str:
    shown = df.head(max_rows)
    body = shown.to_html(index=False, border=0, float_format=lambda x: f"{x:.4g}", escape=True)
    note = ""
    if len(df) > max_rows:
        note = f'<p class="note">First {max_rows} of {len(df)} rows; the CSV holds all.</p>'
    return f'<div class="table-wrap">{body}</div>{note}'


def _paragraphs(text: str) -> str:
    parts = [p.strip() for p in text.strip().split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in parts)


def render_html(title: str, sections: list[Section], path: str | os.PathLike,
                max_table_rows: int = 60) -> Path:
    """Render ``sections`` into one self-contained HTML page at ``path`` (written atomically).

    Args:
        title: Page title and top heading.
        sections: Sections in display order.
        path: Output ``.html`` path.
        max_table_rows: Rows shown per table (the full tables live in CSV files).

    Returns:
        The path written.
    """
    path = Path(path)
    toc = "".join(
        f'<li><a href="#s{i}">{html.escape(s.title)}</a></li>' for i, s in enumerate(sections)
    )
    blocks = []
    for i, section in enumerate(sections):
        parts = [f'<section id="s{i}"><h2>{html.escape(section.title)}</h2>']
        if section.text:
            parts.append(_paragraphs(section.text))
        for figure, caption in section.figures:
            parts.append(
                f'<figure><img alt="{html.escape(caption)}" src="{figure_data_uri(figure)}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
        for name, table in section.tables:
            parts.append(f"<h3>{html.escape(name)}</h3>{_table_html(table, max_table_rows)}")
        if section.code:
            parts.append(f"<pre>{html.escape(section.code)}</pre>")
        parts.append("</section>")
        blocks.append("".join(parts))
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1><nav><ol>{toc}</ol></nav>"
        + "".join(blocks)
        + "</main></body></html>\n"
    )
    write_text_atomic(path, page)
    return path


# --------------------------------------------------------------------------- run report


def _read_yaml(path: Path) -> dict:
    import yaml

    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise WmgeomError(f"{path} is not valid YAML ({exc}); fix or delete it") from exc
    return data if isinstance(data, dict) else {}


def _read_json(path: Path) -> dict:
    import json

    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise WmgeomError(f"{path} is not valid JSON ({exc}); re-run training") from exc


def _read_tables(analysis_dir: Path) -> dict[str, pd.DataFrame]:
    tables = {}
    for csv in sorted(analysis_dir.glob("*.csv")):
        try:
            tables[csv.stem] = pd.read_csv(csv)
        except pd.errors.EmptyDataError:
            tables[csv.stem] = pd.DataFrame()
    return tables


def _needs_analysis(run_dir: Path, extra: list[Path]) -> bool:
    protocol = _read_json(run_dir / "analysis" / "protocol.json")
    if not protocol or not (run_dir / "analysis" / "timing.csv").is_file():
        return True
    done = {Path(p).resolve() for p in protocol.get("runs", [])}
    return not {p.resolve() for p in [run_dir, *extra]} <= done


def write_report(run_dir: str | os.PathLike, extra_run_dirs=(), progress: bool = False) -> Path:
    """Write ``RUN_DIR/report.html``: accuracies, training curves, every figure, tables.

    Runs :func:`wmgeom.analysis.pipeline.analyze_runs` first when ``RUN_DIR/analysis/``
    is missing or does not cover ``extra_run_dirs``. A run whose ``config.yaml`` says
    ``study: two-orientation`` is reported by :mod:`wmgeom.report.orientation` instead.

    Args:
        run_dir: The run directory (its figures and tables are the report's).
        extra_run_dirs: Further runs compared in the cross-run figures (regimes,
            architectures).
        progress: Show progress while analyses run.

    Returns:
        The path of the written page.

    Raises:
        WmgeomError: If ``run_dir`` is not a run directory.
    """
    from wmgeom.report.sections import nback_sections

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise WmgeomError(f"{run_dir} is not a directory; pass a run directory")
    config = _read_yaml(run_dir / "config.yaml")
    out = run_dir / "report.html"
    if config.get("study") == "two-orientation":
        from wmgeom.report import orientation

        title = f"wmgeom report: two-orientation working memory ({run_dir.name})"
        return render_html(title, orientation.sections(run_dir), out)
    extra = [Path(p) for p in extra_run_dirs]
    if not (run_dir / "activations.nc").is_file() and not (run_dir / "analysis").is_dir():
        raise WmgeomError(
            f"{run_dir} has neither activations.nc nor analysis/; run `wmgeom record "
            f"{run_dir}` (or `wmgeom run`) first"
        )
    if _needs_analysis(run_dir, extra):
        from wmgeom.analysis.pipeline import analyze_runs

        analyze_runs([run_dir, *extra], out_dir=run_dir, progress=progress)
    tables = _read_tables(run_dir / "analysis")
    sections = nback_sections(
        run_dir, tables, config=config, summary=_read_json(run_dir / "summary.json"),
        protocol=_read_json(run_dir / "analysis" / "protocol.json"),
    )
    return render_html(f"wmgeom report: {run_dir.name}", sections, out)

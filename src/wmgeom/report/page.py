"""The report page: sections rendered into one self-contained HTML file.

:func:`render_html` turns a list of :class:`Section` objects into a single page with
inline CSS and every image embedded as a base64 PNG, so the page can be mailed or
archived without its folder and opens offline. No script, stylesheet, font or image is
fetched from anywhere. This module knows no study: the studies' report modules
(:mod:`wmgeom.studies.nback.report`, :mod:`wmgeom.report.orientation`) build the sections.
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
from wmgeom.report.numbers import format_table

FigureLike = str | os.PathLike | Figure

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
       color: #1f2328; background: #ffffff; line-height: 1.45; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 1.8em; border-bottom: 2px solid #d0d7de; padding-bottom: 8px; }
h2 { font-size: 1.35em; margin-top: 2.2em; border-bottom: 1px solid #d0d7de;
     padding-bottom: 4px; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
nav ol { columns: 3; column-gap: 2.8em; font-size: 0.85em; margin: 8px 0; }
nav li { break-inside: avoid; }
figure { margin: 18px 0; padding: 10px; border: 1px solid #d0d7de; border-radius: 6px;
         background: #fafbfc; }
figure img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption { font-size: 0.92em; color: #424a53; margin-top: 6px; }
table { border-collapse: collapse; font-size: 0.85em; margin: 8px 0 18px; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: right; white-space: nowrap; }
th { background: #f1f3f5; }
td:first-child, th:first-child { text-align: left; }
.table-wrap { max-height: 420px; overflow: auto; }
.text-table td, .text-table th { white-space: normal; text-align: left; vertical-align: top;
                                 min-width: 90px; max-width: 360px; }
.note { color: #57606a; font-size: 0.9em; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600;
         font-size: 0.92em; white-space: nowrap; color: #ffffff; }
.badge.ok { background: #1a7f37; }
.badge.partly { background: #9a6700; }
.badge.no { background: #cf222e; }
.badge.untested { background: #6e7781; }
.legend { font-size: 0.82em; color: #424a53; margin: 4px 0 6px; }
.legend > span { margin-right: 12px; white-space: nowrap; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%;
       margin-right: 4px; vertical-align: -1px; }
.dot.small { width: 5px; height: 5px; vertical-align: 1px; }
.diamond { display: inline-block; width: 6px; height: 6px; border: 1.5px solid;
           transform: rotate(45deg); margin-right: 5px; vertical-align: 0; }
.band { display: inline-block; width: 16px; height: 8px; background: #8c959f;
        opacity: 0.3; margin-right: 4px; }
.dash { display: inline-block; width: 14px; border-top: 1.5px dashed #1f2328;
        margin-right: 4px; vertical-align: 3px; }
table.glance { width: 100%; table-layout: fixed; font-size: 0.84em; margin-top: 4px; }
table.glance th, table.glance td { white-space: normal; text-align: left;
                                   vertical-align: top; padding: 3px 6px; }
table.glance > thead > tr > th:nth-child(1) { width: 30%; }
table.glance > thead > tr > th:nth-child(2) { width: 11%; }
table.glance > thead > tr > th:nth-child(3) { width: 28%; }
table.glance > thead > tr > th:nth-child(4) { width: 31%; }
table.glance .badge { font-size: 0.85em; padding: 1px 6px; }
table.glance td.plot { padding: 1px 2px; }
table.glance img.forest { display: block; max-width: 100%; height: auto; }
table.glance .fig, .small, .q, .why { font-size: 0.86em; color: #57606a; }
table.glance details summary { display: inline; cursor: pointer; font-size: 0.86em;
                               color: #0969da; }
table.glance details.more { display: inline; }
table.glance tr.more { display: none; }
table.glance tr:has(details.more[open]) + tr.more { display: table-row; }
table.glance tr.more td { background: #f6f8fa; }
.scroll { max-width: 100%; overflow-x: auto; }
table.units { font-size: 0.95em; margin: 4px 0; }
table.units th { white-space: normal; max-width: 150px; }
table.units td { white-space: nowrap; text-align: right; }
table.units td:first-child { text-align: left; }
.supports { font-size: 0.9em; margin: 4px 0 10px; padding-left: 18px; }
.supports li { margin: 2px 0; }
blockquote { margin: 4px 0; padding-left: 10px; border-left: 3px solid #d0d7de;
             color: #424a53; }
details.tables > summary { cursor: pointer; color: #0969da; font-size: 0.92em; }
pre { background: #f6f8fa; padding: 12px; border-radius: 6px; overflow: auto;
      font-size: 0.85em; }
"""


@dataclass
class Section:
    """A titled block of the report.

    Attributes:
        title: Heading of the section.
        text: Paragraphs (plain text; blank lines separate paragraphs). Escaped on render.
        figures: ``(figure, caption)`` pairs, or ``(figure, caption, (source, statement))``
            to quote a paper's caption above ours; a figure is a PNG path or a matplotlib
            Figure.
        tables: ``(name, DataFrame)`` pairs rendered as HTML tables.
        code: Optional preformatted text (for example the resolved config).
        wrap: Tables of sentences: cells wrap, rows are not cut to a scroll box.
        html: Markup placed after the text, as it is (built by the report modules, which
            escape what they put in it).
        anchor: The section's id in the page (default ``s<position>``).
        fold_tables: Show the tables folded (``<details>``) under one summary line.
    """

    title: str
    text: str = ""
    figures: list[tuple] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    code: str | None = None
    wrap: bool = False
    html: str = ""
    anchor: str = ""
    fold_tables: bool = False


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


VERDICT_CLASSES = {"reproduced": "ok", "partly": "partly", "not reproduced": "no",
                   "not tested": "untested"}
"""The badge of each verdict (its colour in the page's style sheet)."""


def badge(verdict: str) -> str:
    """A verdict as a coloured badge."""
    kind = VERDICT_CLASSES.get(str(verdict).strip().lower(), "untested")
    return f'<span class="badge {kind}">{html.escape(str(verdict))}</span>'


def _table_html(df: pd.DataFrame, max_rows: int, wrap: bool = False) -> str:
    """The first ``max_rows`` rows as an HTML table: numbers formatted by their column
    (:mod:`wmgeom.report.numbers`), a ``verdict`` column as badges."""
    shown = format_table(df.head(max_rows))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    for values in shown.itertuples(index=False):
        cells = [badge(v) if c == "verdict" and v else html.escape(v)
                 for c, v in zip(shown.columns, values, strict=True)]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    cls = ' class="text-table"' if wrap else ""
    body = f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    note = ""
    if len(df) > max_rows:
        note = f'<p class="note">First {max_rows} of {len(df)} rows; the CSV holds all.</p>'
    return body + note if wrap else f'<div class="table-wrap">{body}</div>{note}'


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
    anchors = [s.anchor or f"s{i}" for i, s in enumerate(sections)]
    toc = "".join(
        f'<li><a href="#{a}">{html.escape(s.title)}</a></li>'
        for a, s in zip(anchors, sections, strict=True)
    )
    blocks = []
    for anchor, section in zip(anchors, sections, strict=True):
        parts = [f'<section id="{html.escape(anchor)}"><h2>{html.escape(section.title)}</h2>']
        if section.text:
            parts.append(_paragraphs(section.text))
        parts.append(section.html)
        for figure, caption, *quote in section.figures:
            said = "".join(f"<blockquote>{html.escape(source)}: {html.escape(text)}"
                           "</blockquote>" for source, text in quote)
            parts.append(
                f'<figure><img alt="{html.escape(caption)}" src="{figure_data_uri(figure)}">'
                f"<figcaption>{said}{html.escape(caption)}</figcaption></figure>"
            )
        tables = "".join(f"<h3>{html.escape(name)}</h3>"
                         f"{_table_html(table, max_table_rows, section.wrap)}"
                         for name, table in section.tables)
        if section.fold_tables and section.tables:
            names = ", ".join(name for name, _ in section.tables)
            tables = (f'<details class="tables"><summary>Tables behind this '
                      f"({html.escape(names)})</summary>{tables}</details>")
        parts.append(tables)
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

"""Figures of the papers and the self-contained HTML report (SPEC U3).

:mod:`wmgeom.report.figures` holds one function per seed-000 figure;
:mod:`wmgeom.report.html` renders sections into one page and writes a run's report.
"""

from wmgeom.report.html import Section, render_html, write_report

__all__ = ["Section", "render_html", "write_report"]

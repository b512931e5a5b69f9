"""Figures of the papers and the self-contained HTML report.

:mod:`~wmgeom.report.page` renders sections into one page (it knows no study);
:mod:`~wmgeom.report.figures` holds one function per figure of Lei et al. 2024 and
:mod:`~wmgeom.report.nback` one figure spec per figure, its sections and the N-back page;
:mod:`~wmgeom.report.orientation` the figures and page of the two-orientation study.
Everything here draws from tables; nothing runs an analysis.
"""

from wmgeom.report.page import Section, render_html

__all__ = ["Section", "render_html"]

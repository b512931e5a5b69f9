"""Figures of the papers and the self-contained HTML report.

:mod:`~wmgeom.report.page` renders sections into one page (it knows no study);
:mod:`~wmgeom.report.figures` holds one drawing function per figure of Lei et al. 2024;
:mod:`~wmgeom.report.orientation` the figures and page of the two-orientation study. The
N-back page is assembled from the analysis declarations by
:mod:`wmgeom.studies.nback.report`. Everything here draws from tables; nothing runs an
analysis.
"""

from wmgeom.report.page import Section, render_html

__all__ = ["Section", "render_html"]

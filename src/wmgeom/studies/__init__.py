"""Whole studies end to end, each a short chain of the same stages (SPEC U1).

:mod:`~wmgeom.studies.nback` is seed 000's N-back study, :mod:`~wmgeom.studies.orientation`
seed 001's two-orientation study and :mod:`~wmgeom.studies.grid` the paper grid of
architectures × regimes × sizes × seeds; :mod:`~wmgeom.studies.registry` maps the
``study`` key of a config to its study.
"""

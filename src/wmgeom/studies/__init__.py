"""Whole studies end to end, each a short chain of the same stages.

:mod:`~wmgeom.studies.nback` is the N-back study of Lei et al. 2024,
:mod:`~wmgeom.studies.orientation` the two-orientation study of Cueva et al. 2021 and
:mod:`~wmgeom.studies.grid` the paper grid of architectures × regimes × sizes × seeds;
:mod:`~wmgeom.studies.registry` maps the ``study`` key of a config to its study.
"""

"""Whole studies end to end: train every condition, record, analyse, write figures and report.

:mod:`wmgeom.studies.orientation` is seed 001's two-orientation study
(``wmgeom run --study two-orientation``).
"""

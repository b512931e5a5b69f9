"""Findings of Cueva et al. 2021, each judged against its null controls by a rule written once.

Only the abstract of Cueva et al. 2021 is available: each finding quotes its sentence, and
the quantity that tests it is ours (``docs/orientation.md``). The findings read one table,
``measures`` (:func:`wmgeom.analysis.orientation.measures_table` per condition, with
``condition``, ``rate_noise`` and ``ordinal`` columns): every number of the trained network
(``trained``) beside the same number of its two null controls, computed by the same code —

* ``untrained``: the same network as training starts it (same size, configuration and
  seed), recorded on the same trials;
* ``shuffled``: the trained network's recordings with the (θ1, θ2) labels permuted across
  trials.

A finding's quantity must beat the larger of its controls by the margin in its rule
(the study-agnostic engine :mod:`wmgeom.studies.findings`). The units are the training
conditions (one trained network each), or pairs of conditions for the claims about training
conditions. The thresholds and margins were fixed before the study's default run was looked
at.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from wmgeom.studies.findings import Finding, Threshold, judge_findings, rules_markdown

__all__ = ["FINDINGS", "PAPER", "findings", "rules"]

PAPER = "Cueva et al. 2021"
TABLE = "measures"
FIGURE = "abstract"
_BOTH = ("untrained network", "shuffled orientations")
_COLUMN = {"untrained network": "untrained", "shuffled orientations": "shuffled"}
_MISSING = ("measures table missing (written by `wmgeom run --study two-orientation`)")

Numbers = Mapping[str, float]


def _networks(g: pd.DataFrame) -> dict[str, dict[str, dict[str, float]]]:
    """``{condition: {network: {measure: value}}}`` of a unit's rows."""
    out = {}
    for cond, rows in g.groupby("condition", sort=False):
        m = rows.set_index("measure")
        out[str(cond)] = {n: m[n].astype(float).to_dict() for n in ("trained", *_COLUMN.values())
                          if n in m}
    return out


def _conditions(table: pd.DataFrame) -> pd.DataFrame:
    return table[["condition", "rate_noise", "ordinal"]].drop_duplicates("condition")


def units_by_condition(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """One unit per training condition (one trained network each), in table order."""
    return [(str(c), g) for c, g in table.groupby("condition", sort=False)]


def noise_pairs(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Pairs of conditions that differ only in their noise level (neighbouring levels at
    the same ordinal setting), labelled ``"noisier vs less noisy"``."""
    out = []
    for _, c in _conditions(table).groupby("ordinal", sort=False):
        c = c.sort_values("rate_noise")
        for lo, hi in zip(c.itertuples(), c.iloc[1:].itertuples(), strict=False):
            if hi.rate_noise > lo.rate_noise:
                out.append((f"{hi.condition} vs {lo.condition}",
                            table[table["condition"].isin([hi.condition, lo.condition])]))
    return out


def ordinal_pairs(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Pairs of conditions at the same noise level, with and without the ordinal output,
    labelled ``"ordinal vs plain"``."""
    out = []
    for _, c in _conditions(table).groupby("rate_noise", sort=False):
        for a in c[c["ordinal"].astype(bool)].itertuples():
            for b in c[~c["ordinal"].astype(bool)].itertuples():
                out.append((f"{a.condition} vs {b.condition}",
                            table[table["condition"].isin([a.condition, b.condition])]))
    return out


def _order(g: pd.DataFrame, key: str) -> list[str]:
    """The unit's conditions, the one with the larger ``key`` first."""
    c = _conditions(g).sort_values(key, ascending=False, kind="stable")
    return [str(x) for x in c["condition"]]


def _fmt(v: float) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3g}"


def _finding(id: str, claim: str, paper: str, quantities: Callable[..., dict[str, float]],
             compare: str, reproduced: Sequence[Threshold], partly: Sequence[Threshold],
             margin: float, definitions: str, nulls: tuple[str, ...] = _BOTH,
             null_if_missing: float | None = None,
             units: Callable[[pd.DataFrame], list] = units_by_condition,
             order: Callable[[pd.DataFrame], list[str]] | None = None,
             unit_name: str = "condition", no_units: str = "") -> Finding:
    """A finding on the ``measures`` table: ``quantities(numbers, ...)`` of the trained
    network (one ``numbers`` per condition of the unit, in ``order``) and, for ``compare``,
    of each null control, whose largest value is the null (``null_if_missing`` stands for a
    control the quantity is undefined on)."""
    def per_network(g: pd.DataFrame, network: str) -> dict[str, float] | None:
        nets = _networks(g)
        conds = order(g) if order is not None else list(nets)
        if any(network not in nets[c] for c in conds):
            return None
        return quantities(*(nets[c][network] for c in conds))

    def measure(g: pd.DataFrame) -> dict[str, float] | None:
        q = per_network(g, "trained")
        if q is None:
            return None
        values = []
        for part in nulls:
            qn = per_network(g, _COLUMN[part])
            v = float(qn[compare]) if qn is not None else math.nan
            if math.isnan(v) and qn is not None and null_if_missing is not None:
                v = null_if_missing
            q[f"null {compare} ({part})"] = v
            values.append(v)
        finite = [v for v in values if not math.isnan(v)]
        q[f"null {compare}"] = max(finite) if finite else math.nan
        return q

    def describe(label: str, g: pd.DataFrame, m) -> str:
        if m is None:
            return f"{label}: not measured"
        return f"{label}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in m.items()
                                        if not k.startswith("null "))

    null = ("the larger of the untrained network and shuffled orientations" if nulls == _BOTH
            else f"the {nulls[0]}")
    return Finding(id, claim, paper, FIGURE, TABLE, measure=measure, describe=describe,
                   reproduced=tuple(reproduced), partly=tuple(partly), units=units,
                   unit_name=unit_name, definitions=definitions, missing=_MISSING,
                   no_units=no_units, null=null, compare=compare, margin=margin,
                   null_parts=nulls)


# --------------------------------------------------------------------------- the findings


def _clifford(n: Numbers) -> dict[str, float]:
    return {"smallest principal angle (°)": n["principal_angle1_deg"],
            "radius ratio": n["radius_ratio"],
            "smaller circularity": min(n["circularity1"], n["circularity2"]),
            "var4 − var3": n["var4"] - n["var3"],
            "coding-plane r²": n["linear_r2"],
            "Clifford index": n["clifford_index"]}


CLIFFORD_TORUS = _finding(
    "clifford_torus", "The manifold of the two orientations is a Clifford torus, not a "
    "standard torus",
    "\"We find the activity manifold for the two orientations resembles a Clifford torus. "
    "Although a Clifford and standard torus (the surface of a donut) are topologically "
    "equivalent, they have important functional differences. A Clifford torus treats the two "
    "orientations equally [...]\"",
    _clifford, "Clifford index",
    reproduced=(Threshold("smallest principal angle (°)", ">=", 60),
                Threshold("radius ratio", ">=", 0.5),
                Threshold("smaller circularity", ">=", 0.5),
                Threshold("var4 − var3", ">=", 0.1),
                Threshold("coding-plane r²", ">=", 0.5)),
    partly=(Threshold("Clifford index", ">=", 0.25),),
    margin=0.2,
    definitions="noise-free grid states at the end of delay 2 regressed on cos/sin 2θ1 and "
                "cos/sin 2θ2 (the two coding planes); radius ratio = smaller / larger plane "
                "radius (equal treatment), circularity = minor / major semi-axis (a standard "
                "torus codes its tube angle radially: circularity ≈ 0), var4 − var3 = "
                "variance in the 4th principal component, coding-plane r² = variance the "
                "planes explain; Clifford index = r² × radius ratio × smaller circularity × "
                "sin(smallest principal angle), 1 for an ideal Clifford torus")


def _orthogonal(n: Numbers) -> dict[str, float]:
    return {"conditional angle (°)": n["conditional_angle_deg"],
            "orthogonal coding": n["orthogonal_coding"],
            "smallest principal angle (°)": n["principal_angle1_deg"]}


ORTHOGONAL_PLANES = _finding(
    "orthogonal_planes", "The two orientations are kept in orthogonal subspaces",
    "\"A Clifford torus treats the two orientations equally and keeps them in orthogonal "
    "subspaces, as demanded by the task, whereas a standard torus does not.\"",
    _orthogonal, "orthogonal coding",
    reproduced=(Threshold("conditional angle (°)", ">=", 60),
                Threshold("orthogonal coding", ">=", 0.5)),
    partly=(Threshold("conditional angle (°)", ">=", 45),),
    margin=0.2,
    definitions="at every grid value of one orientation, the other's circle (states "
                "regressed on its cos/sin 2θ) and its smallest principal angle with the first "
                "one's coding plane; conditional angle = mean angle, orthogonal coding = mean "
                "of circle r² × sin(angle), each the smaller over the two items (a standard "
                "torus's tube circle shares the ring's radial direction: angle ≈ 0; random "
                "planes are near orthogonal in many dimensions, so orthogonal coding also "
                "needs the circle to explain the states)")


def _betti(n: Numbers) -> dict[str, float]:
    return {"Betti numbers off (1, 2, 1)":
            abs(n["betti0"] - 1) + abs(n["betti1"] - 2) + abs(n["betti2"] - 1),
            "torus margin": n["torus_margin"]}


BETTI_TORUS = _finding(
    "betti_torus", "The manifold is a torus: Betti numbers (1, 2, 1)",
    "\"the activity manifold for the two orientations resembles a Clifford torus\"; \"a "
    "Clifford and standard torus (the surface of a donut) are topologically equivalent\"",
    _betti, "torus margin",
    reproduced=(Threshold("Betti numbers off (1, 2, 1)", "<=", 0),),
    partly=(Threshold("Betti numbers off (1, 2, 1)", "<=", 0),),
    margin=0.1, nulls=("untrained network",),
    definitions="Vietoris–Rips persistence of the noise-free grid states at the end of delay "
                "2 (greedy landmarks), bars counted by the relative-lifetime rule of "
                "docs/orientation.md; Betti numbers off (1, 2, 1) = sum of the absolute differences "
                "of (b0, b1, b2) from (1, 2, 1); torus margin = by how much the bars clear the rule towards b1 = 2, "
                "b2 = 1 (min of 2nd loop − t, t − 3rd loop, 1st void − t, t − 2nd void; > 0 "
                "for a torus); shuffled orientations leave the states, hence the topology, "
                "unchanged, so the untrained network is the only control")


def _ring(n: Numbers) -> dict[str, float]:
    like = [n["ring_like_theta1"], n["ring_like_theta2"]]
    return {"ring-like groups": float(np.nansum(like)),
            "smaller normalised ring contrast": float(np.min([n["ring_contrast_norm_theta1"],
                                                              n["ring_contrast_norm_theta2"]]))}


RING_CONNECTIVITY = _finding(
    "ring_connectivity", "Ring-like connectivity supports the torus: local excitation and "
    "global inhibition among the units of each orientation",
    "\"We find and characterize the connectivity patterns that support the Clifford torus.\" "
    "(the pattern is our reading: the abstract does not name it)",
    _ring, "smaller normalised ring contrast",
    reproduced=(Threshold("ring-like groups", ">=", 2),),
    partly=(Threshold("ring-like groups", ">=", 1),),
    margin=0.25, null_if_missing=0.0,
    definitions="units grouped by the orientation they are tuned to (cosine fit at the end of "
                "delay 2, r² ≥ 0.1) and their recurrent weights binned by the difference in "
                "preferred orientation; a group is ring-like when its mean weight is positive "
                "for differences within ±22.5° (near) and negative beyond ±45° (far); normalised ring contrast = (near "
                "− far) / s.d. of the group's weights, the smaller over the θ1 and θ2 groups "
                "(a control without tuned units in a group has no ring: 0)")


def _dynamic(n: Numbers) -> dict[str, float]:
    return {"fraction of θ1-tuned units changing tuning": n["fraction_tuning_changed"],
            "θ1 error within delay 2 (°)": n["ctd_within_delay2_deg"],
            "θ1 error, delay-1 decoder at the end of delay 2 (°)":
            n["ctd_delay1_to_delay2_deg"],
            "code change locked to θ2 (°)": n["stimulus2_locked_code_change_deg"]}


DYNAMIC_CODE = _finding(
    "dynamic_code", "A dynamic code: units change their θ1 tuning when θ2 arrives, and θ1 is "
    "kept",
    "\"in addition to attractors that store information via persistent activity, our "
    "networks also use a dynamic code where units change their tuning to prevent new sensory "
    "input from overwriting the previously stored one\"",
    _dynamic, "code change locked to θ2 (°)",
    reproduced=(Threshold("fraction of θ1-tuned units changing tuning", ">=", 0.2),
                Threshold("θ1 error within delay 2 (°)", "<=", 22.5),
                Threshold("code change locked to θ2 (°)", ">=", 10)),
    partly=(Threshold("fraction of θ1-tuned units changing tuning", ">=", 0.1),
            Threshold("θ1 error within delay 2 (°)", "<=", 22.5)),
    margin=10,
    definitions="noisy evaluation trials; a tuned unit changes tuning when its θ1 tuning "
                "curves at the ends of delay 1 and delay 2 correlate below 0.5; θ1 errors of "
                "cross-validated ridge decoders (chance 45°); code change locked to θ2 = what "
                "a decoder fitted at the end of delay 1 loses at the start of delay 2 beyond "
                "a decoder fitted there, minus the same loss over the same lag inside delay 2 "
                "(a code that drifts steadily, as a random network's does, scores 0)")


def _accuracy(n: Numbers) -> dict[str, float]:
    return {"report accuracy (1 − median error / 45°)": 1.0 - n["median_error_deg"] / 45.0,
            "median absolute error (°)": n["median_error_deg"]}


ACCURACY = _finding(
    "accuracy", "The networks report both orientations accurately",
    "\"training recurrent networks to report two previously shown stimulus orientations\"",
    _accuracy, "report accuracy (1 − median error / 45°)",
    reproduced=(Threshold("report accuracy (1 − median error / 45°)", ">=", 0.75),),
    partly=(Threshold("report accuracy (1 − median error / 45°)", ">=", 0.5),),
    margin=0.5,
    definitions="median absolute report error over both items on the noisy evaluation trials "
                "(reports read from the outputs averaged over the report epoch); chance = 45°")

_BEHAVIOUR_PAPER = (
    "\"By varying the training conditions of the RNNs, we test and support the hypothesis "
    "that human behavior is a product of both neural noise and reliance on the more stable "
    "and behaviorally relevant memory of the ordinal relationship between the two "
    "orientations.\"")


def _noise(noisy: Numbers, quiet: Numbers) -> dict[str, float]:
    return {"median error, noisier − less noisy (°)":
            noisy["median_error_deg"] - quiet["median_error_deg"],
            "error correlation, noisier − less noisy":
            noisy["error_correlation"] - quiet["error_correlation"]}


NOISE_EFFECT = _finding(
    "noise_effect", "Neural noise shapes the reports: networks trained and run with more noise "
    "err more", _BEHAVIOUR_PAPER, _noise, "median error, noisier − less noisy (°)",
    reproduced=(Threshold("median error, noisier − less noisy (°)", ">=", 1),),
    partly=(Threshold("median error, noisier − less noisy (°)", ">", 0),),
    margin=1, units=noise_pairs, order=lambda g: _order(g, "rate_noise"),
    unit_name="pair of conditions differing only in noise",
    no_units="needs two conditions that differ only in their noise level",
    definitions="median absolute report error (noisy evaluation trials, each network at its "
                "own training noise) of the noisier minus the less noisy condition, at the "
                "same ordinal setting")


def _ordinal(with_: Numbers, without: Numbers) -> dict[str, float]:
    return {"ordinal accuracy of the reports, ordinal − plain training":
            with_["ordinal_accuracy_reports"] - without["ordinal_accuracy_reports"],
            "median error, ordinal − plain training (°)":
            with_["median_error_deg"] - without["median_error_deg"]}


ORDINAL_EFFECT = _finding(
    "ordinal_effect", "Training with the ordinal output makes the reports keep the order of "
    "the two orientations", _BEHAVIOUR_PAPER, _ordinal,
    "ordinal accuracy of the reports, ordinal − plain training",
    reproduced=(Threshold("ordinal accuracy of the reports, ordinal − plain training", ">=",
                          0.03),),
    partly=(Threshold("ordinal accuracy of the reports, ordinal − plain training", ">", 0),),
    margin=0.03, units=ordinal_pairs, order=lambda g: _order(g, "ordinal"),
    unit_name="pair of conditions differing only in the ordinal output",
    no_units="needs two conditions at the same noise level, with and without the ordinal "
             "output",
    definitions="ordinal accuracy = fraction of trials whose reported difference θ̂2 − θ̂1 has "
                "the sign of θ2 − θ1 (both wrapped to ±90°), with minus without the ordinal "
                "output at the same noise level; our reading of 'reliance on the ordinal "
                "relationship' (no human data here)")

FINDINGS: tuple[Finding, ...] = (CLIFFORD_TORUS, ORTHOGONAL_PLANES, BETTI_TORUS,
                                 RING_CONNECTIVITY, DYNAMIC_CODE, ACCURACY, NOISE_EFFECT,
                                 ORDINAL_EFFECT)
"""The findings, in the order of the report."""


def findings(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The findings table (``analysis/findings.csv``) from the study's tables."""
    return judge_findings(FINDINGS, tables)


def rules() -> str:
    """The rules as the Markdown table of ``docs/orientation.md``."""
    return rules_markdown(FINDINGS, paper=PAPER)

"""The report's section on Lei et al. 2024's four limitations, answered by findings."""

from __future__ import annotations

import pandas as pd

from wmgeom.studies.nback.analyses import all_findings
from wmgeom.studies.nback.limitations import LIMITATIONS, answers_table, limitations_section


def _found(rows):
    return pd.DataFrame(rows, columns=["id", "verdict", "measured", "reason"])


def test_every_limitation_has_a_finding_that_answers_it():
    keys = {f.answers for f in all_findings() if f.answers}
    assert keys == {lim.key for lim in LIMITATIONS}
    # the answers are questions beyond the paper, except the paper's own size claim
    assert all(f.beyond_paper for f in all_findings() if f.answers and f.answers != "scale")


def test_the_section_states_each_answer_or_the_command_that_gives_it(tmp_path):
    found = _found([("novel_identity_loss", "reproduced", "GRU MTMF: lost at encoding", ""),
                    ("chronological_without_demand", "not tested", "", "needs DMS"),
                    ("chronological_beyond_rnns", "not tested", "", "needs a Transformer")])
    dms = tmp_path / "dms" / "analysis"
    dms.mkdir(parents=True)
    _found([("chronological_without_demand", "partly", "GRU MTMF: normalised drop 0.31",
             "")]).to_csv(dms / "findings.csv", index=False)
    section = limitations_section(tmp_path, found, all_findings())
    page = section.html
    for lim in LIMITATIONS:
        assert lim.quote[:40] in page
    # the family folder's tested row answers the tasks question, with a link to its report
    assert "normalised drop 0.31" in page and 'href="dms/report.html"' in page
    assert "lost at encoding" in page
    # an unanswered question says so and gives the command
    assert "needs a Transformer" in page
    assert "wmgeom run --grid --architectures gru,transformer,ssm" in page
    assert "wmgeom run --grid --tasks nback,dms" not in page  # answered in dms/


def test_answers_prefer_a_tested_row(tmp_path):
    found = _found([("x", "not tested", "", "why")])
    (tmp_path / "f" / "analysis").mkdir(parents=True)
    _found([("x", "reproduced", "yes", "")]).to_csv(tmp_path / "f" / "analysis" /
                                                   "findings.csv", index=False)
    rows = answers_table(tmp_path, found).set_index("id")
    assert rows.loc["x", "verdict"] == "reproduced" and rows.loc["x", "where"] == "f"
    assert answers_table(tmp_path / "none", None).empty


def test_models_that_differ_only_in_size_are_different_models():
    from wmgeom.analysis.synthetic import synthetic_memory_activations
    from wmgeom.studies.nback.analysis import Recording, label_sizes, sizes_to_label

    runs = [("a", "gru", "MTMF", 64), ("b", "gru", "MTMF", 128), ("c", "gru", "MTMF", 128),
            ("d", "lstm", "MTMF", 128), ("e", "gru", "STSF", 128)]
    # a size series of GRU MTMF names its sizes; a lone size keeps the plain label
    assert sizes_to_label(runs) == {"a": 64, "b": 128, "c": 128}
    recs = [Recording(synthetic_memory_activations(20, 3, n, seed=n), f"r{n}", "gru", "MTMF",
                      null=Recording(synthetic_memory_activations(20, 3, n), f"r{n}#u", "gru",
                                     "MTMF"))
            for n in (16, 32)]
    labelled = label_sizes(recs)
    assert [r.model for r in labelled] == ["GRU-16 MTMF", "GRU-32 MTMF"]
    assert [r.null.model for r in labelled] == ["GRU-16 MTMF", "GRU-32 MTMF"]
    assert [r.model for r in label_sizes(recs[:1])] == ["GRU MTMF"]


def test_findings_against_size(tmp_path):
    from wmgeom.studies.findings import Outcome, UnitMeasure
    from wmgeom.studies.nback.limitations import size_effects, size_series
    from wmgeom.studies.nback.report import size_section

    models = pd.DataFrame({"model": ["GRU-64 MTMF", "GRU-128 MTMF", "GRU-256 MTMF",
                                     "LSTM MTMF"],
                           "architecture": ["gru", "gru", "gru", "lstm"],
                           "parameters": [3e5, 9e5, 3e6, 1e6]})
    finding = next(f for f in all_findings() if f.id == "no_fixed_slot")
    units = tuple(UnitMeasure(m, m.split()[0], "MTMF", v, 0.3, True, {})
                  for m, v in (("GRU-64 MTMF", 0.5), ("GRU-128 MTMF", 0.7),
                               ("GRU-256 MTMF", 0.9), ("LSTM MTMF", 0.8)))
    judged = [(finding, Outcome("", "reproduced", units=units))]
    series = size_series(judged, models)
    # the lone LSTM size is no series; the GRU's three sizes are
    assert list(series["model"]) == ["GRU-64 MTMF", "GRU-128 MTMF", "GRU-256 MTMF"]
    effects = size_effects(series).iloc[0]
    assert effects["spearman_rho"] == 1.0 and abs(effects["change"] - 0.4) < 1e-12
    section = size_section(judged, models, tmp_path)
    assert (tmp_path / "findings_vs_size.png").is_file()
    assert "no_fixed_slot (GRU: 0.50 → 0.90)" in \
        section.text
    assert size_section(judged, models[models["architecture"] == "lstm"], tmp_path) is None

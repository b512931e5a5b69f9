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

"""The claims catalogue: every row names things that exist, and claims.json follows its rows."""

from __future__ import annotations

from trainlab.claims import rules
from trainlab.claims.catalogue import CLAIMS, measures
from trainlab.claims.experiments import Experiments
from trainlab.claims.results import Verdicts
from trainlab.config.claims import ClaimRules, ClaimsConfig
from trainlab.report.figures import claims as drawers


def test_each_row_names_its_rule_experiment_and_figure():
    assert [claim.number for claim in CLAIMS] == list(range(1, len(CLAIMS) + 1))
    for claim in CLAIMS:
        assert claim.rule in ClaimRules.model_fields and callable(getattr(rules, claim.rule))
        assert claim.measure is None or callable(getattr(Experiments, claim.measure))
        assert claim.figure is None or callable(getattr(drawers, claim.figure))
        assert claim.experiment(ClaimsConfig()).endswith(".")
    assert measures() == ["gradient", "convergence", "dead_units", "preprocessing",
                          "early_stopping"]


def test_the_typed_claims_file_has_one_entry_per_row_in_its_order():
    assert list(Verdicts.model_fields) == [claim.key for claim in CLAIMS], (
        "each row of CLAIMS needs its typed entry in trainlab.claims.results.Verdicts")

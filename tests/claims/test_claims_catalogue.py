"""The claims catalogue: every row names things that exist, and claims.json follows its rows."""

from __future__ import annotations

import inspect

import pytest
import stagefiles  # tests/stagefiles.py

from trainlab.claims import rules
from trainlab.claims.catalogue import CLAIMS, measures
from trainlab.claims.experiments import Experiments
from trainlab.claims.results import ClaimsFile, Details
from trainlab.config.claims import ClaimRules, ClaimsConfig, Thresholds
from trainlab.report.figures import claims as drawers


def test_each_row_names_its_rule_experiment_and_figure():
    assert [claim.number for claim in CLAIMS] == list(range(1, len(CLAIMS) + 1))
    for claim in CLAIMS:
        assert callable(getattr(rules, claim.rule))
        assert claim.measure is None or callable(getattr(Experiments, claim.measure))
        assert claim.figure is None or claim.figure in drawers.FIGURES
        assert claim.describe(ClaimsConfig()).endswith(".")
    assert measures() == ["gradient", "convergence", "dead_units", "preprocessing",
                          "early_stopping"]


def test_each_rows_thresholds_are_its_section_of_claims_rules_and_what_it_assesses_with():
    # claims.rules is built from the thresholds models: one section each, none without a row
    assert list(ClaimRules.model_fields) == [claim.rule for claim in CLAIMS]
    assert [claim.thresholds for claim in CLAIMS] == Thresholds.__subclasses__()
    for claim in CLAIMS:
        hint = inspect.signature(claim.assess, eval_str=True).parameters["thresholds"]
        assert hint.annotation is claim.thresholds, claim.key
        assert isinstance(getattr(ClaimsConfig().rules, claim.rule), claim.thresholds)


def test_each_row_has_its_typed_details_in_claims_json():
    # in the rows' order: claims.json's entries are read back in it (the file's keys are sorted)
    assert [model.key for model in Details.__subclasses__()] == [claim.key for claim in CLAIMS], (
        "each row needs its Details subclass in claims.results, in the rows' order")
    written = stagefiles.claims_file()
    payload = written.model_dump(mode="json")
    payload["claims"] = dict(sorted(payload["claims"].items()))  # as the file holds them
    reread = ClaimsFile.model_validate(payload)
    assert list(written.claims) == list(reread.claims) == [claim.key for claim in CLAIMS]
    for model in Details.__subclasses__():
        assert type(written.claims[model.key].details) is model


@pytest.mark.parametrize(("change", "message"), [
    (lambda claims: claims.pop("transfer"), "no entry for claim transfer"),
    (lambda claims: claims.update(extra=claims["transfer"]), "unknown claim 'extra'"),
])
def test_a_claims_file_of_another_catalogue_is_refused(change, message):
    payload = stagefiles.claims_file().model_dump(mode="json")
    change(payload["claims"])
    with pytest.raises(ValueError, match=message):
        ClaimsFile.model_validate(payload)

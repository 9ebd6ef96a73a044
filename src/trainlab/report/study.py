"""The Optuna study behind the search: its trials, its history and the parameter importances."""

from __future__ import annotations

from dataclasses import dataclass

import optuna
import pandas as pd

from trainlab.report.sources import missing_sqlite

IMPORTANCE_SEED = 0  # fANOVA fits a random forest: a fixed seed gives the same bars every time


@dataclass
class StudyView:
    """What the report shows of a study; `problem` says why it shows nothing."""

    name: str
    storage: str
    trials: pd.DataFrame  # number, state, value, last_intermediate, params_<name>...
    maximize: bool = True
    importances: dict[str, float] | None = None  # for validation accuracy (the objective)
    importance_problem: str | None = None
    gap_importances: dict[str, float] | None = None  # for the train-test gap
    problem: str | None = None


def load_study(storage: str, name: str, numbers: set[int] | None = None) -> StudyView:
    """Read a study without creating anything; importances when at least 2 trials completed.

    `numbers`: the trials of the current configuration (search_trials.csv); a study keeps
    every configuration's trials, and the others must not weigh in the history or the
    importances. None reads every trial.
    """
    empty = pd.DataFrame(columns=["number", "state", "value", "last_intermediate"])
    problem = missing_sqlite(storage)
    if problem:
        return StudyView(name, storage, empty, problem=problem)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return StudyView(name, storage, empty,
                         problem=f"no Optuna study named {name!r} in {storage}")
    except Exception as err:  # an unreachable server or an unreadable file: say so, go on
        return StudyView(name, storage, empty, problem=f"cannot open {storage}: {err}")
    if len(study.directions) != 1:
        return StudyView(name, storage, empty, problem=f"study {name!r} has several objectives")
    if numbers is not None:
        study = _only(study, numbers)
    view = StudyView(name, storage, trials_frame(study),
                     maximize=study.direction == optuna.study.StudyDirection.MAXIMIZE)
    view.importances, view.importance_problem = importances(study)
    view.gap_importances, _ = importances(study, target="gap_acc")
    return view


def _only(study: optuna.Study, numbers: set[int]) -> optuna.Study:
    """An in-memory copy of `study` holding only the trials numbered `numbers`."""
    copy = optuna.create_study(direction=study.direction)
    copy.add_trials([t for t in study.get_trials(deepcopy=False) if t.number in numbers])
    return copy


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    rows = []
    for trial in study.get_trials(deepcopy=False):
        steps = trial.intermediate_values
        rows.append({
            "number": trial.number,
            "state": trial.state.name,
            "value": trial.value if trial.state == optuna.trial.TrialState.COMPLETE else None,
            "last_intermediate": steps[max(steps)] if steps else None,
            **{f"params_{k}": v for k, v in trial.params.items()},
        })
    frame = pd.DataFrame(rows, columns=None if rows else ["number", "state", "value",
                                                          "last_intermediate"])
    return frame.sort_values("number").reset_index(drop=True) if rows else frame


def importances(study: optuna.Study, target: str | None = None
                ) -> tuple[dict[str, float] | None, str | None]:
    """fANOVA importances of the parameters for the objective (validation accuracy), or for
    the trials' user attribute `target` (e.g. `gap_acc`, the train-test gap); (None, why not).
    """
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if target is not None:
        complete = [t for t in complete if isinstance(t.user_attrs.get(target), int | float)]
    if len(complete) < 2:
        return None, (f"parameter importances need at least 2 complete trials; the study has "
                      f"{len(complete)}")
    varying = {k for t in complete for k, v in t.params.items() if v != complete[0].params.get(k)}
    if not varying:
        return None, "parameter importances need parameters that vary between complete trials"
    try:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=IMPORTANCE_SEED)
        found = optuna.importance.get_param_importances(
            study, evaluator=evaluator,
            target=None if target is None else (lambda t: float(t.user_attrs[target])))
    except Exception as err:  # optuna raises for degenerate studies (e.g. one distinct value)
        return None, f"optuna could not compute parameter importances: {err}"
    return {k: float(v) for k, v in found.items()}, None

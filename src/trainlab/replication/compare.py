"""Two runs' verdicts side by side, from their stage files only (no training, no MLflow).

A verdict is reduced to its conclusion before comparing: a claim or condition holds (+), does
not hold (-) or is undecided (inconclusive, pending); a leaderboard row is ahead of (+),
behind (-) or not told apart from the best single recipe (undecided: "not distinguishable"
and "inconclusive (one seed)" alike); a crossover is the largest size up to which the
baseline is ahead; the search's best recipe is its name. Two undecided verdicts agree: the
runs reach the same conclusion (none), whatever words their files use for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from trainlab.claims.results import ClaimsFile
from trainlab.claims.verdict import HOLDS, NOT_HOLDS
from trainlab.config.params import load_config
from trainlab.errors import ConfigError, DataError
from trainlab.leaderboard.results import AHEAD, BEHIND, REFERENCE, LeaderboardFile
from trainlab.replication.results import (
    CHANGED,
    FLIPS,
    GAINED,
    LOST,
    MISSING,
    OPPOSITE,
    BestSets,
    Kind,
    Pair,
    Replication,
    Run,
)
from trainlab.search.results import SearchSummary
from trainlab.stagefile import read_model, rerun

# The stage files compared, where dvc.yaml writes them (relative to a run's project root).
CLAIMS, LEADERBOARD, SEARCH = "reports/claims.json", "reports/leaderboard.json", \
    "reports/search.json"
DECIDED = {HOLDS: "+", NOT_HOLDS: "-", AHEAD: "+", BEHIND: "-"}  # the rest: undecided

Verdicts = dict[tuple[Kind, str], str]


def compare_runs(a_dir: str | Path, b_dir: str | Path) -> Replication:
    """Every verdict of the run in `a_dir` beside the one in `b_dir` (project roots).

    Raises:
        DataError: neither run has any of the compared files (nothing to compare).
    """
    unread: list[str] = []
    found = [_verdicts(Path(d), unread) for d in (a_dir, b_dir)]
    (va, sets_a), (vb, sets_b) = found
    if not va and not vb:
        raise DataError(f"neither {str(a_dir)!r} nor {str(b_dir)!r} has {CLAIMS}, "
                        f"{LEADERBOARD} or {SEARCH}: run the pipeline in both first")
    pairs = [_pair(kind, key, va.get((kind, key)), vb.get((kind, key)))
             for kind, key in dict.fromkeys([*va, *vb])]
    flips = dict.fromkeys(FLIPS, 0)
    for p in pairs:
        if p.flip:
            flips[p.flip] += 1
    return Replication(
        a=Run(path=str(a_dir), seed=_seed(Path(a_dir))),
        b=Run(path=str(b_dir), seed=_seed(Path(b_dir))),
        pairs=tuple(pairs), total=len(pairs), agree=sum(p.agree for p in pairs), flips=flips,
        best_sets=BestSets(a=sets_a or (), b=sets_b or (), jaccard=_jaccard(sets_a, sets_b)),
        unread=tuple(unread),
    )


def _verdicts(root: Path, unread: list[str]) -> tuple[Verdicts, tuple[str, ...] | None]:
    """The run's verdicts by (kind, key), and its best set (None: no search.json)."""
    out: Verdicts = {}
    claims, problem = read_model(root / CLAIMS, ClaimsFile, rerun("claims"))
    if claims is None:
        unread.append(problem or "")
    else:
        out |= dict(_claims(claims))
    board, problem = read_model(root / LEADERBOARD, LeaderboardFile, rerun("leaderboard"))
    if board is None:
        unread.append(problem or "")
    else:
        out |= dict(_board(board))
    search, problem = read_model(root / SEARCH, SearchSummary, rerun("search"))
    best_set = None
    if search is None:
        unread.append(problem or "")
    else:
        if search.best is not None and search.best.cell:
            out[("best recipe", "search")] = search.best_set.best if search.best_set \
                else search.best.cell
        best_set = search.best_set.cells if search.best_set else None
    return out, best_set


def _claims(claims: ClaimsFile) -> Iterator[tuple[tuple[Kind, str], str]]:
    for key, entry in claims.claims.items():
        yield ("claim", key), entry.status
        for name, condition in entry.conditions.items():
            yield ("condition", f"{key} / {name}"), condition.status


def _board(board: LeaderboardFile) -> Iterator[tuple[tuple[Kind, str], str]]:
    for row in board.rows:
        if row.standing != REFERENCE:
            yield ("leaderboard", row.name), row.standing or "unknown"
    for cross in board.crossovers:
        yield ("crossover", cross.model), (f"ahead up to {cross.ahead_up_to} images"
                                           if cross.ahead_up_to else "not ahead at the smallest")


def _pair(kind: Kind, key: str, a: str | None, b: str | None) -> Pair:
    if a is None or b is None:
        return Pair(kind=kind, key=key, a=a, b=b, agree=False, flip=MISSING)
    if kind in ("crossover", "best recipe"):
        return Pair(kind=kind, key=key, a=a, b=b, agree=a == b,
                    flip=None if a == b else CHANGED)
    da, db = DECIDED.get(a), DECIDED.get(b)
    if da == db:
        return Pair(kind=kind, key=key, a=a, b=b, agree=True, flip=None)
    flip = OPPOSITE if da and db else (LOST if da else GAINED)
    return Pair(kind=kind, key=key, a=a, b=b, agree=False, flip=flip)


def _jaccard(a: tuple[str, ...] | None, b: tuple[str, ...] | None) -> float | None:
    if a is None or b is None:
        return None
    union = set(a) | set(b)
    return len(set(a) & set(b)) / len(union) if union else 1.0


def _seed(root: Path) -> int | None:
    """The run's base seed, from its params.yaml (None: none there, or not valid)."""
    try:
        return load_config(root / "params.yaml").seed
    except (ConfigError, OSError):
        return None

"""The lecture's claims, each tested on the user's own data: experiment, numbers, verdict.

`trainlab claims` (:func:`run_claims`) runs the small experiments of claims 1-6, reads the
search, ensemble and transfer stages' outputs for claims 3, 6-9, and judges each claim with
the rule in `claims.rules` (:mod:`trainlab.claims.rules`).
"""

from trainlab.claims.run import Evidence, add_arguments_claims, check_claims, run_claims
from trainlab.claims.statements import CLAIMS, Claim
from trainlab.claims.verdict import HOLDS, INCONCLUSIVE, NOT_HOLDS, PENDING, Verdict, decide

__all__ = [
    "CLAIMS",
    "HOLDS",
    "INCONCLUSIVE",
    "NOT_HOLDS",
    "PENDING",
    "Claim",
    "Evidence",
    "Verdict",
    "add_arguments_claims",
    "check_claims",
    "decide",
    "run_claims",
]

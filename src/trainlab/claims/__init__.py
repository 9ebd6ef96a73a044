"""The lecture's claims, each tested on the user's own data: experiment, numbers, verdict.

- `catalogue`: one row per claim (statement, experiment text, assessment, thresholds, figure):
  what the stage, claims.json and the report loop over; a new claim is a row there
- `loop`: the claims' small trainings (a plain loop over a RecipeModule) and layer probes
- `experiments`: the controlled experiments of claims 1-6, sized by `claims` in params.yaml
- `evidence`: what the search measured (its trial rows), as rule inputs
- `assess`: one function per claim: its experiment rows or another stage's file -> its rule
  -> (verdict, figure data)
- `rules`: one pure function per claim, numbers -> Verdict
- `verdict`: a verdict and the interval rule every verdict is built from
- `results`: reports/claims.json, typed (what the report reads)
- `stage`: `trainlab claims`: `run_claims`, `add_arguments_claims`

Nothing is imported here: `trainlab.claims.rules` loads without torch, MLflow or pandas.
"""

"""The lecture's claims, each tested on the user's own data: experiment, numbers, verdict.

- `statements`: the claims in the lecture's words and the experiment that tests each
- `loop`: the claims' small trainings (a plain loop over a RecipeModule) and layer probes
- `experiments`: the controlled experiments of claims 1-6, sized by `claims` in params.yaml
- `evidence`: what the search measured (its trial rows), as rule inputs
- `assess`: experiment rows and the other stages' files -> each claim's verdict and figure
  data (claims 1-9)
- `rules`: one pure function per claim, numbers -> Verdict
- `verdict`: a verdict and the interval rule every verdict is built from
- `results`: reports/claims.json, typed (what the report reads)
- `stage`: `trainlab claims`: `run_claims`, `add_arguments_claims`

Nothing is imported here: `trainlab.claims.rules` loads without torch, MLflow or pandas.
"""

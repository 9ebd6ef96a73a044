"""params.yaml -> typed, validated, frozen config (pydantic); one clear error per mistake.

- `schema`: what every section is (frozen, unknown keys forbidden), the value types and
  choices the sections share, and the recipe's, the search's and the outputs' sections
- `claims`: the `claims` section (the lecture's claims: experiments and verdict rules)
- `pretrained`: the pretrained networks' sections, `transfer` and the `leaderboard` that
  trains its baselines as transfer cells, and the backbone and mode names
- `params`: the whole params.yaml (:class:`Config`), :data:`RECIPE_KEYS` (what decides a
  training's result), and loading: YAML, `--set` overrides, profiles, the grid's presets
- `stage`: `trainlab config`, the resolved configuration printed as YAML

A map, like every package's `__init__`: import a name from the module that defines it
(`from trainlab.config.params import Config, load_config`).
"""

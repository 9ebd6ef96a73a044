"""`trainlab replicate`: the pipeline under another base seed, and its verdicts beside ours."""

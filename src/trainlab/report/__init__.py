"""The report stage: MLflow runs, stage files and the Optuna study -> HTML, Markdown, DVC files.

`build_report` gathers one experiment and lays out its :class:`Document`; `write_report`
writes index.html, report.md (+ figures/), metrics.json and curves/. `trainlab report` (see
:mod:`trainlab.report.run`) does both.
"""

from trainlab.report.run import (
    build_comparison_report,
    build_report,
    run_report,
    write_comparison,
    write_report,
)

__all__ = ["build_comparison_report", "build_report", "run_report", "write_comparison",
           "write_report"]

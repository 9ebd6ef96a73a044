"""`trainlab report`: render the report of an experiment (or compare two) into a folder.

Outputs under `--out` (report.out, default reports/), each written atomically:
index.html (self-contained), report.md with figures/*.png beside it, metrics.json (DVC
metrics) and curves/*.csv (the learning curves, DVC plots). `--compare A B` writes
compare/index.html and compare/report.md instead, leaving the pipeline's outputs alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from trainlab.config.params import Config
from trainlab.io import slug, write_atomic, write_bytes
from trainlab.report import sources, tables
from trainlab.report.compare import build_comparison
from trainlab.report.document import Document
from trainlab.report.html import render_html
from trainlab.report.inputs import ReportInputs, gather
from trainlab.report.markdown import render_markdown
from trainlab.report.metrics_file import write_metrics
from trainlab.report.summary import metrics_payload
from trainlab.tracking import CONFIG_TAG, SEARCH_KIND

INPUTS = "reports"  # where the upstream stages write their json/csv files


@dataclass
class ReportFiles:
    html: Path
    markdown: Path
    metrics: Path | None = None
    figures: list[Path] = field(default_factory=list)
    curves: list[Path] = field(default_factory=list)


def add_arguments_report(parser) -> None:
    parser.add_argument("--experiment", default=None,
                        help="MLflow experiment to report (default: tracking.experiment)")
    parser.add_argument("--out", default=None, help="output folder (default: report.out)")
    parser.add_argument("--inputs", default=INPUTS,
                        help=f"folder holding search.json, ensemble.json, transfer.csv ... "
                             f"({INPUTS})")
    parser.add_argument("--compare", nargs=2, metavar=("A", "B"), default=None,
                        help="compare two configurations of the search (parent run ids or "
                             "configuration ids, as `trainlab search` prints them) or two MLflow "
                             "experiments side by side (writes OUT/compare/)")


def build_report(cfg: Config, experiment: str | None = None,
                 inputs: str | Path = INPUTS) -> tuple[Document, ReportInputs]:
    """Gather one experiment's results and lay out its report."""
    from trainlab.report.outline import build_document

    found = gather(cfg.tracking.uri, experiment or cfg.tracking.experiment, inputs,
                   cfg.search.storage, cfg.search.study_name, cfg.report.curves)
    return build_document(found, cfg.report.title, cfg.report.dpi), found


def write_report(doc: Document, found: ReportInputs, out: str | Path) -> ReportFiles:
    """Write every output of one experiment's report under `out`."""
    out = Path(out)
    metrics = out / "metrics.json"
    files = ReportFiles(out / "index.html", out / "report.md", metrics)
    files.figures = write_figures(doc, out / "figures")
    files.curves = write_curves(found, out / "curves")
    write_atomic(files.markdown, render_markdown(doc, "figures", out))
    write_metrics(metrics, metrics_payload(found))
    write_atomic(files.html, render_html(doc, out))
    return files


def build_comparison_report(cfg: Config, a: str, b: str) -> Document:
    """Two configurations of the search (a parent run id or configuration id, as the search
    prints them) or two MLflow experiments, side by side, from MLflow only."""
    with tempfile.TemporaryDirectory() as tmp:
        found = [_gather_side(cfg, ref, Path(tmp) / side) for side, ref in (("a", a), ("b", b))]
    return build_comparison(found[0], found[1], cfg.report.title, cfg.report.dpi)


def _gather_side(cfg: Config, ref: str, folder: Path) -> ReportInputs:
    """One side of a comparison: a configuration of the search in `tracking.experiment` when
    `ref` names its parent run (run id or configuration id), else the experiment `ref`.

    A configuration's trials are those its parent run's search_trials.csv lists (the search
    logs its files to it), so another configuration's runs never mix in.
    """
    runs = sources.load_experiment(cfg.tracking.uri, cfg.tracking.experiment)
    parents = sources.runs_of_kind(runs.runs, SEARCH_KIND)
    match = parents[(parents["run_id"] == ref)
                    | (sources.column(parents, f"tags.{CONFIG_TAG}") == ref)]
    if match.empty or runs.client is None:
        return gather(cfg.tracking.uri, ref, None, curves=None)
    parent = match.sort_values("start_time").iloc[-1]
    folder.mkdir(parents=True)
    for name in ("search.json", "search_trials.csv", "search_cells.csv"):
        with contextlib.suppress(Exception):  # an older search logged fewer files
            runs.client.download_artifacts(parent["run_id"], name, str(folder))
    found = gather(cfg.tracking.uri, cfg.tracking.experiment, folder, curves=None)
    config_id = parent.get(f"tags.{CONFIG_TAG}") or parent["run_id"][:12]
    found.experiment = dataclasses.replace(
        found.experiment, name=f"{cfg.tracking.experiment} @ {config_id}")
    return found


def write_comparison(doc: Document, out: str | Path) -> ReportFiles:
    out = Path(out)
    files = ReportFiles(out / "index.html", out / "report.md")
    files.figures = write_figures(doc, out / "figures")
    write_atomic(files.markdown, render_markdown(doc, "figures"))
    write_atomic(files.html, render_html(doc))
    return files


def _replace_folder(folder: Path, contents: dict[str, bytes], pattern: str) -> list[Path]:
    """Write `contents` into `folder`, then drop files of an earlier report (same pattern)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [write_bytes(folder / name, data) for name, data in contents.items()]
    for stale in folder.glob(pattern):
        if stale.name not in contents:
            stale.unlink()
    return written


def write_figures(doc: Document, folder: Path) -> list[Path]:
    return _replace_folder(folder, {f"{f.name}.png": f.png for f in doc.figures}, "*.png")


def write_curves(found: ReportInputs, folder: Path) -> list[Path]:
    """One CSV per drawn run (epoch from 1; accuracies as fractions) for `dvc plots`."""
    contents = {}
    for i, (pick, frame) in enumerate(found.curves, start=1):
        name = f"{i:02d}-{pick.role}-{slug(pick.label)}-seed{slug(str(pick.seed))}.csv"
        contents[name] = frame.to_csv(index=False, lineterminator="\n").encode()
    return _replace_folder(folder, contents, "*.csv")


def _attach(found: ReportInputs, files: ReportFiles) -> None:
    """The report as an artifact of the search's parent run: the MLflow UI shows the HTML
    page beside the runs it reports on (best effort: a report without MLflow is still one)."""
    parent = found.search_parent
    client = found.experiment.client
    if parent is None or client is None:
        return
    with contextlib.suppress(Exception):
        client.log_artifact(parent["run_id"], str(files.html), "report")


def run_report(cfg: Config, args) -> int:
    """`trainlab report`: the report of one experiment, or `--compare A B`."""
    out = Path(args.out or cfg.report.out)
    if args.compare:
        files = write_comparison(build_comparison_report(cfg, *args.compare), out / "compare")
        print(f"report: compared {args.compare[0]!r} with {args.compare[1]!r}: {files.html}, "
              f"{files.markdown} ({len(files.figures)} figures)")
        return 0
    doc, found = build_report(cfg, args.experiment, args.inputs)
    files = write_report(doc, found, out)
    _attach(found, files)
    best, _ = tables.best_and_worst(found.table)
    missing = [s.name if k != "study" else "Optuna study" for k, s in found.stages.items()
               if not s.ran]
    headline = (f"best recipe {best['label']} (test {100 * best['test_acc_mean']:.2f}%)"
                if best is not None else "no finished trial")
    print(f"report: {files.html}, {files.markdown} ({len(files.figures)} figures), "
          f"{files.metrics}; {headline}"
          + (f"; not yet run: {', '.join(missing)}" if missing else ""))
    return 0

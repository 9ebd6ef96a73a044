"""`make bench`: every benchmark at a size that fits ~15 minutes on two CPU cores.

Each benchmark runs in its own process (torch thread settings and determinism flags are
process-wide), writes bench/results/<name>.json, and the table between the markers in
bench/README.md is rewritten from those files.

    python -m bench.run_all [--only NAME ...] [--table-only]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.common import RESULTS, percent_interval

README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- results: written by python -m bench.run_all -->", "<!-- /results -->"
# name -> (module, arguments for `make bench`)
BENCHMARKS: dict[str, tuple[str, list[str]]] = {
    "augmentation": ("bench.augmentation", ["--quick"]),
    "maxout": ("bench.maxout", ["--quick"]),
    "throughput": ("bench.throughput", ["--quick"]),
    "tracking_overhead": ("bench.tracking_overhead", ["--quick"]),
    "search_efficiency": ("bench.search_efficiency", ["--quick"]),
    "imagefolder": ("bench.imagefolder", ["--quick"]),
    "pipeline": ("bench.pipeline", []),
}


def table() -> str:
    """Markdown rows, one per measured figure, from bench/results/*.json."""
    lines = ["| benchmark | figure | result | target | met | command | machine |",
             "|---|---|---|---|---|---|---|"]

    def add(result: dict, figure: str, value: str, target: str, met: bool | str | None) -> None:
        m = result["machine"]
        machine = f"{m['cpu']}, {m['cores']} cores, torch {m['torch']}" + (
            f", {m['gpu']}" if m.get("gpu") else "")
        verdict = met if isinstance(met, str) else (
            "-" if met is None else "yes" if met else "**no**")
        lines.append(f"| {result['benchmark']} | {figure} | {value} | {target} | "
                     f"{verdict} | `{result['command']}` | {machine} |")

    # gpu/throughput.json: bench/gpu_check.sh's result, brought back from a GPU machine.
    for name in ("throughput", "gpu/throughput", "tracking_overhead", "tracking_overhead_long",
                 "augmentation", "maxout",
                 "search_efficiency", "search_efficiency_full", "imagefolder", "pipeline",
                 "pipeline_full"):
        path = RESULTS / f"{name}.json"
        if not path.is_file():
            continue
        r = json.loads(path.read_text())
        if name.endswith("throughput"):
            for row in r["rows"]:
                device = row.get("device", "cpu")
                add(r, f"{row['arch'].upper()} images/s, trainlab / hand loop ({row['epochs']} "
                    f"epochs, {row['threads']} thread{'s' if row['threads'] > 1 else ''}"
                    f"{', ' + device.upper() if device != 'cpu' else ''})",
                    f"{row['trainlab_images_per_s']:.0f} / {row['hand_images_per_s']:.0f}; "
                    f"ratio **{row['ratio']:.3f}** (CPU time {row['ratio_cpu_time']:.3f})",
                    f">= {row['target']}" if row.get("target") else "(reported; the target "
                    "is the CPU's)", row.get("meets_target"))
        elif name.startswith("tracking_overhead"):
            for row in r["rows"]:
                interval, met = "", row["meets_target"]
                if "on_over_off_ci95" in row:  # what the rounds can resolve
                    interval = percent_interval(row["on_over_off_ci95"]) + ", "
                    if row["on_over_off_ci95"][0] <= row["target"] < row["on_over_off_ci95"][1]:
                        met = "undecided (the interval spans the target)"
                add(r, f"{row['arch'].upper()} wall time, MLflow on / off ({row['epochs']} epochs, "
                    f"median of {row['rounds']} rounds)",
                    f"{row['on_s']:.1f} s / {row['off_s']:.1f} s: "
                    f"**{100 * (row['on_over_off'] - 1):+.1f}%** ({interval}CPU time "
                    f"{100 * (row['on_over_off_cpu_time'] - 1):+.1f}%)",
                    f"<= +{100 * (row['target'] - 1):.0f}%", met)
                if "control_over_off" in row:  # the same comparison with nothing to find
                    add(r, f"{row['arch'].upper()} A/A control: the untracked training against "
                        f"itself, same rounds", f"**{100 * (row['control_over_off'] - 1):+.1f}%**"
                        f" ({percent_interval(row['control_over_off_ci95'])})", "(0% expected)",
                        None)
                if "mlflow_requests_s" in row:  # the same cost timed directly, without the noise
                    share = row["mlflow_requests_share"]
                    add(r, f"{row['arch'].upper()} time inside MLflow's requests per tracked "
                        "training (timed in the same runs)",
                        f"{1000 * row['mlflow_requests_s']:.0f} ms = **{100 * share:.1f}%** of "
                        "its wall time", f"<= +{100 * (row['target'] - 1):.0f}%",
                        share <= row["target"] - 1)
        elif name == "augmentation":
            per_s = r["images_per_s"]
            add(r, f"images/s, BatchAugment / torchvision v2 per sample ({r['baseline']})",
                f"{per_s['trainlab']:.0f} / {per_s[r['baseline']]:.0f} = **{r['ratio']:.1f}x**",
                f">= {r['target']:.0f}x", r["meets_target"])
        elif name == "maxout":
            for row in r["rows"]:
                add(r, f"maxout CNN {row['task']}, {row['before']} / {row['variant']} "
                    f"(ms per {row['unit']}, {row['steps']} of them, {row['threads']} thread, "
                    f"median of {row['rounds']} rounds)",
                    f"{row['before_ms_per_step']:.0f} / {row['ms_per_step']:.0f} ms = "
                    f"**{row['speedup']:.2f}x** ({percent_interval(row['speedup_ci95'])}); "
                    f"identical {'weights' if row['task'] == 'training' else 'logits'}: "
                    f"{'yes' if row['identical'] else 'NO'}",
                    f">= {row['target']}x, identical", row["meets_target"])
        elif name == "imagefolder":
            per_s, ratios = r["images_per_s"], r["speedup_over_before"]
            add(r, f"image folder images/s, {r['images']:,} 28x28 PNGs: before / processes "
                f"({r['workers']} cores) / one process / threads",
                f"{per_s['before']:.0f} / {per_s['processes']:.0f} / {per_s['one process']:.0f}"
                f" / {per_s['threads']:.0f}: **{ratios['processes']:.2f}x** before; checks "
                f"before decoding {r['checks_before_decoding_s']:.2f} s, second prepare "
                f"{1000 * r['noop_prepare_s']:.0f} ms", "uses the cores", None)
        elif name.startswith("search_efficiency"):
            pruned, full = r["runs"]
            images = r["overrides"].get("data.train_subset")
            add(r, f"epochs and best val acc, pruner {pruned['pruner']} / none "
                f"({pruned['trials']} trials, "
                f"{f'{images:,} train images' if images else 'default data'})",
                f"{pruned['epochs']} / {full['epochs']} epochs = **{r['epochs_ratio']:.2f}x**; "
                f"val {pruned['best_val_acc']:.4f} / {full['best_val_acc']:.4f} "
                f"({r['best_val_points_below']:+.2f} points); wall {pruned['wall_s']:.0f} / "
                f"{full['wall_s']:.0f} s", "<= 0.5x epochs, <= 0.5 points",
                r["meets_target"])
        else:
            scale = "default params" if name == "pipeline_full" else "reduced params"
            add(r, f"no-op `dvc repro` ({scale})", f"**{r['noop_repro_median_s']:.2f} s**",
                "< 5 s", r["noop_repro_median_s"] < 5)
            if name == "pipeline_full":
                add(r, "whole pipeline, `dvc repro` (default params)",
                    f"**{r['repro_s'] / 60:.1f} min** ({r['stages']} stages)", "<= 30 min",
                    r["repro_s"] <= 30 * 60)
            else:
                add(r, "whole pipeline, `dvc repro` (reduced params)",
                    f"{r['repro_s']:.0f} s ({r['stages']} stages)", "(fits make bench)", True)
    return "\n".join(lines)


def write_table() -> None:
    text = README.read_text()
    start, stop = text.index(BEGIN) + len(BEGIN), text.index(END)
    README.write_text(text[:start] + "\n" + table() + "\n" + text[stop:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), default=None)
    parser.add_argument("--table-only", action="store_true", help="rewrite the README table")
    args = parser.parse_args(argv)
    if args.table_only:
        write_table()
        return 0
    started, failed = time.perf_counter(), []
    for name in args.only or BENCHMARKS:
        module, arguments = BENCHMARKS[name]
        print(f"== {name}: python -m {module} {' '.join(arguments)}", flush=True)
        began = time.perf_counter()
        if subprocess.run([sys.executable, "-m", module, *arguments]).returncode != 0:
            failed.append(name)
        print(f"== {name}: {time.perf_counter() - began:.0f} s", flush=True)
    write_table()
    print(f"all benchmarks: {(time.perf_counter() - started) / 60:.1f} min; results in "
          f"{RESULTS}, table in {README}" + (f"; FAILED: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

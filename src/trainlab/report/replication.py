"""The report's Replication section: every verdict of this run beside the same pipeline's
under another base seed (`trainlab replicate`, reports/replication.json), or how to make it.

The file is optional: a replication trains everything again, so no `dvc repro` runs it; the
report shows it whenever it is there (gathered as `ReportInputs.replication`).
"""

from __future__ import annotations

from trainlab.replication.results import COMMAND, OUT, Replication
from trainlab.report import document as doc
from trainlab.report.inputs import ReportInputs


def replication_section(section: doc.Section, found: ReportInputs, dpi: int) -> doc.Section:
    replication = found.replication
    if replication is None:
        stage = found.stages.get("replication")
        why = f" ({stage.problem})" if stage is not None and stage.problem else ""
        return section.add(doc.Notice(
            f"No replication yet{why}. It reruns the whole pipeline under another base seed in "
            f"replications/seed-N (this project's results are not touched) and writes {OUT}, "
            "every verdict side by side; then rerun the report. Run it with", COMMAND))
    section.add(doc.Cards(_cards(replication)))
    r = replication
    flips = ", ".join(f"{n} {kind}" for kind, n in r.flip_counts().items()) or "none"
    section.add(doc.Paragraph(
        f"The same pipeline under base seed {r.b.seed} (in {r.b.path}) against this run "
        f"(seed {r.a.seed}): {r.agree} of {r.total} verdicts agree. Two undecided verdicts "
        f"agree (neither run concludes); flips: {flips}."))
    rows = [[doc.text_cell(p.kind), doc.text_cell(p.key), doc.text_cell(p.a or doc.DASH),
             doc.text_cell(p.b or doc.DASH),
             doc.Cell("agree" if p.agree else (p.flip or ""), None, "" if p.agree else "bad")]
            for p in sorted(r.pairs, key=lambda p: (p.agree, p.kind, p.key))]
    section.add(doc.Table(
        [doc.Column("kind"), doc.Column("verdict"), doc.Column(f"seed {r.a.seed}"),
         doc.Column(f"seed {r.b.seed}"), doc.Column("agreement", hint="or how it flipped")],
        rows, caption="Every verdict of the two runs, the flips first."))
    sets = r.best_sets
    section.add(doc.KeyValues([
        (f"best set, seed {r.a.seed}", ", ".join(sets.a) or doc.DASH),
        (f"best set, seed {r.b.seed}", ", ".join(sets.b) or doc.DASH),
    ]))
    section.add(*(doc.Paragraph(f"Not compared: {why}") for why in r.unread))
    return section


def _cards(r: Replication) -> list[doc.Card]:
    share = doc.pct(r.agreement, 0) if r.agreement is not None else doc.DASH
    jaccard = f"{r.best_sets.jaccard:.2f}" if r.best_sets.jaccard is not None else doc.DASH
    return [
        doc.Card("Verdicts that agree", share, f"{r.agree} of {r.total}"),
        doc.Card("Flips", str(r.total - r.agree),
                 "decided the opposite way: " + str(r.flips.get("opposite", 0))),
        doc.Card("Best sets' Jaccard", jaccard, "cells not distinguishable from the best"),
    ]

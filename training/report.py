"""What a training run leaves beside the weights: metrics.json, the model card and two plots."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# The plots use Latin names: the stock matplotlib fonts have no CJK glyphs, and fonts are not
# something a fresh machine can be assumed to have.
ENGLISH = {
    "城乡建设": "urban & rural construction",
    "环境保护": "environment",
    "交通运输": "transport",
    "教育文体": "education, culture & sport",
    "劳动和社会保障": "labour & social security",
    "商贸旅游": "commerce & tourism",
    "卫生计生": "health & family planning",
}


def plot_name(label: str, i: int) -> str:
    return ENGLISH.get(label, f"label {i}")


def write_plots(folder: Path, metrics: Mapping[str, Any], labels: Sequence[str]) -> list[str]:
    try:
        import matplotlib
    except ModuleNotFoundError as exc:
        # The service image leaves plotting out (extra `reports`).
        raise ModuleNotFoundError(
            "training reports need matplotlib: pip install 'hotline-triage[reports]'"
        ) from exc

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [plot_name(label, i) for i, label in enumerate(labels)]
    cm = metrics["cv"]["confusion"]
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    top = max(max(row) for row in cm) or 1
    for i, row in enumerate(cm):
        for j, v in enumerate(row):
            ax.text(
                j,
                i,
                str(v),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if v > top / 2 else "black",
            )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"Confusion matrix, {evaluation_name(metrics, short=True)}")
    fig.tight_layout()
    fig.savefig(folder / "confusion.png", dpi=110)
    plt.close(fig)

    rel = metrics["cv"]["calibration"]
    fig, ax = plt.subplots(figsize=(5.5, 5.0))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect")
    ax.plot(
        [b["confidence"] for b in rel["bins"]],
        [b["accuracy"] for b in rel["bins"]],
        "o-",
        label=f"model (ECE {rel['ece']:.3f})",
    )
    for b in rel["bins"]:
        ax.annotate(
            str(b["n"]),
            (b["confidence"], b["accuracy"]),
            fontsize=7,
            textcoords="offset points",
            xytext=(4, -10),
        )
    ax.set_xlabel("confidence of the top label")
    ax.set_ylabel("share correct")
    ax.set_title("Reliability (cross-validated)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(folder / "reliability.png", dpi=110)
    plt.close(fig)
    return ["confusion.png", "reliability.png"]


def evaluation_name(metrics: Mapping[str, Any], *, short: bool = False) -> str:
    """How the out-of-sample scores were obtained, in words."""
    ev = metrics.get("evaluation") or {"method": "cross-validation"}
    if ev["method"] == "validation":
        if short:
            return f"validation split ({ev['n']} examples)"
        return (
            f"validation split: {ev['n']} examples ({ev['share']:.0%} of each label), "
            f"model trained once on the other {ev['trained_on']}"
        )
    folds = ev.get("folds", metrics["config"]["folds"])
    return f"{folds}-fold cross-validation" + ("" if short else " on all examples")


def write_metrics(folder: Path, metrics: Mapping[str, Any]) -> None:
    (folder / "metrics.json").write_text(
        json.dumps(metrics, ensure_ascii=False, indent=2) + "\n", "utf-8"
    )


def model_card(manifest: Mapping[str, Any], metrics: Mapping[str, Any]) -> str:
    labels: list[str] = manifest["labels"]
    cv, hold = metrics["cv"], metrics.get("holdout")
    cov = metrics["coverage"]
    lines = [
        f"# Model card: {manifest['version']}",
        "",
        "Routes a 12345 hotline ticket to the topic label that decides the responsible department.",
        "",
        "## Data",
        f"- files: {', '.join(metrics['data']['files'])}",
        f"- examples: {metrics['data']['n']}; data hash (sha256 of the masked text and labels): "
        f"`{metrics['data']['sha256'][:16]}`",
        "- text was normalised and personal data masked before training (triage.core.text.prepare)",
        "",
        "| label | examples |",
        "|---|---|",
        *[f"| {label} | {metrics['data']['label_counts'][label]} |" for label in labels],
        "",
        "## Method",
        f"- features: {metrics['config']['features']} n-grams "
        f"(chars {metrics['config']['char_n_min']}-{metrics['config']['char_n_max']}), "
        f"title repeated {metrics['config']['title_repeat']}x, sublinear TF-IDF, "
        f"{metrics['config']['k_best']} weighted n-grams chosen by chi-squared out of "
        f"{metrics['vocabulary']}",
        f"- linear model: LinearSVC (C={metrics['config']['svm_c']}) and ridge "
        f"(alpha={metrics['config']['ridge_alpha']}) averaged, balanced class weights",
        "- probabilities: temperature scaling fitted on out-of-sample scores",
        f"- seed {metrics['config']['seed']}; "
        "every hyperparameter is in `metrics.json` under `config`",
        "",
        f"## Scores ({evaluation_name(metrics)})",
        f"- macro-F1 **{cv['macro_f1']}**, accuracy {cv['accuracy']}, "
        f"expected calibration error {cv['calibration']['ece']}",
    ]
    if "repeated" in cv:
        r = cv["repeated"]
        lines.append(
            f"- the same cross-validation with {len(r['seeds'])} fold seeds: macro-F1 "
            f"{r['mean']} +/- {r['sd']} (min {r['min']}, max {r['max']})"
        )
    if hold:
        lines.append(
            f"- stratified hold-out ({hold['n']} examples, model trained on the rest): "
            f"macro-F1 {hold['macro_f1']}, accuracy {hold['accuracy']}"
        )
    if metrics.get("comparison"):
        lines += [
            "",
            "Feature sets compared by cross-validation (macro-F1):",
            "",
            "| features | macro-F1 | accuracy |",
            "|---|---|---|",
        ]
        lines += [
            f"| {k} | {v['macro_f1']} | {v['accuracy']} |" for k, v in metrics["comparison"].items()
        ]
    lines += [
        "",
        "| label | precision | recall | F1 | support | threshold | auto-routed share |",
        "|---|---|---|---|---|---|---|",
    ]
    for label in labels:
        p = cv["per_class"][label]
        lines.append(
            f"| {label} | {p['precision']} | {p['recall']} | {p['f1']} | {p['support']} | "
            f"{manifest['thresholds'][label]} | {cov['per_class'][label]} |"
        )
    lines += [
        "",
        "## Thresholds and coverage",
        f"Per label, the lowest confidence at which cross-validated precision reaches "
        f"{metrics['config']['target_precision']} (1.0: never routed without review). With them "
        f"**{cov['coverage']:.1%}** of tickets would be routed without a person, at precision "
        f"{cov['auto_precision']}.",
        "",
        "![confusion matrix](confusion.png) ![reliability](reliability.png)",
        "",
        "## Provenance",
        *[f"- {k}: {v}" for k, v in manifest["libraries"].items()],
        f"- created: {manifest['created_at']}",
        "",
        "## Limits",
        "- trained on message-board text; hotline tickets written by agents are shorter, so expect",
        "  lower confidence on them and more review; retrain on outcomes as they accumulate",
        "- labels are topics, not departments: the department registry maps them",
        "",
    ]
    return "\n".join(lines)

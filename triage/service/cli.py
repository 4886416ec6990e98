"""The `triage` command line: one subcommand per job, each implemented in its own module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand -> module providing add_arguments(parser) and run(args) -> int. Imported lazily so
# `triage stack status` does not pay for scikit-learn and `triage train` never loads aiokafka.
COMMANDS: dict[str, tuple[str, str]] = {
    "stack": (
        "triage.adapters.stack",
        "start, stop or inspect the local Kafka and MongoDB servers",
    ),
    "serve": ("triage.service.serve", "run the service: Kafka consumer and HTTP API"),
    "replay": ("streams.replay", "publish tickets from a JSONL file to the input topic"),
    "train": ("training.cli", "train a model artifact from labelled files"),
    "evaluate": ("training.evaluate_cli", "score a model on a labelled file"),
    "hotspots": ("triage.service.hotspots_cli", "find and rank hot spots in a file of tickets"),
    "outcomes": ("triage.service.outcomes_cli", "export settled tickets as training examples"),
    "models": (
        "triage.service.models_cli",
        "compare a candidate with the active model, promote it through the gate; store a model "
        "in MongoDB for every replica (push)",
    ),
    "stats": ("triage.service.stats_cli", "recompute the daily statistics counters"),
}


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="triage", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:
            importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(args_list).parse_args(args_list)
    module = importlib.import_module(COMMANDS[args.command][0])
    code: int = module.run(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())

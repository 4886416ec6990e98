"""`triage replay FILE.jsonl [--rate N]`: publish each line of a file, as raw bytes.

Lines are not parsed beyond finding a key, so malformed lines reach the topic unchanged and
take the dead-letter path like any bad input from a real producer.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from aiokafka import AIOKafkaProducer

from streams.codec import loads_ticket_id
from triage.core.errors import SettingsError
from triage.core.settings import Settings

__all__ = ["add_arguments", "read_lines", "replay", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE.jsonl")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="messages per second (default: as fast as possible)"
    )


def read_lines(path: Path) -> list[bytes]:
    """Non-empty lines, in binary: a GBK or UTF-16 line must reach Kafka byte for byte."""
    return [line.rstrip(b"\r\n") for line in path.read_bytes().split(b"\n") if line.strip()]


async def replay(lines: list[bytes], *, bootstrap: str, topic: str, rate: float = 0.0) -> int:
    """Publish ``lines`` to ``topic``; returns how many the broker acknowledged."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        started = time.monotonic()
        futures = []
        for index, line in enumerate(lines):
            ticket_id = loads_ticket_id(line)
            key = ticket_id.encode() if ticket_id is not None else None
            futures.append(await producer.send(topic, line, key=key))
            if rate > 0:
                delay = started + (index + 1) / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
        await asyncio.gather(*futures)
        return len(futures)
    finally:
        await producer.stop()


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        sys.stderr.write(f"triage replay: {exc}\n")
        return 2
    total = 0
    for path in args.files:
        try:
            lines = read_lines(path)
        except OSError as exc:
            sys.stderr.write(f"triage replay: cannot read {path}: {exc}\n")
            return 1
        total += asyncio.run(
            replay(
                lines,
                bootstrap=settings.kafka_bootstrap,
                topic=settings.topics.tickets,
                rate=args.rate,
            )
        )
        sys.stdout.write(f"{path}: {len(lines)} messages -> {settings.topics.tickets}\n")
    sys.stdout.write(f"published {total} messages\n")
    return 0

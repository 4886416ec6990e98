"""A blocking readiness probe: does a MongoDB-protocol server answer ``ping``?

Used while a local server starts (``triage stack``), outside any event loop; it lives here
because the store is the one package that speaks to MongoDB.
"""

from __future__ import annotations

import pymongo
from pymongo.errors import PyMongoError

__all__ = ["mongo_answers"]


def mongo_answers(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    """Whether a MongoDB-protocol server on ``host:port`` answers ``ping``."""
    ms = int(timeout * 1000)
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        host,
        port,
        directConnection=True,
        serverSelectionTimeoutMS=ms,
        connectTimeoutMS=ms,
        socketTimeoutMS=ms,
    )
    try:
        reply = client.admin.command("ping")
    except PyMongoError:
        return False
    finally:
        client.close()
    return bool(reply.get("ok"))

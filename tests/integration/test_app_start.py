"""What the service has done by the time it starts to serve and consume."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from pymongo import AsyncMongoClient

from tests.fakes import analyzer
from tests.integration.api import api_settings
from tests.servers import KafkaServer, MongoServer
from triage.service.app import create_app

pytestmark = pytest.mark.integration


async def test_indexes_exist_before_the_service_serves(
    kafka_server: KafkaServer, mongo_server: MongoServer
) -> None:
    """Indexes (and so their collections) are made before anything can write: SecantusDB
    livelocks when an index build creates a collection that an insert is creating too."""
    settings = api_settings(kafka_server, mongo_server)
    server = TestServer(create_app(settings, consumer=False, events=False, analyzer=analyzer()))
    await server.start_server()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_server.uri)
    try:
        db = client[settings.db]
        names = set(await db.list_collection_names())
        assert {"tickets", "events", "refused_events", "daily_counters", "hotspots"} <= names
        keys = [ix["key"] async for ix in await db["tickets"].list_indexes()]
        assert {"department": 1, "status": 1, "_id": 1} in keys
    finally:
        await client.close()
        await server.close()

"""The local servers behind `triage stack` and the integration fixtures."""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from tests.servers import KafkaServer, MongoServer
from triage.adapters import stack
from triage.core.errors import StackError

pytestmark = pytest.mark.integration

Doc = dict[str, object]


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def _consume(bootstrap: str, topic: str, group: str, count: int) -> list[tuple[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        got: list[tuple[bytes, bytes]] = []
        while len(got) < count:
            msg = await asyncio.wait_for(consumer.getone(), timeout=30)
            assert msg.key is not None and msg.value is not None
            got.append((msg.key, msg.value))
        await consumer.commit()
        return got
    finally:
        await consumer.stop()


async def _produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def test_broker_round_trips_a_message(kafka_server: KafkaServer) -> None:
    """The broker takes a message from an aiokafka producer and hands it to a consumer."""
    topic = _name("stack-roundtrip")
    body = "佛山市禅城区路灯不亮".encode()
    await _produce(kafka_server.bootstrap, topic, [(b"T-1", body)])
    assert await _consume(kafka_server.bootstrap, topic, _name("g"), 1) == [(b"T-1", body)]


async def test_broker_restart_keeps_messages_and_offsets(kafka_server: KafkaServer) -> None:
    """After a restart the broker still has the topic, and the group resumes where it committed."""
    topic, group = _name("stack-restart"), _name("g")
    await _produce(kafka_server.bootstrap, topic, [(b"a", b"1"), (b"b", b"2")])
    assert len(await _consume(kafka_server.bootstrap, topic, group, 2)) == 2
    old_pid = kafka_server.proc.pid
    await kafka_server.arestart()
    assert kafka_server.proc.pid != old_pid
    await _produce(kafka_server.bootstrap, topic, [(b"c", b"3")])
    assert await _consume(kafka_server.bootstrap, topic, group, 1) == [(b"c", b"3")]


async def test_secantus_upserts_and_aggregates(mongo_server: MongoServer) -> None:
    """SecantusDB keeps one document per key under repeated upserts and groups them."""
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_server.uri)
    try:
        tickets = client[_name("db")]["tickets"]
        await tickets.create_index("ticket_id", unique=True)
        for _ in range(2):  # a replayed batch must not create second copies
            for i in range(6):
                await tickets.update_one(
                    {"ticket_id": f"T{i}"},
                    {"$set": {"dept": "D" + str(i % 2)}, "$setOnInsert": {"n": i}},
                    upsert=True,
                )
        assert await tickets.count_documents({}) == 6
        cursor = await tickets.aggregate(
            [
                {"$match": {"n": {"$gte": 0}}},
                {"$group": {"_id": "$dept", "count": {"$sum": 1}, "top": {"$max": "$n"}}},
                {"$sort": {"_id": 1}},
            ]
        )
        rows = await cursor.to_list()
        assert rows == [{"_id": "D0", "count": 3, "top": 4}, {"_id": "D1", "count": 3, "top": 5}]
    finally:
        await client.close()


async def test_secantus_restart_keeps_data(mongo_server: MongoServer) -> None:
    """Documents and indexes written before a SecantusDB restart are there after it."""
    db_name = _name("db")
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_server.uri)
    try:
        events = client[db_name]["events"]
        await events.create_index("event_id", unique=True)
        await events.insert_many([{"event_id": f"E{i}"} for i in range(3)])
    finally:
        await client.close()
    await mongo_server.arestart()
    client = AsyncMongoClient(mongo_server.uri)
    try:
        events = client[db_name]["events"]
        assert await events.count_documents({}) == 3
        indexes = await (await events.list_indexes()).to_list()
        assert any(ix.get("unique") and ix["key"] == {"event_id": 1} for ix in indexes)
    finally:
        await client.close()


@pytest.mark.parametrize("server", ["kafka", "mongo"])
def test_start_on_busy_port_names_the_port(server: str, tmp_path: Path) -> None:
    """Starting a server on a port that something already listens on fails naming that port."""
    with socket.socket() as holder:
        holder.bind((stack.HOST, 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(StackError, match=rf"\b{port}\b"):
            if server == "kafka":
                stack.start_kafka(tmp_path, port, stack.free_port(exclude=frozenset({port})))
            else:
                stack.start_mongo(tmp_path, port)
    assert not (tmp_path / "server.pid").exists()

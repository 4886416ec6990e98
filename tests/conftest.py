"""Shared fixtures: the real servers, started once per session on free ports."""

from tests.servers import kafka_server, mongo_server, server_run  # noqa: F401

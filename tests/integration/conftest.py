"""Fixtures of the API tests: the app in process on a free port, and the OpenAPI checker;
of the trainers' loop: a base model trained once per session, and a loop on its own prefix;
of the streaming tests: a scenario (prefix, database, group) whose services are stopped."""

from tests.integration.api import api, spec_checker  # noqa: F401
from tests.integration.loop import base_models, loop  # noqa: F401
from tests.integration.service import scenario  # noqa: F401

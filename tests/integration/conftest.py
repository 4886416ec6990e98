"""Fixtures of the API tests: the app in process on a free port, and the OpenAPI checker;
of the trainers' loop: a base model trained once per session."""

from tests.integration.api import api, spec_checker  # noqa: F401
from tests.integration.loop import base_models, loop  # noqa: F401

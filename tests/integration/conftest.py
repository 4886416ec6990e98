"""Fixtures of the API tests: the app in process on a free port, and the OpenAPI checker."""

from tests.integration.api import api, spec_checker  # noqa: F401

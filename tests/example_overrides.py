"""The example project's settings, with TRUSTED_AUTH keys a test sets through the environment
(``TESTS_TRUSTED_AUTH`` holds them as JSON), for the multi-process tests of tests/deployment.py."""

import json
import os

from example_project.settings import *  # noqa: F403
from example_project.settings import TRUSTED_AUTH

TRUSTED_AUTH = {**TRUSTED_AUTH, **json.loads(os.environ.get("TESTS_TRUSTED_AUTH", "{}"))}

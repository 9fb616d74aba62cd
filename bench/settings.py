"""The example project's settings plus the benchmark's hand-written baseline view (bench/urls.py).

Same middleware, database, cache and Gunicorn settings as the product under test: the baseline
differs only in its view.
"""

from example_project.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

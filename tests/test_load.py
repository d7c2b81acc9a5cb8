"""A short load test (the long one is `make load`, which also requires the server's memory to
stay flat over its minute and the cheap queries' p99 within 250 ms): concurrent clients mixing
library queries and POST /code get only 200 answers while one more client sends heavy queries."""

import io

import pytest
from load import run


@pytest.mark.xdist_group("load")
def test_ten_clients_for_six_seconds_without_an_error():
    out = io.StringIO()
    report = run(clients=10, seconds=6, workers=2, stream=out, heavy=1)
    assert report["errors"] == 0, out.getvalue()
    assert report["queries"] > 10 and report["codes"] > 5, out.getvalue()

"""`wmi serve --port P` (what `make serve PORT=P` runs) without WMI_BASE_URL: links, QR codes
and the did:web issuer follow the address served (issue 14, newcomer set-up)."""

import os

import httpx
import pytest

from tests.e2e.conftest import _free_port, start_server, stop_server

pytestmark = pytest.mark.e2e


def test_serve_on_another_port_derives_its_base_url(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "WMI_BASE_URL"}
    env.update({"WMI_VAR_DIR": str(tmp_path), "WMI_DATABASE_URL": f"sqlite:///{tmp_path}/p.db"})
    proc = start_server(tmp_path, port, env)
    base = f"http://127.0.0.1:{port}"
    try:
        did = httpx.get(base + "/.well-known/did.json", timeout=10).json()
        assert did["id"] == f"did:web:127.0.0.1%3A{port}", did["id"]
        assert f"links use {base}" in (tmp_path / "server.log").read_text()
    finally:
        stop_server(proc, tmp_path)

"""`make lab` serves JupyterLab from the checkout with marimo behind it: the
launcher's extension is loaded, the marimo proxy starts this venv's marimo with the
repo's settings, workspace notebooks open through it, and reports are served."""

import json
import re
import socket
import subprocess
from pathlib import Path

import marimo
import pytest
from lab_server import REPO, lab_command, lab_env, make_lab, stand_in_reports, stop_group

pytestmark = pytest.mark.slow

NOTEBOOKS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "notebooks").glob("[0-9]*.py"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory, models_dir):
    folder = tmp_path_factory.mktemp("lab")
    with make_lab(folder, {"EXCEPTIONS_MODELS": str(models_dir)}) as server:
        yield server


def test_prints_the_url_that_answers(lab):
    assert lab.printed == f"JupyterLab: {lab.url}/lab?token={lab.token}"


def test_lab_page_loads_the_marimo_extension(lab):
    status, _, body = lab.get("/lab")
    assert status == 200
    assert "<title>JupyterLab</title>" in body
    # JupyterLab's page config lists the prebuilt extensions its frontend loads.
    config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', body, re.S).group(1))
    names = {ext["name"] for ext in config["federated_extensions"]}
    assert "@marimo-team/jupyter-extension" in names
    assert config["marimoVersion"] == marimo.__version__  # the venv's marimo, not another


def test_marimo_proxy_is_registered_with_the_repo_settings(lab):
    status, _, body = lab.get("/server-proxy/servers-info")
    assert status == 200
    servers = {s["name"]: s for s in json.loads(body)["server_processes"]}
    assert servers["marimo"]["launcher_entry"]["path_info"] == "marimo/"
    # lab/jupyter_server_config.py took effect: no uv sandbox (it would need the network).
    status, _, body = lab.get("/marimo-tools/config")
    assert (status, json.loads(body)["sandbox"]) == (200, None)


def test_marimo_answers_through_the_proxy(lab):
    status, _, body = lab.get("/marimo/health")
    assert status == 200 and json.loads(body)["status"] == "healthy"
    status, _, body = lab.get("/marimo/")
    assert status == 200
    assert f'<marimo-version data-version="{marimo.__version__}"' in body


def test_workspace_notebooks_open_through_the_proxy(lab):
    status, _, page = lab.get("/marimo/?file=" + NOTEBOOKS[0])
    assert status == 200
    assert f"<marimo-filename hidden>{NOTEBOOKS[0]}</marimo-filename>" in page
    assert lab.get("/marimo/?file=notebooks/no_such_notebook.py")[0] == 404
    # marimo's workspace is the checkout: its file list (the launcher's "Open marimo
    # Editor" page) holds every notebook.
    server_token = re.search(r'<marimo-server-token data-token="([^"]+)"', page).group(1)
    status, _, body = lab.get("/marimo/api/home/workspace_files", data=b'{"includeMarkdown": false}',
                              headers={"Content-Type": "application/json",
                                       "Marimo-Server-Token": server_token})
    assert status == 200
    listed = json.loads(body)
    assert Path(listed["root"]).resolve() == REPO

    def marimo_files(nodes):
        for node in nodes:
            yield from marimo_files(node["children"])
            if node["isMarimoFile"]:
                yield node["path"]

    assert set(NOTEBOOKS) <= set(marimo_files(listed["files"]))


def test_reports_are_served_from_the_file_browser_and_the_reports_tile(lab):
    page = "<!doctype html><title>t</title><h1>Static report</h1>"
    with stand_in_reports({"report.html": page}) as folder:
        # JupyterLab's file browser lists it and "Open in New Browser Tab" fetches /files/.
        status, _, body = lab.get(f"/api/contents/{folder}")
        assert "report.html" in {item["name"] for item in json.loads(body)["content"]}
        status, headers, body = lab.get(f"/files/{folder}/report.html")
        assert (status, body) == (200, page)
        assert headers["Content-Type"].startswith("text/html")
        # The Reports tile's server (lab/serve_reports.py) serves reports/ behind the proxy.
        status, headers, body = lab.get(f"/reports/{folder.removeprefix('reports/')}/report.html")
        assert (status, body) == (200, page)
        assert headers["Content-Type"].startswith("text/html")
    status, _, body = lab.get("/server-proxy/servers-info")
    tile = {s["name"]: s for s in json.loads(body)["server_processes"]}["reports"]
    assert tile["launcher_entry"]["enabled"] and tile["launcher_entry"]["title"] == "Reports"
    assert lab.get("/server-proxy/icon/reports")[0] == 200


def test_a_busy_port_stops_make_lab_with_a_message(tmp_path):
    # The printed URL must be the served one: Jupyter may not move to another port.
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.Popen(lab_command(port, "t"), cwd=REPO, env=lab_env(tmp_path), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            output = proc.communicate(timeout=120)[0]
        finally:
            stop_group(proc)
    assert proc.returncode != 0
    assert f"The port {port} is already in use" in output

# JupyterLab settings for `make lab` (passed with --config, so nothing is written
# to ~/.jupyter and a user's own jupyter_server_config.py does not change what the
# workspace's tests see). JupyterHub admins: docs/jupyterhub.md.
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (traitlets defines it when it runs this file)

# marimo-jupyter-extension starts `marimo edit` behind jupyter-server-proxy at
# <base_url>/marimo/. By default it looks `marimo` up on PATH (not this venv's when
# make calls .venv/bin/jupyter directly) and adds --sandbox, which builds a uv
# environment per notebook from the network. The workspace's notebooks need this
# venv instead: its marimo, and the `helpers` package installed in it.
venv_bin = Path(sys.executable).parent
c.MarimoProxyConfig.marimo_path = str(venv_bin / "marimo")
c.MarimoProxyConfig.sandbox = None
# marimo asks PyPI for a newer version at start; the room may have no network.
c.MarimoProxyConfig.skip_update_check = True

# A "Reports" launcher tile: the reports/ folder of the checkout this file is in
# (where `make report` writes, also when a Hub loads this file with load_subconfig),
# served by lab/serve_reports.py behind jupyter-server-proxy, so the links of
# reports/index.html work (Jupyter's /files/ refuses them: see serve_reports.py).
here = Path(__file__).resolve().parent
reports = here.parent / "reports"
c.ServerProxy.servers = {
    "reports": {
        "command": [sys.executable, str(here / "serve_reports.py"), "{port}", str(reports)],
        "timeout": 30,
        "new_browser_tab": True,
        # In the Notebook section: JupyterLab's launcher draws an entry's own image
        # only there and in Console.
        "launcher_entry": {"title": "Reports", "category": "Notebook",
                           "icon_path": str(here / "reports.svg")},
    }
}

# JupyterLab's own calls out: the news feed and the update check (both fetch
# from jupyter.org), and the extension manager's PyPI search.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"

# The URL `make lab` prints must be the one that answers: fail on a busy port
# instead of moving to the next free one.
c.ServerApp.port_retries = 0

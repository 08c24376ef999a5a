"""Serve the workspace's reports/ to JupyterLab's "Reports" launcher tile.

Usage: python lab/serve_reports.py PORT DIRECTORY  (jupyter-server-proxy runs it).

Why not Jupyter's own /files/: it refuses a link followed from one report to
another (a GET with neither its _xsrf argument nor a Referer, and pages it serves
are sandboxed, so browsers send none), which breaks reports/index.html's links.
Behind jupyter-server-proxy the pages need the same Jupyter login, and the
proxied server is on 127.0.0.1 only.
"""

from __future__ import annotations

import functools
import http.server
import sys
from pathlib import Path

MISSING = "No reports yet in {}: run `make report` in the workspace, then reload this page."


class ReportsHandler(http.server.SimpleHTTPRequestHandler):
    def send_error(self, code, message=None, explain=None):
        # A missing reports/ folder is the usual case before the first `make report`.
        if code == 404 and not Path(self.directory).is_dir():
            explain = MISSING.format(self.directory)
        super().send_error(code, message, explain)


def main(argv: list[str]) -> None:
    if len(argv) != 2 or not argv[0].isdigit():
        raise SystemExit("usage: serve_reports.py PORT DIRECTORY")
    handler = functools.partial(ReportsHandler, directory=argv[1])
    with http.server.ThreadingHTTPServer(("127.0.0.1", int(argv[0])), handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])

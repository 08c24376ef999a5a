"""lab/serve_reports.py, the Reports tile's server: files from the folder it is
given, and before the first `make report` a page saying what to run."""

import contextlib
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from browser import free_port
from lab_server import REPO


@contextlib.contextmanager
def serving(folder):
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(REPO / "lab/serve_reports.py"), str(port), str(folder)],
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except urllib.error.HTTPError:
                break  # answering, with an error page
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serves_the_folder(tmp_path):
    (tmp_path / "index.html").write_text("<h1>front</h1>", encoding="utf-8")
    with serving(tmp_path) as url:
        assert urllib.request.urlopen(url + "/index.html").read() == b"<h1>front</h1>"
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(url + "/nope.html")
        assert missing.value.code == 404 and b"make report" not in missing.value.read()


def test_no_reports_yet_says_what_to_run(tmp_path):
    with serving(tmp_path / "reports") as url:
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(url + "/")
        assert missing.value.code == 404
        assert f"No reports yet in {tmp_path / 'reports'}: run `make report`" in missing.value.read().decode()


def test_bad_arguments_are_one_line(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "lab/serve_reports.py"), "x"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and done.stderr.strip() == "usage: serve_reports.py PORT DIRECTORY"

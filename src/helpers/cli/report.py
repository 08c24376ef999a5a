"""`python -m helpers report ...`: reports that open anywhere, from marimo's exports.

    python -m helpers report page reports/interactive/01_baseline.html -o reports/01_baseline.html \
        --interactive interactive/01_baseline.html --index index.html
    python -m helpers report index reports/0*.html -o reports/index.html

`page` renders an export's outputs as static HTML (no script, nothing fetched: it opens
from a double-click with the network off); `index` writes the front page from rendered
pages. `make report` runs both. Registered in cli/main.py; a bad path is one line.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from helpers.errors import UserError


def add_parser(commands) -> None:
    report = commands.add_parser("report", help="static reports from marimo exports, and their front page")
    sub = report.add_subparsers(dest="report_command", metavar="page|index", required=True,
                                parser_class=type(report))
    page = sub.add_parser("page", help="render a `marimo export html` file as a static page that opens offline")
    page.add_argument("export", metavar="EXPORT.html", type=Path, help="the marimo export to render")
    page.add_argument("-o", "--out", metavar="OUT.html", type=Path, required=True, help="the page to write")
    page.add_argument("--code", action="store_true",
                      help="show each cell's code (the export must include it: no --no-include-code)")
    page.add_argument("--interactive", metavar="HREF",
                      help="link to the interactive copy (the export), relative to OUT.html")
    page.add_argument("--index", metavar="HREF", help="link to the front page, relative to OUT.html")
    index = sub.add_parser("index", help="write the front page: one row per rendered report")
    index.add_argument("reports", metavar="REPORT.html", type=Path, nargs="+", help="pages `report page` wrote")
    index.add_argument("-o", "--out", metavar="INDEX.html", type=Path, required=True, help="the front page to write")


def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.report_command == "page":
        from helpers.reports import exported, page

        if args.export.resolve() == args.out.resolve():
            raise UserError(f"-o {args.out}: that is the export itself; write the page to another file")
        html = page.render(exported.read(args.export), code=args.code,
                           links=page.Links(interactive=args.interactive, index=args.index))
    else:
        from helpers.reports import index

        if any(p.resolve() == args.out.resolve() for p in args.reports):
            raise UserError(f"-o {args.out} is also one of the reports; write the front page to another file")
        html = index.render(args.reports, args.out)
    _write(args.out, html)
    print(f"wrote {args.out} ({len(html.encode()) / 1e6:.2f} MB, {time.perf_counter() - started:.1f} s)",
          file=sys.stderr)
    return 0


def _write(out: Path, html: str) -> None:
    """Whole or not at all: a page cut short by an error would look like a report."""
    if out.is_dir():
        raise UserError(f"-o {out} is a folder; name the HTML file to write")
    if not out.parent.is_dir():
        raise UserError(f"-o {out}: folder {out.parent} does not exist; create it first")
    partial = out.with_name(f".{out.name}.partial{os.getpid()}")
    try:
        partial.write_text(html, encoding="utf-8")
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UserError(f"-o {out}: cannot write it ({exc.strerror or exc})") from None

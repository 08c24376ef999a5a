"""`python -m helpers archive ...`: the cached answers of a run as a dataset to hand on.

    python -m helpers archive export --model openai/gpt-4o-mini --mode sample --samples 20 --out answers-4o-mini
    python -m helpers archive show answers-4o-mini
    python -m helpers archive import answers-4o-mini

`export` takes the options of `python -m helpers run` and archives the answers that
run reads, with no call and no API key; `import` checks an archive and adds its
answers to this workspace's cache, so that the same run then makes no calls. The
format and what its checks promise: helpers.llm.archive. Registered in cli/main.py;
every bad argument or archive is a one-line `error: ...` (exit 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from helpers.cli.option import add_options
from helpers.cli.params import ARCHIVE_EXPORT
from helpers.errors import UserError


def add_parser(commands) -> None:
    """Add `archive` and its subcommands to the CLI's subparsers."""
    archive = commands.add_parser("archive", help="export a run's cached answers as a dataset, or import one")
    sub = archive.add_subparsers(dest="archive_command", required=True, parser_class=type(archive))
    add_options(sub.add_parser("export", help="write every cached answer of a run's selection (the options "
                                              "of `run`) to a new folder; makes no calls"), ARCHIVE_EXPORT)
    for name, text in (("import", "check an archive, then add its answers to this cache (never overwriting)"),
                       ("show", "what an archive holds, and whether it passes the checks")):
        sub.add_parser(name, help=text).add_argument("folder", metavar="DIR", type=Path,
                                                     help="the folder `archive export` wrote")


def _rerun(manifest: dict[str, Any], folder: Path) -> str | None:
    from helpers.exceptions import archive

    if manifest.get("study") != archive.STUDY or not isinstance(manifest.get("selection"), dict):
        return None
    return archive.rerun_command(manifest["selection"], folder)


def cmd_export(args: argparse.Namespace) -> int:
    from helpers.cli.run import setup
    from helpers.exceptions import archive
    from helpers.llm.archive import MANIFEST, sha256

    chosen, config, _ = setup(args, warn=False)
    done = archive.export(config, chosen, args.out, scenario_ids=list(args.scenario_ids),
                          scenarios_file=args.scenarios)
    manifest = done.manifest
    distinct = f" ({manifest['answers']} distinct)" if manifest["answers"] != done.cached else ""
    print(f"{done.cached} of {done.planned} answers of this selection are cached; the archive holds those "
          f"{done.cached}{distinct}")
    if done.cached < done.planned:
        print(f"note: {done.planned - done.cached} answers are not in the cache (never made, failed, or a chain "
              "stopped before them); a run of the selection makes them")
    print(f"wrote {args.out}: " + ", ".join(f"{m} ({n} answers)" for m, n in manifest["models"].items()))
    print(f"archive fingerprint (SHA-256 of its {MANIFEST}): {sha256(args.out / MANIFEST)}")
    return 0


def _summary(manifest: dict[str, Any], folder: Path) -> list[str]:
    from helpers.llm.archive import MANIFEST, sha256

    workspace = manifest.get("workspace") if isinstance(manifest.get("workspace"), dict) else {}
    dates = manifest.get("answers_created") if isinstance(manifest.get("answers_created"), dict) else {}
    lines = [f"archive {folder} (format {manifest['format_version']}, study {manifest.get('study')})",
             f"exported {manifest.get('created')} by {workspace.get('package')} {workspace.get('version')} "
             f"(commit {workspace.get('git_commit') or 'unknown'})",
             f"answers: {manifest['answers']} of the {manifest.get('planned')} the selection needs, "
             f"made {dates.get('first')} to {dates.get('last')}"]
    lines += [f"  {model}: {count}" for model, count in manifest["models"].items()]
    lines += [f"file {name}: {entry['bytes']:,} bytes, sha256 {entry['sha256']}"
              for name, entry in sorted(manifest["files"].items())]
    lines.append(f"fingerprint (SHA-256 of {MANIFEST}): {sha256(folder / MANIFEST)}")
    if rerun := _rerun(manifest, folder):
        lines.append(f"after import, this reads them with no calls: {rerun}")
    return lines


def cmd_show(args: argparse.Namespace) -> int:
    from helpers.llm import archive_check

    folder = args.folder.expanduser().absolute()
    manifest = archive_check.read_manifest(folder)
    print("\n".join(_summary(manifest, folder)))
    try:
        archive = archive_check.verify(folder)
    except UserError as exc:
        print(f"checks: FAILED: {exc}")
        return 1
    print(f"checks: passed ({len(archive.rows)} answers; every file matches its size and SHA-256, every key "
          "its identity and request, every answer column its stored answer; labels are not checked)")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from helpers import paths
    from helpers.llm import archive_check, open_cache
    from helpers.llm.archive import import_into

    archive = archive_check.verify(args.folder)  # every check before the first write
    with open_cache() as cache:
        done = import_into(archive, cache)
    print(f"checked {archive.folder}: {len(archive.rows)} answers, {len(archive.manifest['files'])} files")
    print(f"imported into {paths.calls_cache_dir()}: {done.added} added, {done.present} already present, "
          f"{len(done.differing)} differing")
    if done.differing:
        print(f"note: {len(done.differing)} keys already hold another answer here, which was kept (an import "
              f"never overwrites): {', '.join(done.differing[:3])}{' ...' if len(done.differing) > 3 else ''}")
    if done.meta_differing:
        print(f"note: this cache's own records of {', '.join(done.meta_differing)} differ from the archive's and "
              "were kept; while such a server is down, runs read the answers of what it served here last")
    if rerun := _rerun(archive.manifest, archive.folder):
        print(f"runs of the selection now read them with no calls: {rerun}")
    if done.unstored:
        print(f"error: {done.unstored} answers could not be stored ({done.unstored_reason}); free the disk or "
              "check the cache's permissions, then import again", file=sys.stderr)
        return 1
    return 0


def main(args: argparse.Namespace) -> int:
    """Run an `archive` subcommand (called from helpers.cli.main)."""
    return {"export": cmd_export, "import": cmd_import, "show": cmd_show}[args.archive_command](args)

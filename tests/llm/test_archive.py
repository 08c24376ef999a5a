"""A replication archive carries cached answers unchanged into another cache, and
refuses (with one line, writing nothing) a damaged, partial or edited one: a flipped
byte, a missing file, a manifest of another format, an edited request even with the
checksums recomputed, a key twice, a column that disagrees with its answer."""

import json
import pickle

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers.errors import UserError
from helpers.llm import CachedModel, CallCache
from helpers.llm.archive import ANSWERS, MANIFEST, META, Entry, import_into, sha256, write
from helpers.llm.archive_check import verify

MESSAGES = [{"role": "user", "content": "Flour costs $10.01 – buy it? ✓"}]
ANSWERS_GIVEN = [
    {"prompt_tokens": 17.0, "completion_tokens": 3.0, "text": "Yes.", "seconds": 0.25, "cost_usd": 1.5e-05,
     "created": 1_790_000_000.123456, "finish_reason": "stop", "reasoning_tokens": 0,
     "response_model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_1"},
    {"prompt_tokens": 17.0, "completion_tokens": 2.0, "text": "No – never.", "cost_usd": None, "created": 1_790_000_100,
     "batch_id": "batch_1", "extra": {"nested": [1, 2.5, "x"]}},
    {"prompt_tokens": 17, "completion_tokens": 0, "p_yes": 0.25, "p_no": 0.7, "created": 1_790_000_200.5},
]


@pytest.fixture
def entries(tmp_path):
    """Three answers of openai/gpt-4o-mini (OpenAI's own endpoint: no server to ask) in the test's cache."""
    with CallCache(tmp_path / "source") as cache:  # not the test's cache, which imports go to
        model = CachedModel.named("openai/gpt-4o-mini", cache)
        units = model.units("generate", MESSAGES, range(2), temperature=1.0, max_tokens=8)
        units += model.units("yes_no", MESSAGES, [0])
        for unit, answer in zip(units, ANSWERS_GIVEN):
            cache.add(unit.key, answer)
        return [Entry(u, a, {"note": f"n{i}"}) for i, (u, a) in enumerate(zip(units, ANSWERS_GIVEN))]


def export(folder, entries, tmp_path):
    source = tmp_path / "inputs.toml"
    source.write_text("x = 1\n")
    return write(folder, entries, labels={"note": "string"}, meta={"meta:served:u|m": {"current": "abc"}},
                 inputs={"inputs.toml": source}, about={"study": "test"}, readme=lambda m: f"{m['answers']}\n")


@pytest.fixture
def archive(tmp_path, entries):
    folder = tmp_path / "archive"
    export(folder, entries, tmp_path)
    return folder


def test_import_restores_every_answer_exactly(archive, tmp_path):
    with CallCache(tmp_path / "other") as other:
        done = import_into(verify(archive), other)
        assert (done.added, done.present, done.differing, done.meta_added) == (3, 0, [], 1)
        rows = pq.read_table(archive / ANSWERS).to_pylist()
        for row, given in zip(rows, ANSWERS_GIVEN):
            # The same dict, types and key order included: pickled, it is the same bytes.
            assert pickle.dumps(other.get(row["key"])) == pickle.dumps(given)
        assert other.get("meta:served:u|m") == {"current": "abc"}


def test_columns_show_the_answer_and_are_null_where_it_has_no_such_field(archive, entries):
    rows = pq.read_table(archive / ANSWERS).to_pylist()
    assert [r["key"] for r in rows] == [e.unit.key for e in entries]
    assert [r["note"] for r in rows] == ["n0", "n1", "n2"]
    first, second, third = rows
    assert first["text"] == "Yes." and first["response_model"] == "gpt-4o-mini-2024-07-18"
    assert first["created"].timestamp() == pytest.approx(1_790_000_000.123456, abs=1e-6)
    assert second["cost_usd"] is None and second["finish_reason"] is None and second["batch_id"] == "batch_1"
    assert third["kind"] == "yes_no" and third["text"] is None and third["p_no"] == 0.7
    assert json.loads(first["request"]) == entries[0].unit.body
    assert json.loads(first["identity"]) == {"provider": "openai", "endpoint": "https://api.openai.com/v1",
                                             "model": "gpt-4o-mini"}


def test_the_manifest_counts_dates_and_checksums_every_file(archive):
    manifest = json.loads((archive / MANIFEST).read_text())
    assert manifest["answers"] == 3 and manifest["models"] == {"openai/gpt-4o-mini": 3}
    assert manifest["answers_created"] == {"first": "2026-09-21T14:13:20Z", "last": "2026-09-21T14:16:40Z"}
    assert sorted(manifest["files"]) == ["README.md", "answers.parquet", "inputs.toml", "meta.json"]
    for name, entry in manifest["files"].items():
        assert entry == {"sha256": sha256(archive / name), "bytes": (archive / name).stat().st_size}
    assert (archive / "README.md").read_text() == "3\n"


def test_a_second_import_adds_nothing(archive, tmp_path):
    with CallCache(tmp_path / "other") as other:
        import_into(verify(archive), other)
        done = import_into(verify(archive), other)
    assert (done.added, done.present, done.differing) == (0, 3, [])


def test_an_answer_already_in_the_cache_is_kept_and_reported(archive, tmp_path, entries):
    with CallCache(tmp_path / "other") as other:
        other.add(entries[0].unit.key, {"text": "mine"})
        other.put_meta("meta:served:u|m", {"current": "mine"})
        done = import_into(verify(archive), other)
        assert (done.added, done.present, done.differing) == (2, 0, [entries[0].unit.key])
        assert done.meta_differing == ["meta:served:u|m"]
        assert other.get(entries[0].unit.key) == {"text": "mine"}
        assert other.get("meta:served:u|m") == {"current": "mine"}


def test_twin_entries_become_one_row(tmp_path, entries):
    twin = Entry(entries[0].unit, entries[0].answer, {"note": "twin"})
    manifest = export(tmp_path / "twins", [entries[0], entries[1], twin, entries[2]], tmp_path)
    rows = verify(tmp_path / "twins").rows
    assert manifest["answers"] == 3 and [r["note"] for r in rows] == ["n0", "n1", "n2"], "the first kept, in order"


def test_an_answer_json_cannot_carry_unchanged_is_refused(tmp_path, entries):
    entries[0].answer = {**entries[0].answer, "pair": (1, 2)}  # JSON would bring it back as a list
    with pytest.raises(UserError, match="holds a value JSON cannot carry unchanged"):
        export(tmp_path / "a", entries, tmp_path)
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize("make, message", [
    (lambda p: p.mkdir() or (p / "notes.txt").write_text("mine"), "exists and is not empty"),
    (lambda p: p.write_text("a file"), "is a file, not a folder"),
    (lambda p: p.parent.joinpath("blocker").write_text("x"), "cannot write the archive to"),
], ids=["not empty", "a file", "unwritable"])
def test_export_refuses_a_place_it_would_overwrite_or_cannot_write(tmp_path, entries, make, message):
    target = tmp_path / "out"
    make(target)
    if message.startswith("cannot"):
        target = tmp_path / "blocker" / "out"  # a folder inside a file
    with pytest.raises(UserError, match=message):
        export(target, entries, tmp_path)
    assert not list(tmp_path.glob(".*partial*"))


def test_an_empty_folder_is_a_fine_place_to_export_to(tmp_path, entries):
    (tmp_path / "empty").mkdir()
    export(tmp_path / "empty", entries, tmp_path)
    assert verify(tmp_path / "empty").manifest["answers"] == 3


# -- what a tamperer would do: change files, then recompute the checksums ---------------

def recompute_checksums(folder):
    manifest = json.loads((folder / MANIFEST).read_text())
    for name in manifest["files"]:
        manifest["files"][name] = {"sha256": sha256(folder / name), "bytes": (folder / name).stat().st_size}
    (folder / MANIFEST).write_text(json.dumps(manifest))


def edit_rows(edit):
    def tamper(folder):
        table = pq.read_table(folder / ANSWERS)
        rows = table.to_pylist()
        edit(rows)
        pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), folder / ANSWERS)
        recompute_checksums(folder)
    return tamper


def edit_manifest(edit):
    def tamper(folder):
        manifest = json.loads((folder / MANIFEST).read_text())
        edit(manifest)
        (folder / MANIFEST).write_text(json.dumps(manifest))
    return tamper


def flip_a_byte(folder):
    data = bytearray((folder / ANSWERS).read_bytes())
    data[len(data) // 2] ^= 0x01
    (folder / ANSWERS).write_bytes(bytes(data))


def _request(row, change):
    body = json.loads(row["request"])
    change(body)
    row["request"] = json.dumps(body)


def _both(row, field, value):
    """Change a field in its column and in the stored answer alike."""
    answer = json.loads(row["answer"])
    answer[field] = value
    row[field], row["answer"] = value, json.dumps(answer)


TAMPERED = [
    (flip_a_byte, "answers.parquet does not match its SHA-256 in manifest.json"),
    (lambda f: (f / ANSWERS).write_bytes((f / ANSWERS).read_bytes()[:-10]), "bytes where the manifest says"),
    (lambda f: (f / META).unlink(), "meta.json is missing (the manifest lists it), so the copy is partial"),
    (lambda f: (f / MANIFEST).write_text('{"format": '), "manifest.json is not valid JSON"),
    (edit_manifest(lambda m: m.update(format_version=2)), "format version 2, and this workspace reads version 1"),
    (edit_manifest(lambda m: m.update(format="something else")), "is not an answer archive's manifest"),
    (edit_manifest(lambda m: m["files"].pop(ANSWERS)), "does not list answers.parquet"),
    (edit_manifest(lambda m: m["files"].update({"../outside": {"sha256": "0", "bytes": 0}})),
     "are not plain file names"),
    (edit_manifest(lambda m: m.update(answers=4)), "holds 3 answers"),
    # Edited with care (checksums recomputed): caught by the key, which hashes the request.
    (edit_rows(lambda rows: _request(rows[0], lambda b: b["messages"][0].update(content="Flour costs $99."))),
     "its key is not the hash of its model identity, kind, request and sample, so one of them was changed"),
    (edit_rows(lambda rows: _request(rows[1], lambda b: b.update(temperature=0.0))),
     "its key is not the hash of its model identity, kind, request and sample"),
    (edit_rows(lambda rows: rows[0].update(identity=rows[0]["identity"].replace("gpt-4o-mini", "gpt-4o"))),
     "its key is not the hash"),
    (edit_rows(lambda rows: rows[0].update(sample=5)), "its key is not the hash"),
    (edit_rows(lambda rows: rows[0].update(seed=rows[0]["seed"] + 1)), "is not the one its key gives"),
    (edit_rows(lambda rows: rows.append(dict(rows[0]))), "row 4 (key"),
    (edit_rows(lambda rows: rows[2].update(key=rows[0]["key"])), "the key of row 1 again"),
    (edit_rows(lambda rows: rows[0].update(text="No.")), "column `text` ('No.') disagrees with the stored answer"),
    (edit_rows(lambda rows: rows[2].update(p_yes=0.9)), "column `p_yes`"),
    (edit_rows(lambda rows: rows[0].update(answer="[1, 2]")), "`answer` is not a JSON object"),
]


@pytest.mark.parametrize("tamper, message", TAMPERED, ids=[
    "one byte", "cut short", "missing file", "manifest not JSON", "format version", "not our format",
    "answers not listed", "path outside", "count", "edited message", "edited temperature", "edited identity",
    "edited sample", "edited seed", "duplicate row", "duplicate key", "edited text column", "edited p_yes column",
    "answer not an object"])
def test_a_tampered_archive_is_refused_in_one_line_and_nothing_is_imported(archive, tamper, message,
                                                                           run_cli, tmp_path):
    tamper(archive)
    code, out, err = run_cli("archive", "import", str(archive))
    assert code == 2 and out == ""
    assert err.startswith(f"error: archive {archive}: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "cache" / "calls").exists(), "every check runs before the cache is opened"


def test_a_consistent_edit_of_an_answer_with_new_checksums_is_not_detected(archive, tmp_path):
    """What the checks do not promise: without a signature, an answer edited together
    with its columns, the checksums recomputed, is a valid archive. The manifest's
    SHA-256, published elsewhere, is what would show the change."""
    before = sha256(archive / MANIFEST)
    edit_rows(lambda rows: _both(rows[0], "text", "No."))(archive)
    assert verify(archive).rows[0]["answer"]["text"] == "No."
    assert sha256(archive / MANIFEST) != before


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "is not a folder"),
    (lambda p: p.mkdir(), "is not an answer archive (it has no manifest.json)"),
    (lambda p: p.mkdir() or (p / MANIFEST).write_text("[]"), "is not an answer archive's manifest"),
], ids=["missing", "empty folder", "another JSON"])
def test_a_folder_that_is_not_an_archive_is_refused(tmp_path, run_cli, make, message):
    make(tmp_path / "x")
    for command in ("import", "show"):
        code, out, err = run_cli("archive", command, str(tmp_path / "x"))
        assert (code, out) == (2, "") and message in err and err.count("\n") == 1

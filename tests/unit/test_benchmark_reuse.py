"""When a benchmark may reuse an index built by an earlier commit (benchmarks/_header.py): only
when the code that makes the documents is the same, whatever else changed (on a repository of
the test's own, so a shallow clone of this one tests the same)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from _header import document_code, same_documents  # noqa: E402


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _commit(root: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "c")
    return _git(root, "rev-parse", "--short", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q")
    return tmp_path


def test_a_change_to_the_query_or_elsewhere_keeps_the_documents(repo: Path) -> None:
    built = _commit(repo, {"mappings/document.py": "a", "mappings/query_builder.py": "q"})
    _commit(repo, {"mappings/query_builder.py": "q2", "searchapi/search.py": "s"})
    _commit(repo, {"indexer/building.py": "b", "README.md": "r"})
    assert document_code(built, root=repo) is not None
    assert same_documents(built, root=repo)


@pytest.mark.parametrize(
    "path", ["mappings/document.py", "indexer/source.py", "indexer/actions.py"]
)
def test_a_change_to_the_document_code_does_not(repo: Path, path: str) -> None:
    built = _commit(repo, {"mappings/document.py": "a"})
    _commit(repo, {path: "changed"})
    assert not same_documents(built, root=repo)


def test_nor_an_uncommitted_change_to_it(repo: Path) -> None:
    built = _commit(repo, {"mappings/document.py": "a"})
    (repo / "mappings" / "fields.py").write_text("new")
    assert not same_documents(built, root=repo)
    (repo / "mappings" / "fields.py").unlink()
    (repo / "mappings" / "query_builder.py").write_text("being edited")
    assert same_documents(built, root=repo)


def test_nothing_is_reused_without_a_commit_that_built_it(repo: Path) -> None:
    _commit(repo, {"mappings/document.py": "a"})
    assert not same_documents(None, root=repo)
    assert not same_documents("unknown", root=repo)
    assert not same_documents("abc1234-dirty", root=repo)
    assert document_code("no-such-commit", root=repo) is None

"""`make bench`: a table of figures, targets only where set, exit 0 unless a figure is far off."""

from __future__ import annotations

import types

import pytest

import bench.__main__ as bench_main
from bench import plan, structure
from bench._figure import Figure


def _fake(monkeypatch, figures: list[Figure]) -> None:
    module = types.SimpleNamespace(figures=lambda: figures)
    monkeypatch.setattr(bench_main.importlib, "import_module", lambda name: module)


def test_a_loaded_machine_over_target_still_exits_0_and_prints_a_table(monkeypatch, capsys) -> None:
    # What `make bench` saw on a loaded machine: plan 1.9 s against 1.5 s.
    _fake(monkeypatch, [Figure("cold plan infra-dev (median)", 1.9, target=1.5), Figure("boot", 2.4)])
    assert bench_main.main(["plan"]) == 0
    out = capsys.readouterr().out
    assert "figure" in out and "verdict" in out
    assert "cold plan infra-dev (median)  1.9 s" in out and "over target" in out
    boot_row = next(line for line in out.splitlines() if line.startswith("boot "))
    assert boot_row.split()[1:5] == ["2.4", "s", "-", "-"]  # no target, no verdict


def test_a_figure_far_off_its_target_fails(monkeypatch, capsys) -> None:
    _fake(monkeypatch, [Figure("cutover", 130.0, target=60.0)])
    assert bench_main.main(["cutover"]) == 1
    assert "FAR OFF" in capsys.readouterr().out


def test_a_figure_that_could_not_be_measured_is_reported_not_fatal(monkeypatch, capsys) -> None:
    _fake(monkeypatch, [Figure("e2e tier", None, target=60.0, detail="the tier failed")])
    assert bench_main.main(["e2e"]) == 0
    assert "not measured" in capsys.readouterr().out


def test_plan_targets_only_where_the_readme_sets_them() -> None:
    assert plan.STACKS == {
        "infra-dev": 1.5,
        "boot-user-api-dev": None,
        "user-api-dev-gray": 1.5,
        "pipelines-dev": None,
    }


@pytest.mark.parametrize(("value", "verdict"), [(1.0, "ok"), (1.5, "ok"), (2.9, "over target"), (3.0, "FAR OFF")])
def test_verdicts(value: float, verdict: str) -> None:
    assert Figure("x", value, target=1.5).verdict == verdict


# --- bench/structure.py: the closing note's figures -------------------------------

SOURCE = """def short():
    return 1


class Big:
    def method(self):
        x = "VpcId"
        y = 'VpcId'
        return x + y + "VpcIdX"
"""


def test_structure_counts_functions_lines_and_key_literals() -> None:
    assert structure.count_lines(SOURCE) == 9
    assert sorted(structure.functions_of("m.py", SOURCE)) == [(2, "m.py:short"), (4, "m.py:method")]
    assert structure.key_literals("VpcId", SOURCE) == 2  # "VpcIdX" is another string


def test_structure_counts_only_pairs_with_both_places_in_product_code() -> None:
    report = "\n".join(
        [
            "4 pairs of places (9 files read), each sharing runs of 6 or more identical or same-shape lines",
            "D1 components/params.py:361-370 ~ components/params.py:716-725 shape (+11 more runs)",
            "D2 tests/test_iam.py:172-180 ~ tests/test_iam.py:377-385 shape",
            "D3 policy/adapter.py:117-122 ~ automation/runner.py:78-83 shape boilerplate",
            "D4 harness/fake.py:1-9 ~ components/naming.py:5-13",
        ]
    )
    assert structure.product_pairs(report) == 2


def test_structure_says_when_duplicates_is_missing(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(structure.shutil, "which", lambda name: None)
    assert structure.run_duplicates(tmp_path) == structure.Duplicates(
        None, "the duplicates command is missing (not on PATH): pairs not measured"
    )


def test_structure_refuses_a_folder_that_is_not_a_checkout(tmp_path, capsys) -> None:
    assert structure.main([str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path} is not a git checkout; name the root of one (e.g. a git worktree)\n"
    )

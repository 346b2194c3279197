"""`rote verify` only reads: on missing or partial results it evaluates the claims whose panels are on
disk, reports the others "not measured" with the `rote sweep` command that makes their results, exits
non-zero, and never sweeps. On the toy study (tests/engine/toy_study.py), registered here with a scale
of panels and a single-grid scale."""

from __future__ import annotations

import dataclasses
import shlex

import numpy as np
import pytest
from engine.support import snapshot
from engine.toy_study import STUDY, TOY

from rote.sims import cli, engine, studies
from rote.sims.study import Claim, Evidence, MissingPanel, Scale

PANELS = {"slow": (dataclasses.replace(TOY, lr=0.05), {"seed": (0, 1)}), "fast": (dataclasses.replace(TOY, lr=0.2), {"seed": (0, 1)})}
SCALES = {
    "panels": lambda: Scale("panels", TOY, {}, "two panels, two seeds each", panels=PANELS),
    "grid": lambda: Scale("grid", TOY, {"seed": (0, 1)}, "one grid of two seeds"),
}


def panel(evidence, name):
    """As the studies' claims read a panel (mha_capacity, lm_canaries)."""
    if not isinstance(evidence, dict) or name not in evidence:
        raise KeyError(f"no '{name}' panel in the results")
    return evidence[name]


def falls(ds) -> tuple[str, bool]:
    first, last = float(ds["loss"].isel(step=0).mean()), float(ds["final_loss"].mean())
    return f"loss {first:.3g} -> {last:.3g}", last < first


def toy_claims(scale):
    theory = Claim("theory", "1 = 1", "exact", lambda ev: ("1 = 1", True))
    if scale.name == "grid":
        return [theory, Claim("loss falls", "final < initial", "strict", lambda ev: falls(ev))]
    return [
        theory,
        Claim("slow loss falls", "final < initial", "strict", lambda ev: falls(panel(ev, "slow"))),
        Claim("fast loss falls", "final < initial", "strict", lambda ev: falls(ev["fast"])),
        Claim("fast beats slow", "fast final < slow final", "strict",
              lambda ev: ("compared", float(ev["fast"]["final_loss"].mean()) < float(panel(ev, "slow")["final_loss"].mean()))),
    ]


@pytest.fixture
def toy(monkeypatch):
    """The registry hands out study 'toy' with the scales and claims above."""
    study = dataclasses.replace(STUDY, scales=SCALES, claims=toy_claims)
    real_get = studies.get
    monkeypatch.setattr(studies, "get", lambda name: study if name == "toy" else real_get(name))
    return study


@pytest.fixture
def no_sweep(monkeypatch):
    """Any sweep started while verifying fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("verify started a sweep")

    monkeypatch.setattr(engine, "sweep", refuse)


def verify(capsys, *argv):
    rc = cli.main(["verify", "toy", "--no-progress", *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return rc, captured.out, captured.err


def row(out: str, claim: str) -> str:
    """The first table line of a claim (its result is the last word)."""
    return next(line for line in out.splitlines() if line.startswith(claim + "  "))


def commands(out: str) -> dict[str, str]:
    """{claim or 'all of them': command} from the lines below the table."""
    found = {}
    for line in out.splitlines():
        if "  rote sweep " in line and line.startswith("  "):
            name, _, command = line.strip().partition("  rote sweep ")
            found[name.strip()] = "rote sweep " + command
    return found


def run_printed(command: str) -> None:
    words = shlex.split(command)
    assert words[:2] == ["rote", "sweep"], command
    assert cli.main([*words[1:], "--no-progress"]) == 0


def test_empty_directory_reports_not_measured_with_the_sweep_command_and_creates_nothing(toy, no_sweep, tmp_path, capsys):
    out_dir = tmp_path / "none"
    rc, out, err = verify(capsys, "--scale", "panels", "--results", str(out_dir))
    assert rc == cli.EXIT_NOT_MEASURED != 0
    assert row(out, "theory").endswith("PASS")  # a claim that needs no results is still checked
    for claim in ("slow loss falls", "fast loss falls", "fast beats slow"):
        assert row(out, claim).endswith("NOT MEASURED"), row(out, claim)
    assert "1 passed, 0 failed, 3 not measured" in out
    cmds = commands(out)
    assert cmds["slow loss falls"] == f"rote sweep toy --scale panels --panel slow --out {out_dir}"
    assert cmds["fast loss falls"] == f"rote sweep toy --scale panels --panel fast --out {out_dir}"
    assert cmds["fast beats slow"] == cmds["fast loss falls"]  # a claim stops at the first panel it cannot read
    assert cmds["all of them"] == f"rote sweep toy --scale panels --out {out_dir}"  # every panel: no --panel
    assert "no results for any panel" in err and "never sweeps" in err
    assert not out_dir.exists()


def test_partial_results_are_checked_and_the_rest_not_measured_then_the_printed_command_completes_them(toy, tmp_path, capsys):
    out_dir = tmp_path / "partial"
    assert cli.main(["sweep", "toy", "--scale", "panels", "--panel", "slow", "--out", str(out_dir), "--no-progress"]) == 0
    capsys.readouterr()
    before = snapshot(out_dir)
    rc, out, err = verify(capsys, "--scale", "panels", "--results", str(out_dir))
    assert rc == cli.EXIT_NOT_MEASURED
    assert row(out, "slow loss falls").endswith("PASS")
    assert row(out, "fast loss falls").endswith("NOT MEASURED") and row(out, "fast beats slow").endswith("NOT MEASURED")
    assert "not measured: no results for panel fast" in row(out, "fast loss falls")
    assert "2 passed, 0 failed, 2 not measured" in out
    assert "no results for panel fast in" in err
    cmds = commands(out)
    assert set(cmds) == {"fast loss falls", "fast beats slow"}  # one command for both: no 'all of them' line
    assert cmds["fast beats slow"] == f"rote sweep toy --scale panels --panel fast --out {out_dir}"
    assert snapshot(out_dir) == before  # verify wrote nothing

    run_printed(cmds["fast beats slow"])
    capsys.readouterr()
    rc, out, _ = verify(capsys, "--scale", "panels", "--results", str(out_dir))
    assert rc == 0, out
    assert "4 passed, 0 failed" in out and "not measured" not in out


def test_single_grid_without_results_then_its_command(toy, tmp_path, capsys, monkeypatch):
    """The default results directory: the command has no --out (and no --panel: the scale is one grid)."""
    monkeypatch.setenv("ROTE_RESULTS", str(tmp_path / "root"))
    with monkeypatch.context() as m:
        m.setattr(engine, "sweep", lambda *a, **k: pytest.fail("verify started a sweep"))
        rc, out, err = verify(capsys, "--scale", "grid")
    assert rc == cli.EXIT_NOT_MEASURED
    assert row(out, "loss falls").endswith("NOT MEASURED") and "not measured: no results" in row(out, "loss falls")
    assert commands(out) == {"loss falls": "rote sweep toy --scale grid"}
    assert not (tmp_path / "root").exists()

    run_printed("rote sweep toy --scale grid")
    capsys.readouterr()
    assert (tmp_path / "root" / "toy" / "grid" / "results.nc").exists()
    rc, out, _ = verify(capsys, "--scale", "grid")
    assert rc == 0 and "2 passed, 0 failed" in out


def test_a_failed_claim_is_exit_1_even_beside_claims_not_measured(toy, tmp_path, capsys, monkeypatch):
    out_dir = tmp_path / "partial"
    assert cli.main(["sweep", "toy", "--scale", "panels", "--panel", "slow", "--out", str(out_dir), "--no-progress"]) == 0
    def rises(ev):
        measured, fell = falls(panel(ev, "slow"))
        return measured, not fell

    wrong = Claim("slow loss rises", "final > initial", "strict", rises)
    monkeypatch.setattr(studies, "get", lambda name, get=studies.get: dataclasses.replace(get(name), claims=lambda s: toy_claims(s) + [wrong]))
    rc, out, _ = verify(capsys, "--scale", "panels", "--results", str(out_dir))
    assert rc == cli.EXIT_CLAIM_FAILED
    assert row(out, "slow loss rises").endswith("FAIL") and "2 passed, 1 failed, 2 not measured" in out


def test_damaged_results_beside_missing_ones_are_a_one_line_error(toy, tmp_path, capsys):
    out_dir = tmp_path / "damaged"
    assert cli.main(["sweep", "toy", "--scale", "panels", "--panel", "slow", "--out", str(out_dir), "--no-progress"]) == 0
    capsys.readouterr()
    path = out_dir / "slow" / "results.nc"
    path.write_bytes(path.read_bytes()[:200])
    rc, out, err = verify(capsys, "--scale", "panels", "--results", str(out_dir))
    assert rc == cli.EXIT_BAD_INPUT
    assert len(err.strip().splitlines()) == 1 and err.startswith("rote: error:") and "results.nc" in err


# --------------------------------------------------------------------------------------------------
# Evidence and Claim: which verdicts count as "not measured"
# --------------------------------------------------------------------------------------------------


def claim(check) -> Claim:
    return Claim("c", "p", "t", check)


def test_a_missing_panel_looked_up_any_way_is_not_measured():
    ev = Evidence({"a": {"x": 1}}, missing=("b",))
    assert claim(lambda e: ("got", e["a"]["x"] == 1))(ev).passed
    for check in (lambda e: e["b"], lambda e: panel(e, "b"), lambda e: e.get("b")["x"]):  # KeyError, KeyError, TypeError
        v = claim(check)(ev)
        assert v.not_measured and not v.passed and v.missing == ("b",) and v.measured == "not measured: no results for panel b"
    # a claim that falls back when a panel is absent, even to a pass, is judged on incomplete evidence: not measured
    v = claim(lambda e: ("fallback", True) if "b" not in e else ("full", True))(ev)
    assert v.not_measured and v.missing == ("b",)
    with pytest.raises(MissingPanel):
        ev["b"]
    assert ev.asked == ["b"]  # ... while each claim starts from a fresh record
    assert claim(lambda e: ("got", not e.asked))(ev).passed


def test_missing_cells_in_a_present_panel_still_fail_and_other_errors_still_raise():
    ev = Evidence({"a": {"x": 1}}, missing=("b",))
    v = claim(lambda e: e["a"]["no such cell"])(ev)
    assert not v.passed and not v.not_measured and v.measured.startswith("not measurable: KeyError")
    v = claim(lambda e: e["c"])(ev)  # a name that is no panel of the scale is the claim's own bug: it fails
    assert not v.passed and not v.not_measured
    with pytest.raises(TypeError):
        claim(lambda e: None + 1)(ev)


def test_a_single_grid_without_results_is_not_measured_whatever_the_claim_reads():
    ev = Evidence({}, missing=("",))
    for check in (lambda e: e["loss"], lambda e: e.sel(seed=0), lambda e: float(e.attrs["x"]), lambda e: np.asarray(e["loss"])):
        v = claim(check)(ev)
        assert v.not_measured and v.missing == ("",) and v.measured == "not measured: no results"
    assert claim(lambda e: ("theory", True))(ev).passed


def test_a_claim_declared_not_reproduced_is_reported_and_does_not_fail_verify():
    from rote.sims.study import Claim
    from rote.sims.verify import format_verdicts

    gap = Claim("c", "p", "t", lambda ev: ("measured 3", False), not_reproduced="the toy is too small")
    verdict = gap({})
    assert not verdict.passed and not verdict.failed and verdict.not_reproduced == "the toy is too small"
    assert "not reproduced: the toy is too small" in verdict.measured
    table = format_verdicts([verdict])
    assert "NOT REPRODUCED" in table and "0 passed, 0 failed, 1 not reproduced (declared)" in table
    passes = Claim("c", "p", "t", lambda ev: ("measured 9", True), not_reproduced="the toy is too small")({})
    assert passes.passed and not passes.not_reproduced and "PASS" in format_verdicts([passes])
    plain = Claim("c", "p", "t", lambda ev: ("measured 3", False))({})
    assert plain.failed and "FAIL" in format_verdicts([plain])

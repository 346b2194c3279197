"""``rote verify``: the claims of a study on the results that are on disk, as a prediction vs
measurement table. It only reads: a claim whose panel has no results is "not measured", reported with
the ``rote sweep`` command that makes them; sweeping is ``rote sweep``'s (and ``rote reproduce``'s) job."""

from __future__ import annotations

import shlex
import sys


def format_verdicts(verdicts, widths=(26, 40, 30, 50, 14)) -> str:
    """One row per claim (claim, prediction, tolerance, measured, result); long cells wrap in their column."""
    import textwrap

    header = ("claim", "prediction", "tolerance", "measured", "result")
    rows = [(v.claim, v.prediction, v.tolerance, v.measured, _result(v)) for v in verdicts]

    def render(row):
        cells = [textwrap.wrap(text, w, break_on_hyphens=False) or [""] for text, w in zip(row, widths)]
        height = max(map(len, cells))
        return ["  ".join((c[i] if i < len(c) else "").ljust(w) for c, w in zip(cells, widths)).rstrip() for i in range(height)]

    lines = render(header) + ["  ".join("-" * w for w in widths)]
    for row in rows:
        lines += render(row) + [""]
    n_pass = sum(v.passed for v in verdicts)
    n_missing = sum(v.not_measured for v in verdicts)
    n_gap = sum(bool(v.not_reproduced) for v in verdicts)
    lines.append(f"{n_pass} passed, {sum(v.failed for v in verdicts)} failed" + (f", {n_gap} not reproduced (declared)" if n_gap else "")
                 + (f", {n_missing} not measured" if n_missing else ""))
    return "\n".join(lines)


def _result(verdict) -> str:
    if verdict.not_measured:
        return "NOT MEASURED"
    return "PASS" if verdict.passed else "NOT REPRODUCED" if verdict.not_reproduced else "FAIL"


def sweep_command(study_name: str, scale_name: str, panels, all_panels, out: str | None) -> str:
    """The ``rote sweep`` command that makes the results of ``panels`` ('' for a single grid) of a scale
    whose panels are ``all_panels``; ``--panel`` only when it is not all of them, ``--out`` only when
    the results directory is not the default."""
    words = ["rote", "sweep", study_name, "--scale", scale_name]
    named = [p for p in all_panels if p in panels and p]
    if named and len(named) < len([p for p in all_panels if p]):
        words += ["--panel", ",".join(named)]
    if out is not None:
        words += ["--out", str(out)]
    return shlex.join(words)


def not_measured_report(verdicts, study_name: str, scale_name: str, all_panels, out: str | None) -> list[str]:
    """Lines naming, for each claim that was not measured, the command that makes its evidence, then
    the one command for all of them (when they differ)."""
    missing = [v for v in verdicts if v.not_measured]
    if not missing:
        return []
    lines = ["not measured: `rote verify` only reads results; make the missing ones with `rote sweep`, then verify again:"]
    width = max(len(v.claim) for v in missing)
    commands = []
    for v in missing:
        commands.append(sweep_command(study_name, scale_name, v.missing, all_panels, out))
        lines.append(f"  {v.claim.ljust(width)}  {commands[-1]}")
    if len(set(commands)) > 1:
        every = {p for v in missing for p in v.missing}
        lines.append(f"  {'all of them'.ljust(width)}  {sweep_command(study_name, scale_name, every, all_panels, out)}")
    return lines


def do_verify(study_name: str, scale_name: str, results: str | None, progress=True):
    """Evaluate and print every claim of a study on the results in ``results`` (default: the scale's
    directory), whatever panels they hold; returns the verdicts. Never sweeps."""
    from tqdm.auto import tqdm

    from .results import load_for_claims, results_dir
    from .studies import get

    study = get(study_name)
    scale = study.scale(scale_name)
    path = results_dir(study_name, scale_name, results)
    evidence = load_for_claims(study, scale_name, path, partial=True)
    absent = getattr(evidence, "missing", ())
    if absent:
        which = "" if absent == ("",) else " for any panel" if len(absent) == len(scale.sweeps()) else " for panel " + ", ".join(absent)
        print(f"rote: no results{which} in {path}; the claims that need them are not measured (verify never sweeps)", file=sys.stderr)
    claims = study.claims(scale)
    verdicts = []
    with tqdm(claims, desc=f"{study_name} {scale_name} verify", unit="claim", disable=not progress, file=sys.stderr, dynamic_ncols=True,
              mininterval=0, bar_format="{desc}: {n_fmt}/{total_fmt} claims [{elapsed}{postfix}]") as bar:
        for claim in bar:
            bar.set_postfix_str(claim.name[:40])
            verdicts.append(claim(evidence))
    print(f"verify {study_name} --scale {scale_name} ({path})")
    print(format_verdicts(verdicts))
    for line in not_measured_report(verdicts, study_name, scale_name, list(scale.sweeps()), results):
        print(line)
    return verdicts

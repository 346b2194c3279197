"""The `rote` command line.

    rote list                                   studies and their scales
    rote sweep STUDY [--scale quick] [--out DIR] [--chunk-size C] [--set axis=v1,v2 ...] [--matmul-precision P]
    rote figures STUDY [--scale quick] [--results DIR] [--out DIR]
    rote verify STUDY [--scale quick] [--results DIR]   (runs the sweep first if it has no results)
    rote reproduce [--scale quick] [--study S ...]       sweep, figures and verify for every study

Results go to results/STUDY/SCALE/ (``--out`` or ``ROTE_RESULTS`` change the root). Any bad input is
one line on stderr and exit code 2; a failed claim in ``verify`` is exit code 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import RoteError

EXIT_CLAIM_FAILED = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse would print the usage block too)
        print(f"rote: error: {message} (see `rote --help`)", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def _parse_set(items: list[str], base) -> dict:
    """--set axis=v1,v2 -> {axis: (v1, v2)}, values converted to the type of the base field."""
    import dataclasses

    fields = {f.name for f in dataclasses.fields(base)}
    axes = {}
    for item in items or []:
        name, sep, values = item.partition("=")
        if not sep or not values:
            raise RoteError(f"--set expects axis=value[,value...], got {item!r}")
        if name not in fields:  # a field, not any attribute (`validate`, `n_train`, `__class__`)
            raise RoteError(f"unknown parameter {name!r} in --set")
        if name in axes:  # the later one would silently replace the earlier one
            raise RoteError(f"--set {name} given twice; list every value in one --set {name}=v1,v2")
        kind = type(getattr(base, name))
        try:
            axes[name] = tuple(kind(v) if kind is not bool else _parse_bool(v) for v in values.split(","))
        except (ValueError, TypeError, OverflowError):
            raise RoteError(f"--set {name}: cannot read {values!r} as {kind.__name__}") from None
    return axes


def _parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)  # never read junk as False


def cmd_list(args) -> int:
    from .studies import get, names

    for name in names():
        study = get(name)
        print(name)
        for scale in study.scales:
            print(f"  {scale:6s} {study.scale(scale).description}")
    return 0


def do_sweep(study_name: str, scale_name: str, out: str | None, chunk_size: int | None = None, overrides=None, progress=True,
             matmul_precision: str | None = None, panels: list[str] | None = None):
    """Run (or resume) every sweep of a scale: its grid, or each of its panels into RESULTS/PANEL
    (only the named ``panels`` when given). Returns {panel ('' for a single grid): Dataset} and the
    results root."""
    from . import engine
    from .params import replace
    from .results import panel_path, results_dir
    from .studies import get

    study = get(study_name)
    scale = study.scale(scale_name)
    if chunk_size is not None and chunk_size < 1:
        raise RoteError(f"--chunk-size must be >= 1, got {chunk_size}")
    root = results_dir(study_name, scale_name, out)
    sweeps = scale.sweeps()
    if panels:
        unknown = [p for p in panels if p not in sweeps]
        if unknown:
            known = ", ".join(p for p in sweeps if p) or "none (this scale is one grid)"
            raise RoteError(f"{study_name} {scale_name} has no panel {', '.join(unknown)}; panels: {known}")
        sweeps = {p: sweeps[p] for p in sweeps if p in panels}
    datasets = {}
    for panel, (base, grid) in sweeps.items():
        axes = dict(grid)
        fixed = {}  # single values set together: a field may only be valid beside another (model and prune_curves)
        for name, values in (overrides or {}).items():
            if len(values) == 1 and name not in axes:
                fixed[name] = values[0]
            else:
                axes[name] = values
        base = replace(base, **fixed)
        path = panel_path(root, panel)
        t0 = time.perf_counter()
        ds = engine.sweep(study, base, axes, path, scale=scale_name, chunk_size=chunk_size, progress=progress and engine.is_writer(),
                          matmul_precision=matmul_precision)
        if ds is None:  # not process 0 of a multi-process run
            continue
        label = f"{study_name} {scale_name}" + (f" [{panel}]" if panel else "")
        print(f"rote: {label}: {ds.attrs['n_configs']} configs in {time.perf_counter() - t0:.1f} s -> {path / 'results.nc'}")
        datasets[panel] = ds
    return datasets, root


def _parse_panels(values: list[str] | None) -> list[str] | None:
    """--panel a,b --panel c -> ['a', 'b', 'c'] (None: every panel)."""
    if not values:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def cmd_sweep(args) -> int:
    from .studies import get

    base = get(args.study).scale(args.scale).base
    do_sweep(args.study, args.scale, args.out, args.chunk_size, _parse_set(args.set, base), progress=not args.no_progress, panels=_parse_panels(args.panel),
             matmul_precision=args.matmul_precision)
    return 0


def do_figures(study_name: str, scale_name: str, results: str | None, out: str | None) -> list[Path]:
    from .results import load_evidence, results_dir
    from .studies import get

    study = get(study_name)
    study.scale(scale_name)
    path = results_dir(study_name, scale_name, results)
    ds = load_evidence(study, scale_name, path)
    fig_dir = Path(out) if out else path / "figures"
    try:
        fig_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RoteError(f"cannot create figure directory {fig_dir}: {exc.strerror or exc}") from None
    written = study.make_figures(ds, fig_dir)
    for p in written:
        print(f"rote: wrote {p}")
    return written


def cmd_figures(args) -> int:
    do_figures(args.study, args.scale, args.results, args.out)
    return 0


def format_verdicts(verdicts, widths=(26, 40, 30, 56, 6)) -> str:
    """One row per claim (claim, prediction, tolerance, measured, result); long cells wrap in their column."""
    import textwrap

    header = ("claim", "prediction", "tolerance", "measured", "result")
    rows = [(v.claim, v.prediction, v.tolerance, v.measured, "PASS" if v.passed else "FAIL") for v in verdicts]

    def render(row):
        cells = [textwrap.wrap(text, w, break_on_hyphens=False) or [""] for text, w in zip(row, widths)]
        height = max(map(len, cells))
        return ["  ".join((c[i] if i < len(c) else "").ljust(w) for c, w in zip(cells, widths)).rstrip() for i in range(height)]

    lines = render(header) + ["  ".join("-" * w for w in widths)]
    for row in rows:
        lines += render(row) + [""]
    n_pass = sum(v.passed for v in verdicts)
    lines.append(f"{n_pass} passed, {len(verdicts) - n_pass} failed")
    return "\n".join(lines)


def do_verify(study_name: str, scale_name: str, results: str | None, progress=True):
    from .results import has_results, load_for_claims, results_dir
    from .studies import get

    study = get(study_name)
    study.scale(scale_name)
    path = results_dir(study_name, scale_name, results)
    if not has_results(study, scale_name, path):
        print(f"rote: no results in {path}; running the {scale_name} sweep first", file=sys.stderr)
        do_sweep(study_name, scale_name, results, progress=progress)
    ds = load_for_claims(study, scale_name, path)
    verdicts = [claim(ds) for claim in study.claims(study.scale(scale_name))]
    print(f"verify {study_name} --scale {scale_name} ({path})")
    print(format_verdicts(verdicts))
    return verdicts


def cmd_verify(args) -> int:
    verdicts = do_verify(args.study, args.scale, args.results, progress=not args.no_progress)
    return 0 if verdicts and all(v.passed for v in verdicts) else EXIT_CLAIM_FAILED


def cmd_reproduce(args) -> int:
    from .studies import get, names

    chosen = args.study or names()
    for s in chosen:
        get(s).scale(args.scale)  # validate every name before any work
    ok = True
    for s in chosen:
        t0 = time.perf_counter()
        print(f"== {s}: sweep ({args.scale})")
        do_sweep(s, args.scale, None, progress=not args.no_progress)
        print(f"== {s}: figures")
        do_figures(s, args.scale, None, None)
        print(f"== {s}: verify")
        verdicts = do_verify(s, args.scale, None)
        ok &= bool(verdicts) and all(v.passed for v in verdicts)
        print(f"== {s}: done in {time.perf_counter() - t0:.1f} s")
    return 0 if ok else EXIT_CLAIM_FAILED


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rote", description="Memorization phenomena rebuilt as small JAX models: sweeps, figures, verification.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="studies and their scales").set_defaults(func=cmd_list)

    def common(p, results_flag):
        p.add_argument("study")
        p.add_argument("--scale", default="quick", help="smoke, quick (CPU minutes) or paper (GPU)")
        p.add_argument(results_flag, default=None, help="results directory (default results/STUDY/SCALE)")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("sweep", help="run or resume a vectorised sweep")
    common(p, "--out")
    p.add_argument("--chunk-size", type=int, default=None, help="configs per jit(vmap) call (default: from device memory)")
    p.add_argument("--set", action="append", metavar="AXIS=V[,V...]", help="override a parameter or an axis (repeatable)")
    p.add_argument("--panel", action="append", metavar="NAME[,NAME...]", help="only these panels of the scale (repeatable; default all)")
    p.add_argument("--matmul-precision", default=None, metavar="P",
                   help="float32, tensorfloat32 or bfloat16: JAX's default matmul precision for the sweep (GPUs; CPUs compute fp32 regardless)")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("figures", help="regenerate a study's figures from saved results")
    common(p, "--results")
    p.add_argument("--out", default=None, help="figure directory (default RESULTS/figures)")
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("verify", help="prediction vs measurement table; exit 1 if a claim fails")
    common(p, "--results")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("reproduce", help="sweep, figures and verify for every study")
    p.add_argument("--scale", default="quick")
    p.add_argument("--study", action="append", help="only this study (repeatable)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_reproduce)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.func is cmd_sweep:
            from . import engine

            engine.init_distributed()
        return args.func(args)
    except RoteError as exc:  # one line even if a message quotes a value holding a newline
        print("rote: error: " + " ".join(str(exc).splitlines()), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("rote: interrupted; finished chunks are kept and a re-run resumes", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The `rote` command line (also ``python -m rote``).

    rote list                                   studies and their scales
    rote sweep STUDY [--scale quick] [--out DIR] [--chunk-size C] [--set axis=v1,v2 ...] [--matmul-precision P]
    rote sweep --from RESULTS.nc --out DIR      re-run the exact configuration stored in a results file
    rote figures STUDY [--scale quick] [--results DIR] [--out DIR]
    rote verify STUDY [--scale quick] [--results DIR]   (only reads: a claim without results is "not measured")
    rote reproduce [--scale quick] [--study S ...]       sweep, figures and verify for every study, then the report
    rote report [--scale quick] [--results ROOT] [--out FILE]   one self-contained HTML page of every study (only reads)
    rote --version

Results go to results/STUDY/SCALE/ (``--out`` or ``ROTE_RESULTS`` change the root). Any bad input, and
any failed write (full disk, quota, I/O error, read-only directory), is one line on stderr and exit code
2; a failed claim in ``verify`` is exit code 1, and a claim not measured (its panel has no results; the
``rote sweep`` command that makes them is printed) exit code 3 when none failed; SIGINT / SIGTERM end
the command within a moment with exit code 130 / 143, finished chunks kept (``interrupts``).
"""

from __future__ import annotations

import argparse
import decimal
import os
import sys
import time
from pathlib import Path

from .errors import RoteError
from .verify import do_verify, format_verdicts  # noqa: F401  (format_verdicts: the notebooks print their tables with it)

EXIT_CLAIM_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_MEASURED = 3
DEFAULT_SCALE = "quick"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse would print the usage block too)
        print(f"rote: error: {message} (see `rote --help`)", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


class _HelpFormatter(argparse.HelpFormatter):
    """Every option's default in its help, unless the default is 'nothing' (None, False)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "%(default)" not in text and action.default not in (None, False, argparse.SUPPRESS) and action.option_strings:
            text += " (default: %(default)s)"
        return text


def _nonempty(flag: str):
    """An argparse type: a path that is not the empty string (which would silently mean 'the default')."""

    def convert(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{flag} is empty; give a value, or leave {flag} out for its default")
        return text

    return convert


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
        if kind is float:
            for text, value in zip(values.split(","), axes[name]):
                _check_not_flushed(name, text, value)
    return axes


def _check_not_flushed(name: str, text: str, value: float) -> None:
    """Refuse a number that parsing already turned into 0 (1e-400 is below float64's range): the
    float32/float64 range check later sees only the 0 and could not tell it from a real 0."""
    if value != 0:
        return
    try:
        exact = decimal.Decimal(text.strip().replace("_", ""))
    except decimal.InvalidOperation:
        return
    if exact.is_finite() and exact != 0:
        raise RoteError(f"--set {name}: {text.strip()} is too small to represent (it would silently become 0); give 0 or a larger "
                        "number")


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
    from .params import replace
    from .results import other_study_in, panel_path, results_dir
    from .studies import get

    study = get(study_name)
    scale = study.scale(scale_name)
    if chunk_size is not None and chunk_size < 1:
        raise RoteError(f"--chunk-size must be >= 1, got {chunk_size}")
    root = results_dir(study_name, scale_name, out)
    sweeps = scale.sweeps()
    if panels is not None:
        unknown = [p for p in panels if p not in sweeps]
        if unknown:
            known = ", ".join(p for p in sweeps if p) or "none (this scale is one grid)"
            raise RoteError(f"{study_name} {scale_name} has no panel {', '.join(unknown)}; panels: {known}")
        sweeps = {p: sweeps[p] for p in sweeps if p in panels}
    found = other_study_in(root, study_name)
    if found:
        raise RoteError(f"results directory {root} holds a {found}; a {study_name} sweep there would mix two studies: choose another --out")
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
        ds = _sweep_one(study, base, axes, panel_path(root, panel), f"{study_name} {scale_name}" + (f" {panel}" if panel else ""),
                        scale_name, chunk_size, progress, matmul_precision)
        if ds is not None:
            datasets[panel] = ds
    return datasets, root


def _sweep_one(study, base, axes, path: Path, label: str, scale_name: str, chunk_size, progress, matmul_precision):
    """One grid into ``path``, with its progress bar named ``label``; None on processes other than 0."""
    from . import engine

    t0 = time.perf_counter()
    ds = engine.sweep(study, base, axes, path, scale=scale_name, chunk_size=chunk_size, progress=progress and engine.is_writer(),
                      matmul_precision=matmul_precision, label=label)
    if ds is None:  # not process 0 of a multi-process run
        return None
    print(f"rote: {label}: {ds.attrs['n_configs']} configs in {time.perf_counter() - t0:.1f} s -> {path / 'results.nc'}")
    return ds


def _parse_panels(values: list[str] | None) -> list[str] | None:
    """--panel a,b --panel c -> ['a', 'b', 'c'] (None: every panel); an empty name is an error, never
    'every panel'."""
    if values is None:
        return None
    names = [name.strip() for value in values for name in value.split(",")]
    if not names or any(not name for name in names):
        raise RoteError(f"--panel has an empty name ({', '.join(repr(v) for v in values)}); name the panels, or leave --panel out for all")
    return names


def cmd_sweep(args) -> int:
    from .studies import get

    if args.source is not None:
        return sweep_from(args)
    base = get(args.study).scale(args.scale).base
    do_sweep(args.study, args.scale, args.out, args.chunk_size, _parse_set(args.set, base), progress=not args.no_progress, panels=_parse_panels(args.panel),
             matmul_precision=args.matmul_precision)
    return 0


def sweep_from(args) -> int:
    """``rote sweep --from RESULTS.nc --out DIR``: the study, base parameters, axes and matmul precision
    stored in a results file, swept again (nothing else may change them)."""
    from .results import other_study_in, saved_configuration
    from .studies import get

    given = [flag for flag, value in (("--set", args.set), ("--panel", args.panel), ("--matmul-precision", args.matmul_precision),
                                      ("--scale", args.scale_given)) if value]
    if given:
        raise RoteError(f"--from re-runs the configuration stored in {args.source}; it cannot be combined with {', '.join(given)}")
    if args.out is None:
        raise RoteError("--from needs --out DIR, the directory of the re-run")
    saved = saved_configuration(Path(args.source))
    if args.study is not None and args.study != saved["study"]:
        raise RoteError(f"{args.source} holds a {saved['study']} sweep, not {args.study}")
    study = get(saved["study"])
    found = other_study_in(Path(args.out), study.name)
    if found:
        raise RoteError(f"results directory {args.out} holds a {found}; choose another --out")
    _sweep_one(study, saved["base"], saved["axes"], Path(args.out), f"{study.name} {saved['scale']} (from {Path(args.source).name})",
               saved["scale"], args.chunk_size, not args.no_progress, saved["matmul_precision"])
    return 0


def do_figures(study_name: str, scale_name: str, results: str | None, out: str | None) -> list[Path]:
    """Every figure of a study from its saved results, each announced as it is written."""
    import logging

    from .atomic import write_error
    from .results import load_evidence, results_dir
    from .studies import get

    study = get(study_name)
    study.scale(scale_name)
    path = results_dir(study_name, scale_name, results)
    t0 = time.perf_counter()
    print(f"rote: {study_name} {scale_name}: loading results from {path}", flush=True)
    ds = load_evidence(study, scale_name, path)
    fig_dir = Path(out) if out else path / "figures"
    try:
        fig_dir.mkdir(parents=True, exist_ok=True)
        probe = fig_dir / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RoteError(f"cannot write figure directory {fig_dir}: {exc.strerror or exc}") from None
    announced = []

    class Announce(logging.Handler):  # figures/_common.save logs each figure once it is in place
        def emit(self, record):
            announced.append(str(record.msg))
            print(f"rote: wrote {record.msg}  [{len(announced)} figure(s), {time.perf_counter() - t0:.1f} s]", flush=True)

    logger, handler = logging.getLogger("rote.figures"), Announce()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        written = study.make_figures(ds, fig_dir)
    except OSError as exc:  # a write that did not go through figures/_common.save
        raise write_error(Path(getattr(exc, "filename", None) or fig_dir), exc) from None
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    for p in written:
        if str(p) not in announced:
            print(f"rote: wrote {p}")
    print(f"rote: {study_name} {scale_name}: {len(written)} figures in {time.perf_counter() - t0:.1f} s -> {fig_dir}")
    return written


def cmd_figures(args) -> int:
    do_figures(args.study, args.scale, args.results, args.out)
    return 0


def cmd_verify(args) -> int:
    verdicts = do_verify(args.study, args.scale, args.results, progress=not args.no_progress)
    if not verdicts or any(v.failed for v in verdicts):
        return EXIT_CLAIM_FAILED
    return EXIT_NOT_MEASURED if any(v.not_measured for v in verdicts) else 0


def cmd_reproduce(args) -> int:
    from .studies import get, names

    chosen = args.study or names()
    for s in chosen:
        get(s).scale(args.scale)  # validate every name before any work
    ok, evaluated = True, {}
    for s in chosen:
        t0 = time.perf_counter()
        print(f"== {s}: sweep ({args.scale})")
        do_sweep(s, args.scale, None, progress=not args.no_progress)
        print(f"== {s}: figures")
        do_figures(s, args.scale, None, None)
        print(f"== {s}: verify")
        evaluated[s] = verdicts = do_verify(s, args.scale, None, progress=not args.no_progress)
        ok &= bool(verdicts) and not any(v.failed or v.not_measured for v in verdicts)
        print(f"== {s}: done in {time.perf_counter() - t0:.1f} s")
    from .report import write_report

    print(f"== report: {write_report(args.scale, names=chosen, verdicts=evaluated)}")  # the studies just verified
    return 0 if ok else EXIT_CLAIM_FAILED


def cmd_report(args) -> int:
    from .report import write_report

    write_report(args.scale, args.results, args.out, args.study)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .provenance import package_version

    parser = _Parser(prog="rote", description="Memorization phenomena rebuilt as small JAX models: sweeps, figures, verification.",
                     formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"rote {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="studies and their scales", formatter_class=_HelpFormatter).set_defaults(func=cmd_list)
    scale_help = "smoke (seconds), quick (CPU minutes) or paper (GPU)"

    def common(p, results_flag, study_optional=False):
        p.add_argument("study", nargs="?" if study_optional else None, help="a study of `rote list`")
        p.add_argument("--scale", default=None, type=_nonempty("--scale"), help=f"{scale_help} (default: {DEFAULT_SCALE})")
        p.add_argument(results_flag, default=None, type=_nonempty(results_flag), help="results directory (default: results/STUDY/SCALE)")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("sweep", help="run or resume a vectorised sweep", formatter_class=_HelpFormatter)
    common(p, "--out", study_optional=True)
    p.add_argument("--from", dest="source", default=None, type=_nonempty("--from"), metavar="RESULTS.nc",
                   help="re-run the exact configuration (study, parameters, axes, precision) stored in a results file; needs --out")
    p.add_argument("--chunk-size", type=int, default=None, help="configs per jit(vmap) call (default: from device memory)")
    p.add_argument("--set", action="append", metavar="AXIS=V[,V...]", help="override a parameter or an axis (repeatable)")
    p.add_argument("--panel", action="append", metavar="NAME[,NAME...]", help="only these panels of the scale (repeatable; default: all)")
    p.add_argument("--matmul-precision", default=None, metavar="P",
                   help="float32, tensorfloat32 or bfloat16: JAX's default matmul precision for the sweep (GPUs; CPUs compute fp32 regardless; "
                        "default: JAX's own)")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("figures", help="regenerate a study's figures from saved results", formatter_class=_HelpFormatter)
    common(p, "--results")
    p.add_argument("--out", default=None, type=_nonempty("--out"), help="figure directory (default: RESULTS/figures)")
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("verify", help="prediction vs measurement table on the saved results (never sweeps); exit 1 if a claim fails, 3 if one is not measured", formatter_class=_HelpFormatter)
    common(p, "--results")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("reproduce", help="sweep, figures and verify for every study", formatter_class=_HelpFormatter)
    p.add_argument("--scale", default=None, type=_nonempty("--scale"), help=f"{scale_help} (default: {DEFAULT_SCALE})")
    p.add_argument("--study", action="append", help="only this study (repeatable; default: every study)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("report", help="one self-contained HTML page of every study's claims, figures and provenance (only reads)",
                       formatter_class=_HelpFormatter)
    p.add_argument("--scale", default=None, type=_nonempty("--scale"), help=f"{scale_help} (default: {DEFAULT_SCALE})")
    p.add_argument("--results", default=None, type=_nonempty("--results"), help="results root holding STUDY/SCALE (default: $ROTE_RESULTS or results)")
    p.add_argument("--out", default=None, type=_nonempty("--out"), help="the HTML file (default: RESULTS_ROOT/report-SCALE.html)")
    p.add_argument("--study", action="append", help="only this study (repeatable; default: every study)")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv=None) -> int:
    from .interrupts import exit_promptly_on_signals

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.func is cmd_sweep and args.study is None and args.source is None:
        parser.error("the following arguments are required: study (or --from RESULTS.nc)")
    args.scale_given = getattr(args, "scale", None)
    if hasattr(args, "scale"):
        args.scale = args.scale or DEFAULT_SCALE
    with exit_promptly_on_signals():
        try:
            if args.func is cmd_sweep:
                from . import engine

                engine.init_distributed()
            return args.func(args)
        except RoteError as exc:  # one line even if a message quotes a value holding a newline
            print("rote: error: " + " ".join(str(exc).splitlines()), file=sys.stderr)
            return EXIT_BAD_INPUT
        except OSError as exc:  # a failed write or read that no layer below turned into a RoteError
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            print(f"rote: error: {where}{exc.strerror or exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:  # only where no signal watcher runs (outside the main thread)
            print("rote: interrupted; finished chunks are kept and a re-run resumes", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())

"""``rote report``: one self-contained HTML page of a reproduction, built only from what is on disk.

For every study of the registry (``sims.studies.STUDIES``) at one scale: the paper (``Study.paper``, or
the paper paragraph of the study module's docstring) with its arXiv ids; every claim's prediction,
tolerance, measured value and verdict, evaluated on the saved results exactly as ``rote verify`` does
(it only reads; a claim whose panel has no results is NOT MEASURED and shown with the ``rote sweep``
command that makes it); the saved figures (``RESULTS/figures/*.png``) embedded as base64 PNG, each with
its caption from the study's figures module docstring; and the provenance every ``results.nc`` records
(package version, git revision, JAX version, device, matmul precision, wall time). No network, no
JavaScript: the file opens anywhere, alone. ``rote reproduce`` writes it at its end.
"""

from __future__ import annotations

import ast
import base64
import fnmatch
import html
import importlib.util
import re
import shlex
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from .errors import RoteError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# results.nc attributes shown as provenance (sims.provenance), with their labels
PROVENANCE = (("package_version", "package"), ("git_revision", "git revision"), ("jax_version", "JAX"), ("python_version", "Python"),
              ("device", "device"), ("backend", "backend"), ("matmul_precision", "matmul precision"))


@dataclass
class StudyReport:
    """What the page shows of one study; ``error`` (unreadable results, a claim that raised) is shown in
    place of what could not be built."""

    name: str
    scale: str
    title: str = ""
    paper: str = ""
    arxiv: tuple[str, ...] = ()
    results: Path | None = None
    verdicts: list = field(default_factory=list)
    commands: dict = field(default_factory=dict)  # claim name -> the `rote sweep` command that makes its results
    figures: list = field(default_factory=list)  # (file name, caption, PNG bytes, (width, height))
    panels: list = field(default_factory=list)  # (panel, results.nc attributes, stale configuration or '')
    notes: list = field(default_factory=list)  # lines such as the diverged configs excluded from the claims
    all_panels: list = field(default_factory=list)  # the scale's panels ('' for a single grid)
    absent: list = field(default_factory=list)  # those without results on disk
    missing_command: str = ""  # the `rote sweep` command for every panel without results
    figures_command: str = ""  # the `rote figures` command, when results exist but no figure does
    error: str = ""

    def counts(self) -> dict[str, int]:
        v = self.verdicts
        return {"passed": sum(x.passed for x in v), "failed": sum(x.failed for x in v),
                "not reproduced": sum(bool(x.not_reproduced) and not x.passed for x in v), "not measured": sum(x.not_measured for x in v)}

    def wall_s(self) -> float | None:
        times = [float(attrs["wall_time_s"]) for _, attrs, _ in self.panels if "wall_time_s" in attrs]
        return sum(times) if times else None


def _docstring(module: str) -> str:
    """A module's docstring read from its source without importing it ('' if there is none)."""
    try:
        spec = importlib.util.find_spec(module)
        return (ast.get_docstring(ast.parse(Path(spec.origin).read_text())) or "") if spec and spec.origin else ""
    except (ImportError, OSError, SyntaxError, ValueError):
        return ""


def paper_of(study) -> tuple[str, str, tuple[str, ...]]:
    """(one-line subject, paper citation, arXiv ids): ``study.paper`` if set, else the second paragraph of
    the study module's docstring up to "Parameters in" (the template's layout)."""
    doc = _docstring(f"{__package__}.studies.{study.module_name}")
    paras = [" ".join(p.split()) for p in doc.strip().split("\n\n") if p.strip()]
    title = re.sub(r"^Study `[^`]*`:\s*", "", paras[0]) if paras else ""
    paper = getattr(study, "paper", "") or (re.split(r"\s*\bParameters in\b", paras[1])[0] if len(paras) > 1 else "")
    arxiv = tuple(dict.fromkeys(re.findall(r"arXiv[:\s]*(\d{4}\.\d{4,5})", paper)))
    return title, paper, arxiv


def figure_captions(study) -> dict[str, str]:
    """{file name or glob: caption} from the docstring of ``rote.figures.<module>``, read without importing
    it: a line ``name.png  text`` (with its more indented continuation lines), or ``name.png (text)``."""
    doc = _docstring(f"{__package__.rpartition('.')[0]}.figures.{study.module_name}")
    found: dict[str, str] = {}
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)([\w*.-]+\.png)\s+(\S.*)$", line)
        if m:
            text, indent = [m.group(3)], len(m.group(1))
            for nxt in lines[i + 1:]:
                if not nxt.strip() or len(nxt) - len(nxt.lstrip()) <= indent + 2:
                    break
                text.append(nxt.strip())
            found[m.group(2)] = " ".join(text)
    flat = " ".join(doc.split())
    for m in re.finditer(r"([\w*.-]+\.png) \(((?:[^()]|\([^()]*\))*)\)", flat):
        found.setdefault(m.group(1), m.group(2))
    return found


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG from its IHDR chunk; ValueError if ``data`` is not a PNG."""
    if data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    return struct.unpack(">II", data[16:24])


def collect(name: str, scale_name: str, root: str | None = None, verdicts=None) -> StudyReport:
    """One study's part of the page from its saved results at ``root/STUDY/SCALE`` (default: the results
    directory of ``rote verify``). ``verdicts``: the claims already evaluated on them (``rote reproduce``);
    otherwise they are evaluated here, as ``rote verify`` does."""
    from . import engine, studies
    from .results import config_mismatch, load_for_claims, results_dir
    from .study import Evidence
    from .verify import sweep_command

    study = studies.get(name)
    rep = StudyReport(name, scale_name, *paper_of(study))
    try:
        scale = study.scale(scale_name)
    except RoteError as exc:
        rep.error = str(exc)
        return rep
    out = None if root is None else str(Path(root) / name / scale_name)
    rep.results = path = results_dir(name, scale_name, out)
    sweeps = scale.sweeps()
    try:
        evidence = load_for_claims(study, scale_name, path, log=rep.notes.append, partial=True)
        on_disk = dict(dict.items(evidence)) if isinstance(evidence, Evidence) else {"": evidence}
        for panel, ds in on_disk.items():
            base, axes = sweeps[panel]
            stale = config_mismatch(ds.attrs.get("config"), engine.Grid.build(base, axes).fingerprint(name), study.params_type)
            rep.panels.append((panel, dict(ds.attrs), stale))
        rep.verdicts = list(verdicts) if verdicts is not None else [claim(evidence) for claim in study.claims(scale)]
    except Exception as exc:  # unreadable results, or a claim that raised: shown on the page, never a missing page
        rep.error = f"{type(exc).__name__}: {' '.join(str(exc).split())}" if not isinstance(exc, RoteError) else str(exc)
        print(f"rote: warning: report: {name}: {rep.error}", file=sys.stderr)
    rep.all_panels = all_panels = list(sweeps)
    rep.absent = absent = [p for p in all_panels if p not in {panel for panel, _, _ in rep.panels}]
    if absent and not rep.error:
        rep.missing_command = sweep_command(name, scale_name, absent, all_panels, out)
    rep.commands = {v.claim: sweep_command(name, scale_name, v.missing, all_panels, out) for v in rep.verdicts if v.not_measured}
    captions = figure_captions(study)
    order = list(captions)
    fig_dir = path / "figures"
    files = sorted(fig_dir.glob("*.png"), key=lambda p: (next((i for i, pat in enumerate(order) if fnmatch.fnmatch(p.name, pat)),
                                                             len(order)), p.name)) if fig_dir.is_dir() else []
    for f in files:
        try:
            data = f.read_bytes()
            size = png_size(data)
        except (OSError, ValueError) as exc:
            rep.notes.append(f"figure {f.name} not embedded: {getattr(exc, 'strerror', None) or exc}")
            continue
        caption = captions.get(f.name) or next((c for pat, c in captions.items() if fnmatch.fnmatch(f.name, pat)), "")
        rep.figures.append((f.name, caption or f.stem.replace("_", " "), data, size))
    if not rep.figures and rep.panels:
        rep.figures_command = shlex.join(["rote", "figures", name, "--scale", scale_name] + (["--results", out] if out else []))
    return rep


PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rote report: $scale scale</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; max-width: 1280px; margin: 0 auto; padding: 1em 1.5em 3em; }
h1 { font-size: 1.6em; margin: .3em 0; } h2 { font-size: 1.3em; margin: .2em 0 .4em; } h3 { font-size: 1.05em; margin: 1.2em 0 .3em; }
table { border-collapse: collapse; width: 100%; margin: .4em 0 1em; }
th, td { border: 1px solid #d0d4da; padding: .3em .5em; vertical-align: top; text-align: left; }
th { background: #eef1f5; } td.num { text-align: right; white-space: nowrap; } table.summary td:first-child { white-space: nowrap; }
.meta { color: #555; } code { font: 12px ui-monospace, Menlo, Consolas, monospace; background: #f2f3f5; padding: 0 .25em; }
.badge { display: inline-block; padding: .05em .45em; border-radius: 3px; font-weight: 600; font-size: .85em; white-space: nowrap; }
.badge.pass { background: #d8f0dc; color: #14532d; } .badge.fail { background: #c62828; color: #fff; }
.badge.not-reproduced { background: #fff0bf; color: #6b4400; } .badge.not-measured { background: #e4e4e4; color: #444; }
tr.fail td { background: #fdecec; } tr.fail td:first-child { box-shadow: inset 5px 0 #c62828; }
tr.not-measured td { color: #666; } td.count.fail { background: #c62828; color: #fff; font-weight: 700; }
td.count.zero { color: #aaa; } .why { display: block; font-size: .9em; color: #6b4400; margin-top: .2em; }
section.study { border-top: 3px solid #8a94a6; margin-top: 2.2em; padding-top: .6em; }
.paper { margin: .2em 0 .6em; } .error { background: #fdecec; border: 1px solid #c62828; padding: .5em .7em; }
.note { background: #f4f6fa; border-left: 4px solid #8a94a6; padding: .3em .7em; margin: .4em 0; }
figure { margin: 1em 0 1.6em; } figure img { max-width: 100%; height: auto; border: 1px solid #e2e4e8; }
figcaption { font-size: .92em; color: #333; margin-top: .3em; }
dl.prov { display: grid; grid-template-columns: max-content 1fr; gap: .1em 1em; margin: .3em 0 .6em; }
dl.prov dt { color: #555; } dl.prov dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
</style>
</head>
<body>
<header>
<h1>rote: reproduction report, $scale scale</h1>
<p class="meta">$meta</p>
<p class="meta">Built only from saved results, figures and their provenance; each claim is evaluated on the saved results as
<code>rote verify</code> does (it never sweeps). <span class="badge pass">PASS</span> within its stated tolerance;
<span class="badge fail">FAIL</span> outside it; <span class="badge not-reproduced">NOT REPRODUCED</span> outside it, as declared
beforehand from the pilots (the reason beside it); <span class="badge not-measured">NOT MEASURED</span> no results on disk (the
command that makes them beside it).</p>
</header>
<section id="summary">
<h2>Summary</h2>
$summary
</section>
$sections
</body>
</html>
""")


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _verdict_class(v) -> str:
    return "not-measured" if v.not_measured else "pass" if v.passed else "not-reproduced" if v.not_reproduced else "fail"


def _arxiv_links(ids) -> str:
    return ", ".join(f'<a href="https://arxiv.org/abs/{_e(i)}">arXiv {_e(i)}</a>' for i in ids)


def _seconds(value) -> str:
    if value is None:
        return "-"
    m, s = divmod(float(value), 60)
    return f"{int(m)} min {s:.0f} s" if m else f"{s:.1f} s"


def render_summary(reports) -> str:
    rows = []
    for r in reports:
        c = r.counts()
        cells = "".join(f'<td class="num count{" fail" if k == "failed" and n else " zero" if not n else ""}">{n}</td>' for k, n in c.items())
        status = '<span class="badge fail">error</span> ' if r.error else ""
        rows.append(f'<tr class="study-row" data-study="{_e(r.name)}"><td>{status}<a href="#study-{_e(r.name)}">{_e(r.name)}</a></td>'
                    f"<td>{_e(r.title)}<br>{_arxiv_links(r.arxiv) or '-'}</td><td class=\"num\">{len(r.verdicts)}</td>{cells}"
                    f'<td class="num">{_seconds(r.wall_s())}</td></tr>')
    total = {k: sum(r.counts()[k] for r in reports) for k in ("passed", "failed", "not reproduced", "not measured")}
    foot = "".join(f'<td class="num count{" fail" if k == "failed" and n else ""}">{n}</td>' for k, n in total.items())
    walls = [w for r in reports if (w := r.wall_s()) is not None]
    head = "".join(f"<th>{h}</th>" for h in ("study", "paper", "claims", "passed", "failed", "not reproduced", "not measured", "sweep wall time"))
    return (f'<table class="summary"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
            f'<tfoot><tr><th colspan="2">all studies</th><td class="num">{sum(len(r.verdicts) for r in reports)}</td>{foot}'
            f'<td class="num">{_seconds(sum(walls) if walls else None)}</td></tr></tfoot></table>')


def render_claims(r: StudyReport) -> str:
    from .verify import _result

    rows = []
    for v in r.verdicts:
        kind = _verdict_class(v)
        measured = v.measured
        if v.not_reproduced and measured.endswith(f" [not reproduced: {v.not_reproduced}]"):
            measured = measured[: -len(f" [not reproduced: {v.not_reproduced}]")]
        extra = (f'<span class="why">declared: {_e(v.not_reproduced)}</span>' if v.not_reproduced else
                 f'<span class="why"><code>{_e(r.commands[v.claim])}</code></span>' if v.claim in r.commands else "")
        rows.append(f'<tr class="claim {kind}" data-claim="{_e(v.claim)}"><td>{_e(v.claim)}</td><td>{_e(v.prediction)}</td>'
                    f'<td>{_e(v.tolerance)}</td><td>{_e(measured)}</td><td><span class="badge {kind}">{_e(_result(v))}</span>{extra}</td></tr>')
    head = "".join(f"<th>{h}</th>" for h in ("claim", "prediction", "tolerance", "measured", "verdict"))
    return f'<table class="claims"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>' if rows else "<p>No claims.</p>"


def render_figures(r: StudyReport) -> str:
    parts = []
    for name, caption, data, (w, h) in r.figures:
        src = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        parts.append(f'<figure data-figure="{_e(name)}"><img src="{src}" width="{w}" height="{h}" alt="{_e(name)}: {_e(caption)}">'
                     f"<figcaption><b>{_e(name)}</b>: {_e(caption)}</figcaption></figure>")
    if r.figures_command:
        parts.append(f'<p class="note">No figures saved; make them with <code>{_e(r.figures_command)}</code>.</p>')
    elif not parts:
        parts.append('<p class="note">No figures: they are made from the results, which are not on disk.</p>')
    return "".join(parts)


def render_provenance(r: StudyReport) -> str:
    if not r.panels:
        return '<p class="note">No results on disk, so no provenance.</p>'
    attrs = [a for _, a, _ in r.panels]
    common = [(k, label) for k, label in PROVENANCE if len({str(a.get(k, "-")) for a in attrs}) == 1]
    varying = [(k, label) for k, label in PROVENANCE if (k, label) not in common]
    dl = "".join(f"<dt>{_e(label)}</dt><dd>{_e(attrs[0].get(k, '-'))}</dd>" for k, label in common)
    head = "".join(f"<th>{_e(h)}</th>" for h in ["panel", "configs", "created", "wall time", "compute time", *(lab for _, lab in varying),
                                                  "configuration"])
    rows = []
    for panel, a, stale in r.panels:
        cells = [panel or "(single grid)", a.get("n_configs", "-"), a.get("created", "-")]
        row = "".join(f"<td>{_e(x)}</td>" for x in cells) + f'<td class="num">{_seconds(a.get("wall_time_s"))}</td>'
        row += f'<td class="num">{_seconds(a.get("compute_time_s"))}</td>' + "".join(f"<td>{_e(a.get(k, '-'))}</td>" for k, _ in varying)
        row += f"<td>{'the current ' + _e(r.scale) + ' scale' if not stale else 'differs from the current scale: ' + _e(stale)}</td>"
        rows.append(f"<tr>{row}</tr>")
    return (f'<dl class="prov"><dt>scale</dt><dd>{_e(r.scale)}</dd><dt>results</dt><dd>{_e(r.results)}</dd>{dl}</dl>'
            f'<table class="provenance"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def render_study(r: StudyReport) -> str:
    c = r.counts()
    counts = ", ".join(f"{n} {k}" for k, n in c.items() if n or k in ("passed", "failed"))
    parts = [f'<section class="study" id="study-{_e(r.name)}" data-study="{_e(r.name)}">',
             f"<h2>{_e(r.name)}</h2>", f"<p>{_e(r.title)}</p>" if r.title else "",
             f'<p class="paper"><b>Paper:</b> {_e(r.paper or "not recorded")}' + (f" ({_arxiv_links(r.arxiv)})" if r.arxiv else "") + "</p>"]
    if r.error:
        parts.append(f'<p class="error"><b>Error:</b> {_e(r.error)}</p>')
    if r.missing_command:
        which = "any panel" if len(r.absent) == len(r.all_panels) else "panel " + ", ".join(r.absent)
        which = "results" if r.absent == [""] else f"results for {which}"
        parts.append(f'<p class="note">No {_e(which)} in <code>{_e(r.results)}</code>; make them with <code>{_e(r.missing_command)}</code>.</p>')
    parts += [f"<h3>Claims ({_e(counts)})</h3>", render_claims(r)]
    parts += [f'<p class="note">{_e(n)}</p>' for n in r.notes]
    parts += [f"<h3>Figures ({len(r.figures)})</h3>", render_figures(r), "<h3>Provenance</h3>", render_provenance(r), "</section>"]
    return "\n".join(p for p in parts if p)


def render(reports, scale_name: str, root) -> str:
    from .provenance import package_version

    meta = (f"Generated {time.strftime('%Y-%m-%d %H:%M:%S %Z')} by rote {package_version()} from "
            f"<code>{_e(root)}</code>; {len(reports)} studies.")
    return PAGE.substitute(scale=_e(scale_name), meta=meta, summary=render_summary(reports),
                           sections="\n".join(render_study(r) for r in reports))


def default_path(scale_name: str, root: str | None = None, names=None) -> Path:
    """Where ``rote report`` writes by default: RESULTS_ROOT/report-SCALE.html (RESULTS_ROOT: ``root``,
    else $ROTE_RESULTS, else ``results``); for a subset of the studies ``names``,
    report-SCALE-STUDY[-STUDY...].html, so that a one-study run never overwrites the whole page."""
    from . import studies
    from .results import results_root

    subset = sorted(names) if names and sorted(names) != studies.names() else []
    return results_root(root) / ("-".join([f"report-{scale_name}", *subset]) + ".html")


def write_report(scale_name: str, root: str | None = None, out: str | None = None, names=None, verdicts=None, log=print) -> Path:
    """Build the page for the studies ``names`` (default: every registered study) at one scale and write
    it atomically to ``out`` (default: ``default_path``); returns its path. ``verdicts``: {study: the
    verdicts already evaluated} (``rote reproduce``), the others are evaluated on the saved results."""
    from . import studies
    from .atomic import atomic_write, write_error
    from .results import results_root

    chosen = list(names) if names else studies.names()
    known = [studies.get(n) for n in chosen]  # an unknown name is an error before any work
    if not any(scale_name in s.scales for s in known):
        raise RoteError(f"no study has a scale {scale_name!r}; scales: {', '.join(sorted({n for s in known for n in s.scales}))}")
    target = Path(out) if out is not None else default_path(scale_name, root, chosen)
    reports = []
    for n in chosen:
        reports.append(r := collect(n, scale_name, root, (verdicts or {}).get(n)))
        c = r.counts()
        log(f"rote: report: {n}: " + ", ".join(f"{k} {v}" for k, v in c.items()) + (f"; error: {r.error}" if r.error else ""))
    page = render(reports, scale_name, results_root(root)).encode("utf-8")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(target, exc) from None
    atomic_write(target, page)
    log(f"rote: wrote report {target} ({len(page) / 1024:.0f} KiB, {sum(len(r.figures) for r in reports)} figures, "
        f"{sum(len(r.verdicts) for r in reports)} claims)")
    return target

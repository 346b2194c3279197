"""`rote report`: one self-contained HTML page built from saved results only. On the toy study
(tests/engine/toy_study.py) swept at a smoke-sized scale into a tmp dir, registered as two studies: 'toy'
(two of its three panels on disk, two saved figures; a passing, a failing, a declared-not-reproduced and a
not-measured claim) and 'toy-empty' (no results). The page must parse with no unclosed tag, embed every
saved figure byte for byte, show every study section and claim row (also in headless Chromium's DOM, where
installed), make failed claims stand out and name the command for what is not measured."""

from __future__ import annotations

import base64
import dataclasses
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from engine.support import snapshot
from engine.toy_study import STUDY, TOY
from matplotlib.figure import Figure

from rote.figures._common import save
from rote.sims import cli, report, studies
from rote.sims.errors import RoteError
from rote.sims.study import Claim, Scale

PANELS = {"slow": (dataclasses.replace(TOY, lr=0.05), {"seed": (0, 1)}), "fast": (dataclasses.replace(TOY, lr=0.2), {"seed": (0, 1)}),
          "missing": (dataclasses.replace(TOY, lr=0.1), {"seed": (0,)})}
SCALES = {"smoke": lambda: Scale("smoke", TOY, {}, "three panels", panels=PANELS)}


def falls(ds):
    first, last = float(ds["loss"].isel(step=0).mean()), float(ds["final_loss"].mean())
    return f"loss {first:.3g} -> {last:.3g}", last < first


def toy_claims(scale):
    return [Claim("theory <holds> & more", "1 = 1", "exact", lambda ev: ("1 = 1", True)),
            Claim("slow loss falls", "final < initial", "strict", lambda ev: falls(ev["slow"])),
            Claim("fast loss rises", "final > initial", "strict", lambda ev: (falls(ev["fast"])[0], not falls(ev["fast"])[1])),
            Claim("slow loss rises", "final > initial", "strict", lambda ev: (falls(ev["slow"])[0], not falls(ev["slow"])[1]),
                  not_reproduced="the toy's loss always falls (pilots)"),
            Claim("missing loss falls", "final < initial", "strict", lambda ev: falls(ev["missing"]))]


TOYS = {"toy": dataclasses.replace(STUDY, scales=SCALES, claims=toy_claims, paper='Nobody, "A toy" (arXiv 2401.00001)'),
        "toy-empty": dataclasses.replace(STUDY, name="toy-empty", scales=SCALES, claims=toy_claims)}
CLAIMS = [c.name for c in toy_claims(None)]


def get(name: str):
    if name not in TOYS:
        raise RoteError(f"unknown study {name!r}")
    return TOYS[name]


@pytest.fixture(scope="module")
def registry():
    """The registry holds only the two toy studies while these tests run."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(studies, "STUDIES", tuple(TOYS))
        m.setattr(studies, "get", get)
        yield


@pytest.fixture(scope="module")
def saved(registry, tmp_path_factory):
    """A results root with toy's 'slow' and 'fast' panels and two figures; nothing for 'toy-empty'."""
    root = tmp_path_factory.mktemp("results")
    assert cli.main(["sweep", "toy", "--scale", "smoke", "--panel", "slow,fast", "--out", str(root / "toy" / "smoke"), "--no-progress"]) == 0
    for name, title in (("loss_curves.png", "toy loss"), ("final.png", "final parameters")):
        fig = Figure(figsize=(3, 2))
        fig.subplots().plot([0, 1], [1, 0])
        fig.suptitle(title)
        (root / "toy" / "smoke" / "figures").mkdir(parents=True, exist_ok=True)
        save(fig, root / "toy" / "smoke" / "figures" / name)
    return root


@pytest.fixture(scope="module")
def page(saved, tmp_path_factory):
    """(the report's path, its text, the results' bytes before it was written)."""
    before = snapshot(saved)
    out = tmp_path_factory.mktemp("page") / "report.html"
    assert cli.main(["report", "--scale", "smoke", "--results", str(saved), "--out", str(out)]) == 0
    assert snapshot(saved) == before  # only reads
    return out, out.read_text(encoding="utf-8")


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    """Checks that every element is closed in order, and collects study sections, claim rows and images."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.sections, self.rows, self.images, self.summary = [], [], [], [], [], []
        self.feed(text)
        self.close()
        self.errors += [f"unclosed <{tag}>" for tag in self.stack]

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "study" in (a.get("class") or "").split():
            self.sections.append(a.get("data-study"))
        if tag == "tr" and "claim" in (a.get("class") or "").split():
            self.rows.append((self.sections[-1] if self.sections else None, a.get("data-claim"), a.get("class")))
        if tag == "tr" and "study-row" in (a.get("class") or "").split():
            self.summary.append(a.get("data-study"))
        if tag == "img":
            self.images.append(a)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
        else:
            self.stack.pop()


def test_the_tag_checker_can_fail():
    assert Page("<html><body><p>x</body></html>").errors
    assert Page("<div><table><tr><td>x</td></tr></div>").errors
    assert not Page("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body><p>x<br>y</p><img src=''></body></html>").errors


def test_the_page_is_valid_html_with_every_study_and_every_claim(page):
    _, text = page
    parsed = Page(text)
    assert not parsed.errors, parsed.errors[:5]
    assert text.startswith("<!DOCTYPE html>") and "<script" not in text.lower()
    assert parsed.sections == parsed.summary == list(TOYS)
    for study in TOYS:
        assert [claim for s, claim, _ in parsed.rows if s == study] == CLAIMS
    assert "theory &lt;holds&gt; &amp; more" in text  # escaped, not markup


def test_verdicts_stand_out_and_what_is_missing_names_its_command(page, saved):
    _, text = page
    rows = {(s, c): cls.split()[1] for s, c, cls in Page(text).rows}
    assert [rows["toy", c] for c in CLAIMS] == ["pass", "pass", "fail", "not-reproduced", "not-measured"]
    assert [rows["toy-empty", c] for c in CLAIMS] == ["pass", "not-measured", "not-measured", "not-measured", "not-measured"]
    assert 'class="badge fail">FAIL<' in text and "tr.fail td" in text  # the failed row is styled apart
    assert 'class="num count fail">1</td>' in text  # toy's failed count in the summary
    assert "declared: the toy&#x27;s loss always falls (pilots)" in text
    assert f"rote sweep toy --scale smoke --panel missing --out {saved / 'toy' / 'smoke'}" in text
    assert f"rote sweep toy-empty --scale smoke --out {saved / 'toy-empty' / 'smoke'}" in text
    assert '<a href="https://arxiv.org/abs/2401.00001">arXiv 2401.00001</a>' in text


def test_every_saved_figure_is_embedded_byte_for_byte_with_a_caption(page, saved):
    _, text = page
    images = Page(text).images
    figures = sorted((saved / "toy" / "smoke" / "figures").glob("*.png"))
    assert len(images) == len(figures) == 2
    embedded = {}
    for img in images:
        prefix = "data:image/png;base64,"
        assert img["src"].startswith(prefix), img["src"][:40]  # nothing fetched: no file or network reference
        embedded[img["alt"].split(":")[0]] = base64.b64decode(img["src"][len(prefix):])
    assert embedded == {f.name: f.read_bytes() for f in figures}
    assert "<figcaption><b>loss_curves.png</b>: loss curves</figcaption>" in text


def test_provenance_per_study_from_the_results_files(page):
    import jax

    _, text = page
    toy = text.split('id="study-toy"')[1].split("</section>")[0]
    assert f"<dt>JAX</dt><dd>{jax.__version__}</dd>" in toy and "<dt>package</dt>" in toy and "<dt>device</dt>" in toy
    assert toy.count("the current smoke scale") == 2  # both panels on disk, neither stale
    empty = text.split('id="study-toy-empty"')[1].split("</section>")[0]
    assert "No results on disk, so no provenance." in empty


def test_captions_and_papers_of_the_real_studies_come_from_their_docstrings():
    """Read from the sources of sims/studies/mha_capacity and figures/mha_capacity (a stand-in Study of that
    name: nothing is imported); grokking's docstring names its figures inside module lines."""
    mha = dataclasses.replace(STUDY, name="mha-capacity")
    captions = report.figure_captions(mha)
    assert captions["capacity.png"].startswith("capacity vs H, n and d_h") and "(capacity.py)" in captions["capacity.png"]
    assert captions["assumptions.png"].startswith("Assumptions 1-2 vs General Position")
    title, paper, arxiv = report.paper_of(mha)
    assert title.startswith("how many examples") and "Mahdavi" in paper and "Parameters" not in paper and arxiv == ("2306.02010",)
    assert report.paper_of(dataclasses.replace(mha, paper="X (arXiv 1234.56789)"))[1:] == ("X (arXiv 1234.56789)", ("1234.56789",))
    grokking = report.figure_captions(dataclasses.replace(STUDY, name="grokking"))
    assert grokking["phase_diagrams.png"] == "Fig. 3" and grokking["architecture_*.png"].startswith("transformer")
    assert report.figure_captions(dataclasses.replace(STUDY, name="no-such-study")) == {} and report.paper_of(
        dataclasses.replace(STUDY, name="no-such-study")) == ("", "", ())


def test_reproduce_ends_by_writing_the_report(registry, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROTE_RESULTS", str(tmp_path))
    monkeypatch.setattr(cli, "do_figures", lambda *a, **k: [])  # the toy study has no figures module
    assert cli.main(["reproduce", "--scale", "smoke", "--study", "toy", "--no-progress"]) == cli.EXIT_CLAIM_FAILED  # 'fast loss rises'
    out = capsys.readouterr().out
    path = tmp_path / "report-smoke-toy.html"  # a subset of the studies: its own page, the whole one is left alone
    assert f"== report: {path}" in out and path.exists() and not (tmp_path / "report-smoke.html").exists()
    parsed = Page(path.read_text())
    assert not parsed.errors and parsed.sections == ["toy"]  # the studies it reproduced, with the verdicts it printed
    assert [cls.split()[1] for _, _, cls in parsed.rows] == ["pass", "pass", "fail", "not-reproduced", "pass"]


@pytest.mark.parametrize("argv, words", [(["--study", "nosuch"], "unknown study"), (["--scale", "paper"], "no study has a scale"),
                                         (["--out", ""], "--out is empty")])
def test_bad_input_is_one_line_and_exit_2(registry, argv, words, capsys):
    try:
        rc = cli.main(["report", *argv])
    except SystemExit as exc:  # argparse's own refusals
        rc = exc.code
    assert rc == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and words in err, err


def test_an_unwritable_destination_is_one_line_and_exit_2(saved, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert cli.main(["report", "--scale", "smoke", "--results", str(saved), "--out", str(blocker / "report.html")]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot write" in err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (Debian package `chromium`)")
def test_headless_chromium_shows_every_study_section_and_claim_row(page, tmp_path):
    path, _ = page
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path}",
                           "--dump-dom", Path(path).resolve().as_uri()], capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = Page(proc.stdout)
    assert dom.sections == list(TOYS), proc.stdout[:500]
    for study in TOYS:
        assert [claim for s, claim, _ in dom.rows if s == study] == CLAIMS
    assert len(dom.images) == 2 and all(img["src"].startswith("data:image/png;base64,") for img in dom.images)


def test_help_names_every_option_and_its_default(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["report", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert exc.value.code == 0
    for words in ("(default: quick)", "(default: $ROTE_RESULTS or results)", "(default: RESULTS_ROOT/report-SCALE.html)", "--study"):
        assert words in text, text


def test_damaged_results_are_shown_as_an_error_and_the_page_is_still_written(saved, tmp_path, capsys):
    root = tmp_path / "results"
    shutil.copytree(saved, root)
    damaged = root / "toy" / "smoke" / "slow" / "results.nc"
    damaged.write_bytes(damaged.read_bytes()[:200])
    out = tmp_path / "report.html"
    assert cli.main(["report", "--scale", "smoke", "--results", str(root), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "rote: warning: report: toy: cannot read results file" in err and "Traceback" not in err
    parsed = Page(out.read_text())
    assert not parsed.errors and parsed.sections == list(TOYS)
    toy = out.read_text().split('id="study-toy"')[1].split("</section>")[0]
    assert '<p class="error"><b>Error:</b> cannot read results file' in toy and "(damaged?)" in toy
    assert [c for s, c, _ in parsed.rows if s == "toy-empty"] == CLAIMS  # the other studies are unaffected

"""The shape every study shares: parameters, a pure run, scales, claims, figures.

A study knows nothing about chunking, devices or storage; the engine (``sims.engine``) knows
nothing about any study. Adding a paper means adding one subpackage ``sims/studies/<study>/`` whose
``__init__`` wires ``STUDY = Study(...)``, its figures module ``figures/<study>`` (found by name) and
its name in ``sims.studies.STUDIES`` (README, "Adding a study").
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import xarray as xr

from .errors import RoteError


@dataclass(frozen=True)
class Scale:
    """A named size of a study: base parameters plus the grid axes swept around them.

    grid: axis name (a field of the study's params) -> values. Axis order is the Dataset's dim order.
    panels: for studies whose trends need several grids that are not one product (heads, context
        length, head dimension, ...): panel name -> (base, grid). Each panel is swept into its own
        subdirectory RESULTS/PANEL, and claims and figures then receive {panel: Dataset}.
    cells: the study's named cells and sizes that claims and figures read at this scale (any object
        the study defines), so no size or cell is typed twice.
    """

    name: str
    base: Any
    grid: Mapping[str, Sequence]
    description: str = ""
    panels: Mapping[str, tuple[Any, Mapping[str, Sequence]]] = field(default_factory=dict)
    cells: Any = None

    def sweeps(self) -> dict[str, tuple[Any, Mapping[str, Sequence]]]:
        """{subdirectory: (base, grid)}; the single grid of a panel-less scale has subdirectory ''."""
        return dict(self.panels) if self.panels else {"": (self.base, self.grid)}


@dataclass(frozen=True)
class Verdict:
    """One claim's outcome. ``missing``: the panels without results that the claim looked up ('' for a
    single-grid scale); non-empty means the claim was not measured (and ``passed`` is False).
    ``not_reproduced``: set when a claim declared not reproduced at this scale failed as declared (the
    reason); such a verdict is reported, and does not fail ``rote verify``."""

    claim: str
    prediction: str
    tolerance: str
    measured: str
    passed: bool
    missing: tuple[str, ...] = ()
    not_reproduced: str = ""

    @property
    def failed(self) -> bool:
        """A measured claim that neither passed nor was declared not reproduced."""
        return not self.passed and not self.missing and not self.not_reproduced

    @property
    def not_measured(self) -> bool:
        return bool(self.missing)


class MissingPanel(KeyError):
    """A claim looked up a panel of its scale whose results are not on disk."""

    def __init__(self, panel: str):
        super().__init__(f"no '{panel}' panel in the results" if panel else "no results")
        self.panel = panel


class Evidence(dict):
    """{panel: Dataset} of the panels whose results are on disk, as the claims read it.

    ``missing``: the scale's panels without results (``("",)``: a single-grid scale without results,
    when every lookup, item or attribute, counts as asking for that grid). ``asked``: the missing panels
    looked up so far (``in``, ``[]``, ``get``); ``view()`` gives a copy with none asked, one per claim.
    Looking a missing panel up with ``[]`` raises ``MissingPanel`` (a KeyError).
    """

    def __init__(self, present=(), missing=()):
        super().__init__(present)
        self.missing = tuple(missing)
        self.asked: list[str] = []

    def view(self) -> "Evidence":
        return Evidence(self, self.missing)

    def _ask(self, key) -> str | None:
        """The missing panel that looking up ``key`` asks for, recorded; None if it asks for none."""
        panel = "" if self.missing == ("",) else key if key in self.missing else None
        if panel is not None and panel not in self.asked:
            self.asked.append(panel)
        return panel

    def __getitem__(self, key):
        if not super().__contains__(key) and (panel := self._ask(key)) is not None:
            raise MissingPanel(panel)
        return super().__getitem__(key)

    def __contains__(self, key) -> bool:
        self._ask(key)
        return super().__contains__(key)

    def get(self, key, default=None):
        self._ask(key)
        return super().get(key, default)

    def __getattr__(self, name):  # a claim using a missing single grid as a Dataset (``ds.sel``, ``ds.attrs``)
        if name.startswith("__") or name in ("missing", "asked") or self.missing != ("",):
            raise AttributeError(name)
        self._ask(name)
        raise MissingPanel("")


@dataclass(frozen=True)
class Claim:
    """A falsifiable "prediction vs measurement" check.

    check(evidence) -> (measured: str, passed: bool). ``evidence`` is whatever the study's claims
    need (for the sweep-based ones, the merged results Dataset). The tolerance is stated here, next to
    the prediction, and is what ``check`` applies. ``not_reproduced``: where pilots showed that the toy
    at this scale does not reproduce the prediction, the reason in a sentence; the claim is still
    evaluated with its tolerance and reported NOT REPRODUCED if it fails (PASS if it passes), never
    loosened to pass.
    """

    name: str
    prediction: str
    tolerance: str
    check: Callable[[Any], tuple[str, bool]]
    not_reproduced: str = ""

    def __call__(self, evidence) -> Verdict:
        """The verdict on ``evidence``. With ``Evidence`` that lacks some panels, a claim that looked one
        of them up is not measured, whatever it computed from the rest (``Verdict.missing``)."""
        if isinstance(evidence, Evidence):
            evidence = evidence.view()
        asked = evidence.asked if isinstance(evidence, Evidence) else []
        try:
            measured, passed = self.check(evidence)
        except Exception as exc:
            if not asked and not isinstance(exc, (KeyError, IndexError, ValueError)):
                raise
            measured, passed = f"not measurable: {type(exc).__name__}: {exc}", False  # missing cells/variables: the claim fails
        if asked:
            where = "no results" if asked == [""] else "no results for panel " + ", ".join(asked)
            return Verdict(self.name, self.prediction, self.tolerance, f"not measured: {where}", False, tuple(asked))
        gap = self.not_reproduced if not passed else ""
        return Verdict(self.name, self.prediction, self.tolerance, measured + (f" [not reproduced: {gap}]" if gap else ""), bool(passed), (), gap)


@dataclass(frozen=True)
class Study:
    """One paper's phenomenon.

    run(params, key) -> dict of arrays: pure, jit- and vmap-able; ``key`` is derived by the engine
        from ``params.seed`` alone, so a config gives the same numbers alone or inside any chunk.
    metric_dims: metric name -> names of its dims beyond the config (e.g. ("step",), ("neuron",)).
    coords(params) -> {dim: coordinate values} for those dims (static params only).
    divergence_metrics: metrics whose non-finite value means the run diverged (default: every float
        metric). Metrics that are NaN by definition (an empty subset's accuracy) must be left out.
    summarize(ds) -> ds with derived variables (phase labels, ...), computed on the host after merging.
    bytes_per_config(params) -> rough device memory of one config, used to size chunks.
    claims(scale) -> list of Claim for that ``Scale`` (claims read sizes and cells from it).
    paper: the paper(s) the study rebuilds, with their arXiv ids, as ``rote report`` shows them (default
        '': the paragraph of the study module's docstring that cites them, the template's layout).
    Figures live in ``rote.figures.<module>`` (the study name with '-' -> '_'), whose
    ``make_all(evidence, out_dir) -> list of written paths`` the registry finds by name.
    """

    name: str
    params_type: type
    run: Callable
    scales: Mapping[str, Callable[[], Scale]]
    metric_dims: Mapping[str, tuple[str, ...]]
    coords: Callable[[Any], dict[str, np.ndarray]]
    divergence_metrics: tuple[str, ...] | None = None
    summarize: Callable[[xr.Dataset], xr.Dataset] = lambda ds: ds
    bytes_per_config: Callable[[Any], int] = lambda params: 1 << 20
    flops_per_config: Callable[[Any], float] | None = None
    claims: Callable[[Scale], list[Claim]] = lambda scale: []
    paper: str = ""

    def scale(self, name: str) -> Scale:
        if name not in self.scales:
            raise RoteError(f"unknown scale {name!r} for study {self.name!r}; choose from {', '.join(self.scales)}")
        return self.scales[name]()

    @property
    def module_name(self) -> str:
        """The study's module name under sims/studies/, figures/, tests/ and paper_notebooks/."""
        return self.name.replace("-", "_")

    def make_figures(self, evidence, out_dir: Path) -> list[Path]:
        """Every figure of the study from its saved results, by ``rote.figures.<module>.make_all``."""
        module = importlib.import_module(f"rote.figures.{self.module_name}")
        return module.make_all(evidence, out_dir)


def split_seeds(seeds, pilot_seeds) -> tuple[list, list]:
    """(the seeds the pilots used, the others), each in the order of ``seeds``."""
    seeds, pilots = list(seeds), set(pilot_seeds)
    return [s for s in seeds if s in pilots], [s for s in seeds if s not in pilots]


def seed_subsets(ds: xr.Dataset, pilot_seeds) -> dict[str, xr.Dataset]:
    """{'pilot seeds [...]': ds, 'other seeds [...]': ds} along the 'seed' dim (one entry if either is
    empty; {'all': ds} without a seed dim), so a claim whose threshold was fixed on pilot seeds reports
    and checks the seeds the pilots did not use."""
    if "seed" not in ds.dims:
        return {"all": ds}
    pilot, other = split_seeds(ds["seed"].values.tolist(), pilot_seeds)
    out = {f"pilot seeds {pilot}": ds.sel(seed=pilot)} if pilot else {}
    if other:
        out[f"other seeds {other}"] = ds.sel(seed=other)
    return out


def param_value(ds: xr.Dataset, name: str):
    """A parameter of the sweep: its axis coordinate if swept, else the base value from the config attribute."""
    if name in ds.coords:
        return ds[name]
    if "config" not in ds.attrs:
        raise ValueError(f"dataset has neither a {name!r} coordinate nor the sweep's config attribute")
    return json.loads(ds.attrs["config"])["base"][name]

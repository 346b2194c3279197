"""rote: memorization phenomena rebuilt as small JAX models (``rote.theory``, ``rote.sims``, ``rote.figures``).

This folder holds only the distribution's top package: its version here and ``python -m rote``
(``__main__``). The subpackages live in the top-level folders theory/, sims/ and figures/, which setup.py
maps to ``rote.theory``, ``rote.sims`` and ``rote.figures`` (README, "Import names").
"""

from .sims.provenance import package_version as _package_version

__version__ = _package_version()

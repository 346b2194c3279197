"""Package discovery only (everything else is in pyproject.toml).

The design card keeps theory/, sims/, figures/ at the top level; installed bare they would collide
with other distributions' top-level ``theory``/``sims``/``figures``, so each is installed under one
namespace (``rote.theory``, ``rote.sims``, ``rote.figures``) with every subpackage found here, so a
new study's subpackage is in the wheel without editing a list. The top package ``rote`` itself (its
version and ``python -m rote``) is the small folder rote/.
"""

from setuptools import find_packages, setup

TOPS = ("theory", "sims", "figures")

setup(
    packages=["rote", *(f"rote.{name}" for name in find_packages(include=[f"{top}*" for top in TOPS]))],
    package_dir={"rote": "rote", **{f"rote.{top}": top for top in TOPS}},
)

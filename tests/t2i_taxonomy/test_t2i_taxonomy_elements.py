"""The element patterns and their analytic detectors (rote.sims.elements), the data layout and the ME / MI / MU labelling."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rote.sims import elements as el
from rote.sims import images as im
from rote.sims.studies.t2i_taxonomy.analysis import label_events
from rote.sims.studies.t2i_taxonomy.data import layout
from rote.sims.studies.t2i_taxonomy.scales import smoke_scale

SMOKE = smoke_scale().base


def test_ncc_finds_a_pasted_glyph_and_not_another():
    key = jax.random.PRNGKey(0)
    glyphs = el.glyph_patterns(key, 4, 4)
    bg = im.render_generic(jax.random.PRNGKey(1), im.random_attributes(jax.random.PRNGKey(2), 6), 8)
    pasted = el.paste(bg, glyphs[0], 2, 3)
    s = np.asarray(el.ncc_scores(pasted, [glyphs[0], glyphs[1]]))
    np.testing.assert_allclose(s[:, 0], 1.0, atol=1e-5)  # the pasted glyph is found exactly wherever it sits
    assert np.all(s[:, 1] < 0.99)  # another glyph is not
    # brute force agrees with the patch extraction (channel order, positions)
    x = np.asarray(pasted[0])
    v = np.asarray(glyphs[1]).ravel()
    v = v - v.mean()
    best = max(float((u - u.mean()) @ v / np.linalg.norm(u - u.mean()) / np.linalg.norm(v))
               for a in range(5) for b in range(5) for u in [x[a:a + 4, b:b + 4].ravel()] if np.linalg.norm(u - u.mean()) > 0)
    assert abs(best - s[0, 1]) < 1e-5


def test_calibrated_threshold_fires_on_at_most_one_percent():
    scores = jax.random.uniform(jax.random.PRNGKey(0), (1000, 3))
    tau = el.calibrated_threshold(scores, jnp.array([0.5, 0.995, 0.2]))
    fire = np.mean(np.asarray(scores) >= np.asarray(tau), 0)
    assert np.all(fire <= 0.011)
    assert float(tau[1]) == np.float32(0.995)  # the nominal threshold is kept where it is already stricter


def test_phi():
    a = np.array([1, 1, 0, 0, 1, 0])
    assert abs(el.phi(a, a) - 1.0) < 1e-12 and abs(el.phi(a, 1 - a) + 1.0) < 1e-12
    assert np.isnan(el.phi(a, np.ones(6)))  # a constant variable: undefined


def test_layout_counts():
    p = SMOKE
    lay = layout(p)
    assert lay.G == len(p.glyph_conditions) * p.glyphs_per_level and lay.E == lay.G + 3 + lay.K
    for g in range(lay.G):  # n_ctx distinct images per glyph, each with multiplicity d, each carrying the glyph
        rows = lay.images_of(1, g)
        assert len(rows) == lay.glyph_n[g] and np.all(lay.image_m[rows] == lay.glyph_d[g]) and lay.presence[rows, g].all()
    for j in range(lay.J):
        rows = lay.images_of(2, j)
        frac = lay.presence[rows, lay.G + lay.scene_feature[j]].mean()
        assert abs(frac - lay.scene_q[j]) <= 0.5 / p.scene_images
        if lay.scene_stamp[j] >= 0:
            assert lay.presence[rows, lay.G + 3 + lay.scene_stamp[j]].sum() == lay.stamp_s[lay.scene_stamp[j]]
    assert lay.presence[lay.image_kind == 0].sum() == 0  # generic shapes carry no element


def test_events_are_labelled_by_the_prompts_words():
    # one glyph prompt, one scene prompt; elements: glyph0, glyph1, feature, stamp; family 0, 0, 1, 2
    family = np.array([0, 0, 1, 2])
    exp = np.array([[True, False, False, False], [False, False, False, False]])
    assoc = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.95, 0.1]])
    det = np.array([[[1, 0, 0, 0], [1, 1, 0, 0]], [[0, 0, 1, 1], [0, 0, 1, 0]]], bool)  # (P=2, S=2, E)
    match = np.array([[False, True], [False, False]])
    ev = label_events(det, match, assoc, exp, family, rho=0.9)
    np.testing.assert_array_equal(ev["ME"], [[1, 1], [0, 0]])
    np.testing.assert_array_equal(ev["MI"], [[0, 0], [1, 1]])
    np.testing.assert_array_equal(ev["MU"], [[0, 2], [1, 0]])  # foreign glyph + image match; the stamp
    low = label_events(det, match, np.array([[1.0, 0, 0, 0], [0, 0, 0.5, 0.1]]), exp, family, rho=0.9)
    np.testing.assert_array_equal(low["MI"], [[0, 0], [0, 0]])  # a q = 0.5 feature is not implicit ...
    np.testing.assert_array_equal(low["MA"], [[0, 0], [1, 1]])  # ... it is tracked as over-association, not as MU
    np.testing.assert_array_equal(low["MU"], ev["MU"])

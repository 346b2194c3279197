"""The empirical IND-CPA game of the `selm` study: pluggable attackers on saved ciphertexts.

Stevens and Su (arXiv 2305.10445, Sec. 5.2): for a pair of messages (m1, m2), each encrypted under many
fresh keys, an attacker trains on labelled ciphertexts and guesses which message held-out ciphertexts
encrypt; it wins if the exact one-sided binomial test rejects chance (``rote.theory.selm``). Across the
attacker x pair cells the rejections are corrected with Holm's method. Attackers (scikit-learn, and a
one-hidden-layer flax MLP with dropout) see either the six summary features (L1, L2, max, min, mean, std)
or the raw vector; a plain L2-norm threshold is the paper's leak (Sec. 5.3, Fig. 3).

An attacker is any object with ``fit(X, y)`` and ``predict(X)`` (scikit-learn's protocol): add one to
``ATTACKERS`` (name -> factory) or pass ``attackers=`` to ``play`` to plug in a new one; the ciphertexts
come from saved results (``analysis.ciphertexts``), so nothing is re-encrypted.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ....theory.selm import binomial_pvalue, holm


def summary_features(theta) -> np.ndarray:
    """(n, d) ciphertexts -> (n, 6): L1 norm, L2 norm, max, min, mean, standard deviation."""
    t = np.asarray(theta, np.float64)
    return np.stack([np.abs(t).sum(1), np.sqrt((t**2).sum(1)), t.max(1), t.min(1), t.mean(1), t.std(1)], 1)


class NormThreshold:
    """The L2 leak: one threshold on the L2 norm (feature 1 of the summary), placed where the training
    accuracy is highest, on whichever side."""

    def fit(self, X, y):
        x, y = np.asarray(X)[:, 1], np.asarray(y)
        cands = np.sort(x)
        best = (-1.0, 0.0, 1)
        for t in cands:
            for sign in (1, -1):
                acc = np.mean(((sign * (x - t)) > 0) == (y == 1))
                if acc > best[0]:
                    best = (acc, t, sign)
        _, self.t, self.sign = best
        return self

    def predict(self, X):
        return ((self.sign * (np.asarray(X)[:, 1] - self.t)) > 0).astype(int)


def _mlp_module(hidden: int, rate: float):
    import flax.linen as nn

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x, train: bool):
            x = nn.relu(nn.Dense(hidden)(x))
            x = nn.Dropout(rate, deterministic=not train)(x)
            return nn.Dense(2)(x)

    return Net()


_MLP_FIT = {}


def _mlp_fit(hidden: int, rate: float, steps: int):
    """The jitted full-batch trainer for one (hidden, dropout, steps): compiled once per padded data shape."""
    key = (hidden, rate, steps)
    if key not in _MLP_FIT:
        import jax
        import jax.numpy as jnp
        import optax

        net = _mlp_module(hidden, rate)

        @jax.jit
        def fit(X, y, weight, lr, rng):
            k_init, k_drop = jax.random.split(rng)
            w0 = net.init(k_init, X[:1], False)
            opt = optax.adam(lr)

            def step(carry, i):
                w, st = carry

                def loss(w):
                    logits = net.apply(w, X, True, rngs={"dropout": jax.random.fold_in(k_drop, i)})
                    ce = optax.softmax_cross_entropy_with_integer_labels(logits, y)
                    return jnp.sum(ce * weight) / jnp.sum(weight)

                u, st = opt.update(jax.grad(loss)(w), st, w)
                return (optax.apply_updates(w, u), st), None

            (w, _), _ = jax.lax.scan(step, (w0, opt.init(w0)), jnp.arange(steps))
            return w

        _MLP_FIT[key] = (net, fit)
    return _MLP_FIT[key]


class FlaxMLP:
    """One hidden layer (``hidden`` ReLU units) with dropout, trained full-batch with Adam on
    standardised inputs for ``steps`` steps (the paper's FFNN attacker, Sec. 5.2). The training set is
    padded to a multiple of 64 rows (weight 0), so one compile serves every game of a shape."""

    def __init__(self, hidden: int = 64, dropout: float = 0.2, steps: int = 300, lr: float = 1e-2, seed: int = 0):
        self.hidden, self.dropout, self.steps, self.lr, self.seed = hidden, dropout, steps, lr, seed

    def fit(self, X, y):
        import jax

        X = np.asarray(X, np.float32)
        self.mu, self.sd = X.mean(0), X.std(0) + 1e-8
        n = len(X)
        n_pad = -(-n // 64) * 64
        Xp = np.zeros((n_pad, X.shape[1]), np.float32)
        Xp[:n] = (X - self.mu) / self.sd
        yp = np.zeros(n_pad, np.int32)
        yp[:n] = y
        weight = (np.arange(n_pad) < n).astype(np.float32)
        self.net, fit = _mlp_fit(self.hidden, self.dropout, self.steps)
        self.w = fit(Xp, yp, weight, np.float32(self.lr), jax.random.PRNGKey(self.seed))
        return self

    def predict(self, X):
        import jax.numpy as jnp

        Xs = jnp.asarray((np.asarray(X, np.float32) - self.mu) / self.sd)
        return np.asarray(jnp.argmax(self.net.apply(self.w, Xs, False), -1))


def _sk(make):
    def factory(n_train: int):
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), make(n_train))
    return factory


def _knn(n_train):
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KNeighborsClassifier

    ks = [k for k in (5, 25, 100) if k <= (n_train * 2) // 3]
    if not ks or n_train < 6:  # too few to grid-search: the nearest neighbour
        return KNeighborsClassifier(n_neighbors=1)
    return GridSearchCV(KNeighborsClassifier(), {"n_neighbors": ks}, cv=3)


def _lda(n_train):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    return LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")


def _logreg(n_train):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000)


def _gboost(n_train):
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(random_state=0)


ATTACKERS = {"knn": _sk(_knn), "lda": _sk(_lda), "logreg": _sk(_logreg), "gboost": _sk(_gboost), "mlp": lambda n: FlaxMLP()}
INPUTS = ("features", "raw")
NORM_ATTACKER = "l2_threshold"


def split(n: int, test_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) index arrays: the last round(test_fraction n) ciphertexts of a message are tested."""
    n_test = max(1, int(round(test_fraction * n)))
    return np.arange(n - n_test), np.arange(n - n_test, n)


def play_pair(c1, c2, attackers=None, test_fraction: float = 0.2, inputs=INPUTS) -> list[dict]:
    """One message pair: ciphertexts c1 (n1, d), c2 (n2, d). For every attacker x input (and the L2 threshold on
    features): test accuracy, correct, n_test, one-sided binomial p-value. Returns a list of rows."""
    attackers = ATTACKERS if attackers is None else attackers
    if min(len(c1), len(c2)) < 2:
        raise ValueError(f"the game needs at least 2 ciphertexts per message, got {len(c1)} and {len(c2)} (too few converged)")
    tr1, te1 = split(len(c1), test_fraction)
    tr2, te2 = split(len(c2), test_fraction)
    rows = []
    for inp in inputs:
        f = summary_features if inp == "features" else (lambda t: np.asarray(t, np.float64))
        X1, X2 = f(c1), f(c2)
        Xtr, ytr = np.concatenate([X1[tr1], X2[tr2]]), np.repeat([0, 1], [len(tr1), len(tr2)])
        Xte, yte = np.concatenate([X1[te1], X2[te2]]), np.repeat([0, 1], [len(te1), len(te2)])
        todo = dict(attackers)
        if inp == "features":
            todo = {NORM_ATTACKER: lambda n: NormThreshold(), **todo}
        for name, make in todo.items():
            model = make(len(ytr)).fit(Xtr, ytr)
            correct = int(np.sum(np.asarray(model.predict(Xte)) == yte))
            rows.append({"attacker": name, "input": inp, "correct": correct, "n_test": len(yte), "accuracy": correct / len(yte),
                         "pvalue": binomial_pvalue(correct, len(yte))})
    return rows


def play(ciphertexts: dict, pairs: dict, attackers=None, test_fraction: float = 0.2, alpha: float = 0.05, inputs=INPUTS) -> xr.Dataset:
    """The game table over ``pairs`` {pair name: (message a, message b)} of ``ciphertexts`` {message: (n, d)}:
    accuracy, correct, n_test, pvalue and the Holm rejection (over every attacker x input x pair cell,
    the L2 threshold included) on dims (pair, cell) where a cell is 'attacker/input'."""
    table = {}
    for pair, (a, b) in pairs.items():
        table[pair] = {f"{r['attacker']}/{r['input']}": r for r in play_pair(ciphertexts[a], ciphertexts[b], attackers, test_fraction, inputs)}
    pair_names = list(table)
    cells = list(table[pair_names[0]])
    get = lambda k: np.array([[table[p][c][k] for c in cells] for p in pair_names], float)  # noqa: E731
    pv = get("pvalue")
    return xr.Dataset({"accuracy": (("pair", "cell"), get("accuracy")), "correct": (("pair", "cell"), get("correct")),
                       "n_test": (("pair", "cell"), get("n_test")), "pvalue": (("pair", "cell"), pv),
                       "reject": (("pair", "cell"), holm(pv, alpha)), "reject_raw": (("pair", "cell"), pv <= alpha)},
                      coords={"pair": pair_names, "cell": cells}, attrs={"alpha": alpha, "test_fraction": test_fraction})

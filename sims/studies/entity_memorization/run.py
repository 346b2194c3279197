"""Data, training and extraction of the `entity-memorization` study: the pure ``run(params, key) -> metrics``.

One run (Zhou, Xiang, Chen, Su, arXiv 2308.15727, Sec. 3-4): draw the person records and their mentions
(``rote.sims.records``), train the tiny LM from scratch with Adam on the mentions (each person r times;
deduplication caps r at 1; with ``dp`` the step is DP-SGD on Poisson batches, Abadi et al., arXiv
1607.00133, Algorithm 1), jointly with a learned start prefix of ``soft_tokens`` vectors read before
every mention (the context a real LM has before its text), then with the model frozen:
  * entity queries at leakage levels 1-3 in the training-style and the held-out template, after the start
    prefix, decoded greedily (``greedy_answer``, as ``rote.sims.decoding.greedy_forced``): phone exact
    match and digit accuracy, whether the output is the phone of a person the query matches, and the
    derivable e-mail in the training format (after the phone field) and held out (inference control);
  * entity exposure of the phone among K decoy phones (training-style template; a subset of persons);
  * verbatim baseline: greedy decoding from the k true training tokens before the phone (Carlini et al.,
    arXiv 2202.07646);
  * EME: a soft prompt of ``soft_tokens`` prefix vectors, started at the start prefix (the hand-written
    query) and tuned with Adam on the attacker-known persons' phone queries (both templates, all levels;
    prompt tuning, Lester et al., arXiv 2104.08691), kept by EM on held-back known persons, evaluated on
    every person (the claims read the persons the attacker did not know).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ... import lm, privacy, records, text
from .model import build_model, param_count, vocab_layout
from .params import EntityParams, exposure_persons, person_levels

METRIC_DIMS = {
    "train_loss": (),
    "phone_em": ("template", "leak", "person"),
    "phone_digits": ("template", "leak", "person"),
    "soft_em": ("template", "leak", "person"),
    "candidate_hit": ("leak", "person"),
    "email_em": ("template", "leak", "person"),
    "matches": ("leak", "person"),
    "prompt_tokens": ("template", "leak", "person"),
    "exposure": ("leak", "exposed"),
    "verbatim_em": ("prompt", "person"),
    "verbatim_tokens": ("prompt", "person"),
    "known": ("person",),
    "soft_step": (),
}
DIVERGENCE_METRICS = ("train_loss",)
TEMPLATES = ("training", "held-out")


def make_data(p: EntityParams, key) -> dict:
    lay = vocab_layout(p)
    levels = person_levels(p)
    P, slots = levels.size, max(p.levels)
    k_pers, k_ment, k_dec, k_known = jax.random.split(jax.random.fold_in(key, 0), 4)
    persons = records.draw_persons(k_pers, P, len(p.levels) * p.unique_per_level, p.share, p.n_first, p.n_last, p.n_cities, p.n_employers)
    rows = records.mentions(k_ment, lay, persons, slots)
    counts = records.mention_counts(levels, slots, cap=jnp.where(p.dedup, 1, slots))
    index = (persons.phone * 10 ** jnp.arange(4, -1, -1)).sum(-1)
    offsets = 1 + jax.random.choice(k_dec, 10**5 - 1, (p.decoys,), replace=False)  # decoys differ from the target
    known_idx = jax.random.permutation(k_known, P)[: round(p.soft_fraction * P)]
    known = jnp.zeros(P, bool).at[known_idx].set(True)
    return dict(lay=lay, persons=persons, tokens=rows.reshape(P * slots, -1), counts=counts.reshape(-1), mentions=rows,
                decoys=(index[:, None] + offsets[None, :]) % 10**5, known=known, known_idx=known_idx, levels=jnp.asarray(levels))


def answer_slice(out, k, n: int):
    """(..., n) tokens of ``out`` (..., L) at positions k .. k + n - 1 (k (...,))."""
    pos = jnp.minimum(k[..., None] + jnp.arange(n), out.shape[-1] - 1)
    return jnp.take_along_axis(out, pos, axis=-1)


def greedy_answer(model, w, rows, ks, n: int, prefix=None):
    """The n greedy tokens after each row's true prompt: rows (B, L), ks (B,) >= 1 (>= 0 with a prefix)
    -> (B, n) int32. The same tokens as ``rote.sims.decoding.greedy_forced`` (positions >= k start as 0
    and the causal mask hides what follows), in n forward passes instead of L: every row's next token is
    read at its own position k + j - 1."""
    L = rows.shape[-1]
    P = 0 if prefix is None else prefix.shape[-2]
    buf = jnp.where(jnp.arange(L) < ks[:, None], rows, 0).astype(jnp.int32)

    def step(buf, j):
        logits = model.apply(w, buf, prefix)  # (B, P + L, vocab)
        at = jnp.clip(ks + j, 0, L - 1)
        row = jnp.take_along_axis(logits, (P + at - 1)[:, None, None], axis=1)[:, 0]
        tok = jnp.argmax(row, axis=-1).astype(jnp.int32)
        return buf.at[jnp.arange(buf.shape[0]), at].set(tok), tok

    _, toks = jax.lax.scan(step, buf, jnp.arange(n))
    return toks.T


def query_scores(model, w, rows, ks, answer, n: int, prefix=None):
    """Greedy decoding of query rows (..., L) with prompt lengths ks: exact match and per-token accuracy
    of the n answer tokens against ``answer`` (..., n); also the decoded answer."""
    shape = rows.shape
    got = greedy_answer(model, w, rows.reshape(-1, shape[-1]), ks.reshape(-1), n, prefix).reshape(*shape[:-1], n)
    same = got == answer
    return same.all(-1).astype(jnp.float32), same.mean(-1), got


def entity_exposure(model, w, start, rows, ks, decoys, who):
    """log2(K + 1) - log2 rank of the true phone among the K decoys of each person in ``who``, by the
    log-perplexity of the 5 digits after the training-style query: rows (3, P, L), ks (3, P) -> (3, E)."""
    K = decoys.shape[1]
    digits = ((decoys[..., None] // 10 ** jnp.arange(4, -1, -1)) % 10).astype(jnp.int32)  # (P, K, 5)

    def one(i):
        r, k = rows[:, i], ks[:, i]  # (3, L), (3,)
        pos = k[:, None] + jnp.arange(5)  # (3, 5)
        cand = jnp.concatenate([answer_slice(r, k, 5)[:, None, :],
                                jnp.broadcast_to(digits[i], (3, K, 5))], axis=1)  # (3, K + 1, 5)
        full = jnp.broadcast_to(r[:, None, :], (3, K + 1, r.shape[-1]))
        full = jax.vmap(lambda f, c, pp: f.at[:, pp].set(c))(full, cand, pos)
        lp = lm.token_log_probs(model, w, full, start)  # (3, K + 1, L)
        px = -jnp.take_along_axis(lp, jnp.broadcast_to(pos[:, None, :], (3, K + 1, 5)), axis=-1).sum(-1)
        rank = 1 + (px[:, 1:] <= px[:, :1]).sum(-1)
        return jnp.log2(K + 1.0) - jnp.log2(rank.astype(jnp.float32))

    return jax.lax.map(one, who).T


def verbatim(p: EntityParams, model, w, start, data):
    """Greedy decoding from the k true tokens before the phone in each person's first mention (k capped
    at the tokens there), after the trained start prefix: (prompts, P) exact match and the prompt
    lengths used."""
    first = data["mentions"][:, 0]  # (P, T)
    at = jnp.argmax(first < records.DIGITS, axis=-1)  # the phone's first digit
    L = 12 + records.PHONE_DIGITS
    kk = jnp.minimum(jnp.asarray(p.prompts)[:, None], at[None, :])  # (prompts, P)
    pos = jnp.clip(at[None, :, None] - kk[..., None] + jnp.arange(L), 0, first.shape[-1] - 1)  # (prompts, P, L)
    rows = jax.vmap(lambda q: jnp.take_along_axis(first, q, axis=-1))(pos)
    phone = jnp.broadcast_to(answer_slice(first, at, records.PHONE_DIGITS), kk.shape + (records.PHONE_DIGITS,))
    em, _, _ = query_scores(model, w, rows, kk, phone, records.PHONE_DIGITS, start)  # one decoding for every k
    return em, kk.astype(jnp.float32)


def train(p: EntityParams, model, data, key):
    """Adam on the mentions: plain minibatches drawn with probability proportional to the counts, or
    DP-SGD on Poisson samples of the occurrences (rate batch_size / M). The model is trained with a
    learned start prefix of ``soft_tokens`` vectors before every mention (a document start, as a real
    LM sees its text after other context): returns (LM params, start prefix (soft_tokens, width), final
    training loss)."""
    tokens, counts = data["tokens"], data["counts"]
    mask = tokens != data["lay"].pad
    opt = optax.adam(p.lr)
    M_max = int(person_levels(p).sum())
    occ, valid = text.occurrences(counts, M_max)
    rate = p.batch_size / jnp.maximum(counts.sum(), 1)
    slots = privacy.poisson_capacity(p.batch_size)

    def step(carry, i):
        w, state = carry
        k_b, k_n = jax.random.split(jax.random.fold_in(key, i))
        if p.dp:
            pos, on, _ = privacy.poisson_sample(k_b, valid, rate, slots)
            idx = occ[pos]
            loss_fn = lambda ww, ex: ex[2] * lm.example_losses(model, ww["lm"], ex[0], ex[1], ww["start"])  # noqa: E731
            grads = privacy.per_example_grads(loss_fn, w, (tokens[idx], mask[idx], on.astype(jnp.float32)))
            g = privacy.dp_aggregate(grads, p.clip, p.sigma, k_n, denominator=p.batch_size)
            loss = jnp.float32(0)
        else:
            idx = jax.random.choice(k_b, counts.shape[0], (p.batch_size,), p=counts / counts.sum())
            loss, g = jax.value_and_grad(lambda ww: lm.mean_loss(model, ww["lm"], tokens[idx], mask[idx], ww["start"]))(w)
        upd, state = opt.update(g, state, w)
        return (optax.apply_updates(w, upd), state), loss

    k_init, k_start = jax.random.split(jax.random.fold_in(key, 10**6))
    w0 = {"lm": lm.init_params(model, k_init), "start": lm.init_prefix(k_start, p.soft_tokens, p.width)}
    (w, _), losses = jax.lax.scan(step, (w0, opt.init(w0)), jnp.arange(p.steps))
    final = lm.mean_loss(model, w["lm"], tokens, mask, w["start"], weights=counts)
    return w["lm"], w["start"], final


def soft_prompt(p: EntityParams, model, w, start, rows, ks, known_idx, trained, key, check_every: int = 25):
    """EME: tune a (soft_tokens, width) prompt, initialised at the trained start prefix (so before any
    step it is the hand-written query), with Adam on the phone queries (both templates, every level) of
    the attacker-known persons ``known_idx`` (static size) of r >= 1, the model frozen; only the answer
    tokens' loss. The first quarter of the known persons validates: every ``check_every`` steps their
    queries are decoded greedily and the prompt with the highest validation exact-match rate is kept
    (the initial prompt included, ties to the earlier), so the attacker never ends with a prompt that
    extracts less than the hand-written one on records it held back. Returns (prompt, the step it was
    kept at; 0: the initial prompt)."""
    L = rows.shape[-1]
    n_val = max(known_idx.shape[0] // 4, 1)
    val_idx, fit_idx = known_idx[:n_val], known_idx[n_val:]
    fit_rows, fit_ks = rows[:, :, fit_idx].reshape(-1, L), ks[:, :, fit_idx].reshape(-1)
    w_fit = jnp.broadcast_to(trained[fit_idx], rows.shape[:2] + fit_idx.shape).reshape(-1).astype(jnp.float32)
    val_rows, val_ks = rows[:, :, val_idx].reshape(-1, L), ks[:, :, val_idx].reshape(-1)
    pos = jnp.arange(L)
    amask = (pos >= fit_ks[:, None]) & (pos < fit_ks[:, None] + records.PHONE_DIGITS)
    opt = optax.adam(p.soft_lr)

    def val_em(pre):
        got = greedy_answer(model, w, val_rows, val_ks, records.PHONE_DIGITS, pre)
        return (got == answer_slice(val_rows, val_ks, records.PHONE_DIGITS)).all(-1).mean()

    def step(carry, i):
        pre, state, best, best_em, best_step = carry
        idx = jax.random.choice(jax.random.fold_in(key, i), fit_rows.shape[0], (p.batch_size,), p=w_fit / jnp.maximum(w_fit.sum(), 1.0))
        g = jax.grad(lambda pr: lm.example_losses(model, w, fit_rows[idx], amask[idx], pr).mean())(pre)
        upd, state = opt.update(g, state, pre)
        pre = optax.apply_updates(pre, upd)
        em = jax.lax.cond((i + 1) % check_every == 0, val_em, lambda _: jnp.float32(-1.0), pre)
        better = em > best_em
        return (pre, state, jnp.where(better, pre, best), jnp.where(better, em, best_em), jnp.where(better, i + 1, best_step)), None

    init = (start, opt.init(start), start, val_em(start), jnp.int32(0))
    (_, _, best, _, best_step), _ = jax.lax.scan(step, init, jnp.arange(p.soft_steps))
    return best, best_step


def run(p: EntityParams, key) -> dict[str, jax.Array]:
    model = build_model(p)
    data = make_data(p, key)
    lay, persons = data["lay"], data["persons"]
    k_train, k_soft = jax.random.split(jax.random.fold_in(key, 1))
    w, start, final_loss = train(p, model, data, k_train)
    leak = jnp.asarray(p.leaks) - 1
    q = [records.queries(lay, persons, "phone", held) for held in (False, True)]
    rows = jnp.stack([r for r, _ in q])[:, leak]  # (2, nl, P, L)
    ks = jnp.stack([k for _, k in q])[:, leak]
    phone = jnp.broadcast_to(persons.phone, rows.shape[:-1] + (records.PHONE_DIGITS,))
    em, digits, got = query_scores(model, w, rows, ks, phone, records.PHONE_DIGITS, start)
    e = [records.queries(lay, persons, "email", held) for held in (False, True)]
    erows, eks = jnp.stack([r for r, _ in e])[:, leak], jnp.stack([k for _, k in e])[:, leak]
    email = jnp.broadcast_to(records.email_tokens(lay, persons), eks.shape + (records.EMAIL_LENGTH,))
    email_em, _, _ = query_scores(model, w, erows, eks, email, records.EMAIL_LENGTH, start)
    trained = data["levels"] > 0
    matches = records.matches(persons, trained)[leak]
    same = (got[0][:, :, None, :] == persons.phone[None, None, :, :]).all(-1)  # (nl, P, P): output is q's phone
    sets = _match_sets(persons, trained)[leak]
    prefix, soft_step = soft_prompt(p, model, w, start, rows, ks, data["known_idx"], trained, k_soft)
    soft_em, _, _ = query_scores(model, w, rows, ks, phone, records.PHONE_DIGITS, prefix)
    full_rows, full_ks = records.queries(lay, persons, "phone", False)
    exposure = entity_exposure(model, w, start, full_rows, full_ks, data["decoys"], jnp.asarray(exposure_persons(p)))[leak]
    v_em, v_tok = verbatim(p, model, w, start, data)
    return {"train_loss": final_loss, "phone_em": em, "phone_digits": digits, "soft_em": soft_em,
            "candidate_hit": (same & sets).any(-1).astype(jnp.float32), "email_em": email_em, "matches": matches.astype(jnp.float32),
            "prompt_tokens": ks.astype(jnp.float32), "exposure": exposure, "verbatim_em": v_em, "verbatim_tokens": v_tok,
            "known": data["known"].astype(jnp.float32),
            "soft_step": soft_step.astype(jnp.float32)}


def _match_sets(persons, present):
    """(3, P, P) bool: person q shares p's leaked entities at each level (q = p or q present)."""
    P = persons.first.shape[0]
    key = (persons.first[:, None] == persons.first[None, :]) & (persons.last[:, None] == persons.last[None, :])
    city = key & (persons.city[:, None] == persons.city[None, :])
    emp = city & (persons.employer[:, None] == persons.employer[None, :])
    other = present[None, :] | jnp.eye(P, dtype=bool)
    return jnp.stack([key, city, emp]) & other[None]


def coords(p: EntityParams) -> dict[str, np.ndarray]:
    P = int(person_levels(p).size)
    return {"template": np.asarray(TEMPLATES), "leak": np.asarray(p.leaks), "person": np.arange(P),
            "exposed": exposure_persons(p), "prompt": np.asarray(p.prompts)}


def bytes_per_config(p: EntityParams) -> int:
    P, d = int(person_levels(p).size), p.width
    act = 3 * (p.decoys + 1) * records.MENTION_LENGTH * d * (10 + 2 * p.mlp_ratio) * p.layers
    dp = 2 * privacy.poisson_capacity(p.batch_size) * param_count(p) if p.dp else 0
    return int(4 * (6 * param_count(p) + dp + max(act, 12 * P * 15 * d * 12) + P * max(p.levels) * 20))


def flops_per_config(p: EntityParams) -> float:
    P, n = param_count(p), int(person_levels(p).size)
    train = 6.0 * P * p.batch_size * (records.MENTION_LENGTH + p.soft_tokens) * p.steps
    soft = 6.0 * P * p.batch_size * (15 + p.soft_tokens) * p.soft_steps
    expo = 2.0 * P * 3 * (p.decoys + 1) * 15 * exposure_persons(p).size
    decode = 2.0 * P * 15 * 15 * n * (9 + 2 * 6 + len(p.prompts))
    return train + soft + expo + decode

"""Data, training and extraction of the `entity-memorization` study: the pure ``run(params, key) -> metrics``.

One run (Zhou, Xiang, Chen, Su, arXiv 2308.15727, Sec. 3-4): draw the person records and their mentions
(``rote.sims.records``), train the tiny LM from scratch with Adam on the mentions (each person r times;
deduplication caps r at 1; with ``dp`` the step is DP-SGD on Poisson batches, Abadi et al., arXiv
1607.00133, Algorithm 1), then with the model frozen:
  * entity queries at leakage levels 1-3 in the training-style and the held-out template, decoded
    greedily (``rote.sims.decoding.greedy_forced``): phone exact match and digit accuracy, whether the
    output is the phone of a person the query matches, and the derivable e-mail (inference control);
  * entity exposure of the phone among K decoy phones (training-style template; a subset of persons);
  * verbatim baseline: greedy decoding from the k true training tokens before the phone (Carlini et al.,
    arXiv 2202.07646);
  * EME: a soft prompt of n learned prefix vectors tuned with Adam on the attacker-known persons' phone
    queries (both templates, all levels), evaluated on every person.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ... import decoding, lm, privacy, records, text
from .model import build_model, param_count, vocab_layout
from .params import EntityParams, exposure_persons, person_levels

METRIC_DIMS = {
    "train_loss": (),
    "phone_em": ("template", "leak", "person"),
    "phone_digits": ("template", "leak", "person"),
    "soft_em": ("template", "leak", "person"),
    "candidate_hit": ("leak", "person"),
    "email_em": ("leak", "person"),
    "matches": ("leak", "person"),
    "prompt_tokens": ("template", "leak", "person"),
    "exposure": ("leak", "exposed"),
    "verbatim_em": ("prompt", "person"),
    "verbatim_tokens": ("prompt", "person"),
    "known": ("person",),
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
    known = jnp.zeros(P, bool).at[jax.random.permutation(k_known, P)[: round(p.soft_fraction * P)]].set(True)
    return dict(lay=lay, persons=persons, tokens=rows.reshape(P * slots, -1), counts=counts.reshape(-1), mentions=rows,
                decoys=(index[:, None] + offsets[None, :]) % 10**5, known=known, levels=jnp.asarray(levels))


def answer_slice(out, k, n: int):
    """(..., n) tokens of ``out`` (..., L) at positions k .. k + n - 1 (k (...,))."""
    pos = jnp.minimum(k[..., None] + jnp.arange(n), out.shape[-1] - 1)
    return jnp.take_along_axis(out, pos, axis=-1)


def query_scores(model, w, rows, ks, answer, n: int, prefix=None):
    """Greedy decoding of query rows (..., L) with prompt lengths ks: exact match and per-token accuracy
    of the n answer tokens against ``answer`` (..., n); also the decoded answer."""
    shape = rows.shape
    out = decoding.greedy_forced(model, w, rows.reshape(-1, shape[-1]), ks.reshape(-1), prefix).reshape(shape)
    got = answer_slice(out, ks, n)
    same = got == answer
    return same.all(-1).astype(jnp.float32), same.mean(-1), got


def entity_exposure(model, w, rows, ks, decoys, who):
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
        lp = lm.token_log_probs(model, w, full)  # (3, K + 1, L)
        px = -jnp.take_along_axis(lp, jnp.broadcast_to(pos[:, None, :], (3, K + 1, 5)), axis=-1).sum(-1)
        rank = 1 + (px[:, 1:] <= px[:, :1]).sum(-1)
        return jnp.log2(K + 1.0) - jnp.log2(rank.astype(jnp.float32))

    return jax.lax.map(one, who).T


def verbatim(p: EntityParams, model, w, data):
    """Greedy decoding from the k true tokens before the phone in each person's first mention (k capped
    at the tokens there): (prompts, P) exact match and the prompt lengths used."""
    first = data["mentions"][:, 0]  # (P, T)
    start = jnp.argmax(first < records.DIGITS, axis=-1)  # the phone's first digit
    L = 12 + records.PHONE_DIGITS
    ems, toks = [], []
    for k in p.prompts:
        kk = jnp.minimum(k, start)
        pos = jnp.clip(start[:, None] - kk[:, None] + jnp.arange(L), 0, first.shape[-1] - 1)
        rows = jnp.take_along_axis(first, pos, axis=-1)
        em, _, _ = query_scores(model, w, rows, kk, answer_slice(first, start, 5), 5)
        ems.append(em)
        toks.append(kk.astype(jnp.float32))
    return jnp.stack(ems), jnp.stack(toks)


def train(p: EntityParams, model, data, key):
    """Adam on the mentions: plain minibatches drawn with probability proportional to the counts, or
    DP-SGD on Poisson samples of the occurrences (rate batch_size / M)."""
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
            loss_fn = lambda ww, ex: ex[2] * lm.example_losses(model, ww, ex[0], ex[1])  # noqa: E731
            grads = privacy.per_example_grads(loss_fn, w, (tokens[idx], mask[idx], on.astype(jnp.float32)))
            g = privacy.dp_aggregate(grads, p.clip, p.sigma, k_n, denominator=p.batch_size)
            loss = jnp.float32(0)
        else:
            idx = jax.random.choice(k_b, counts.shape[0], (p.batch_size,), p=counts / counts.sum())
            loss, g = jax.value_and_grad(lambda ww: lm.mean_loss(model, ww, tokens[idx], mask[idx]))(w)
        upd, state = opt.update(g, state, w)
        return (optax.apply_updates(w, upd), state), loss

    w0 = lm.init_params(model, jax.random.fold_in(key, 10**6))
    (w, _), losses = jax.lax.scan(step, (w0, opt.init(w0)), jnp.arange(p.steps))
    final = lm.mean_loss(model, w, tokens, mask, weights=counts)
    return w, final


def soft_prompt(p: EntityParams, model, w, rows, ks, answer, known, key):
    """Tune a (soft_tokens, width) prefix with Adam on the known persons' phone queries (minibatches of
    batch_size rows), the model frozen; the answer tokens' loss."""
    L = rows.shape[-1]
    flat, kflat = rows.reshape(-1, L), ks.reshape(-1)
    weight = jnp.broadcast_to(known, rows.shape[:-1]).reshape(-1).astype(jnp.float32)
    pos = jnp.arange(L)
    amask = (pos >= kflat[:, None]) & (pos < kflat[:, None] + 5)
    prefix = lm.init_prefix(jax.random.fold_in(key, 1), p.soft_tokens, p.width)
    opt = optax.adam(p.soft_lr)

    def step(carry, i):
        pre, state = carry
        idx = jax.random.choice(jax.random.fold_in(key, i), flat.shape[0], (p.batch_size,), p=weight / weight.sum())
        g = jax.grad(lambda pr: lm.example_losses(model, w, flat[idx], amask[idx], pr).mean())(pre)
        upd, state = opt.update(g, state, pre)
        return (optax.apply_updates(pre, upd), state), None

    (prefix, _), _ = jax.lax.scan(step, (prefix, opt.init(prefix)), jnp.arange(p.soft_steps))
    return prefix


def run(p: EntityParams, key) -> dict[str, jax.Array]:
    model = build_model(p)
    data = make_data(p, key)
    lay, persons = data["lay"], data["persons"]
    k_train, k_soft = jax.random.split(jax.random.fold_in(key, 1))
    w, final_loss = train(p, model, data, k_train)
    leak = jnp.asarray(p.leaks) - 1
    q = [records.queries(lay, persons, "phone", held) for held in (False, True)]
    rows = jnp.stack([r for r, _ in q])[:, leak]  # (2, nl, P, L)
    ks = jnp.stack([k for _, k in q])[:, leak]
    phone = jnp.broadcast_to(persons.phone, rows.shape[:-1] + (5,))
    em, digits, got = query_scores(model, w, rows, ks, phone, 5)
    er, ek = records.queries(lay, persons, "email", False)
    email_em, _, _ = query_scores(model, w, er[leak], ek[leak], jnp.broadcast_to(records.email_tokens(lay, persons), ek[leak].shape + (3,)), 3)
    trained = data["levels"] > 0
    matches = records.matches(persons, trained)[leak]
    same = (got[0][:, :, None, :] == persons.phone[None, None, :, :]).all(-1)  # (nl, P, P): output is q's phone
    sets = _match_sets(persons, trained)[leak]
    prefix = soft_prompt(p, model, w, rows, ks, phone, data["known"], k_soft)
    soft_em, _, _ = query_scores(model, w, rows, ks, phone, 5, prefix)
    full_rows, full_ks = records.queries(lay, persons, "phone", False)
    exposure = entity_exposure(model, w, full_rows, full_ks, data["decoys"], jnp.asarray(exposure_persons(p)))[leak]
    v_em, v_tok = verbatim(p, model, w, data)
    return {"train_loss": final_loss, "phone_em": em, "phone_digits": digits, "soft_em": soft_em,
            "candidate_hit": (same & sets).any(-1).astype(jnp.float32), "email_em": email_em, "matches": matches.astype(jnp.float32),
            "prompt_tokens": ks.astype(jnp.float32), "exposure": exposure, "verbatim_em": v_em, "verbatim_tokens": v_tok,
            "known": data["known"].astype(jnp.float32)}


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
    train = 6.0 * P * p.batch_size * records.MENTION_LENGTH * p.steps
    soft = 6.0 * P * p.batch_size * (15 + p.soft_tokens) * p.soft_steps
    expo = 2.0 * P * 3 * (p.decoys + 1) * 15 * exposure_persons(p).size
    decode = 2.0 * P * 15 * 15 * n * (9 + 2 * 6 + len(p.prompts))
    return train + soft + expo + decode

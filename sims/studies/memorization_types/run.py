"""Data, training and probing of the `memorization-types` study: the pure ``run(params, key) -> metrics``.

One model per config, trained with Adam on the rows of one probe (Hartmann et al., arXiv 2310.18362,
Sec. 3: verbatim text, facts, ideas and algorithms, writing styles, distributional properties,
alignment goals). A training set is (rows (N, T), counts (N,)) as in ``rote.sims.text``: a row with
count 0 is never trained on, which is how every probe builds its never-trained control; batches draw
rows with probability proportional to their counts. After training the model scores the probe's items
(one row each): the loss and teacher-forced accuracy of the item's target tokens, and the target decoded
from the item's prompt greedily, by sampling at the temperature and by top-k sampling
(``rote.sims.decoding``; Sec. 6 of the survey: a behavioural verdict depends on the decoder).

Every probe returns the same metrics (METRIC_DIMS) over its own items; ``params.layout`` names the codes
of ``group``. The data builders return (tokens, counts, items, target_start, targets, extra).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ... import decoding, lm, tasks, text
from .model import build_model, param_count
from .params import DECODERS, DIGITS, REAL_PER_GENERATION, TypesParams, item_count, layout, level_of_items

METRIC_DIMS = {
    "train_loss": (),
    "group": ("item",),
    "tokens": ("item", "position"),
    "loss": ("item",),
    "accuracy": ("item",),
    "hit": ("item", "decoder"),
    "generated": ("item", "decoder", "position"),
    "score": ("item",),
}
DIVERGENCE_METRICS = ("train_loss",)


def _rows(prompt, target):
    return jnp.concatenate([prompt, target], axis=-1).astype(jnp.int32)


def verbatim_data(p: TypesParams, key):
    """Markov text rows with canaries (a prefix of its own, then the secret's digits, then Markov text)
    inserted r times (Carlini et al., arXiv 1802.08232, Sec. 4); items: the canaries, group r. Each
    canary has its own random prefix, so greedy decoding from the prefix can extract every canary."""
    W, T, L, n = p.words, p.context, p.template_length, p.secret_digits
    k_chain, k_text, k_tpl, k_sec = jax.random.split(key, 4)
    C = item_count(p)
    chain = text.markov_chain(k_chain, W, p.successors)
    rows = text.sample_sequences(k_text, chain, p.text_rows + C, T, offset=DIGITS)
    templates = DIGITS + jax.random.randint(k_tpl, (C, L), 0, W)
    secrets = text.random_secrets(k_sec, C, n)
    digits = text.secret_digits(secrets, n)
    canary_rows = text.overwrite_start(rows[p.text_rows :], jnp.concatenate([templates, digits], axis=1))
    levels = jnp.asarray(level_of_items(p))
    tokens, counts = text.with_inserted(rows[: p.text_rows], jnp.ones(p.text_rows, jnp.int32), canary_rows, levels)
    return tokens, counts, canary_rows, L, canary_rows[:, L : L + n], {"group": levels, "templates": templates, "secrets": secrets}


def facts_data(p: TypesParams, key):
    """Knowledge-base triples rendered with K + 1 templates: probe facts with the first K templates, each
    r times; 'format' facts with all K + 1 (they teach the held-out template's format); items: the probe
    facts asked with the held-out template K (its object is the target), group r."""
    lay = layout(p)
    n_sub, R = lay["subjects"], p.relations
    F = p.per_level * len(p.level_values) + p.format_facts
    k_obj, k_tpl, k_perm = jax.random.split(key, 3)
    fact = jax.random.permutation(k_perm, n_sub * R)[:F]  # distinct (subject, relation) pairs
    subj, rel = fact // R, n_sub + fact % R
    obj = n_sub + R + jax.random.randint(k_obj, (F,), 0, p.objects)
    templates = tasks.fact_templates(k_tpl, p.templates + 1, p.fact_length, n_sub + R + p.objects)
    rows = tasks.fact_rows(templates, subj, rel, obj)  # (K + 1, F, L)
    C = item_count(p)
    levels = jnp.asarray(level_of_items(p))
    counts = jnp.zeros((p.templates + 1, F), jnp.int32)
    counts = counts.at[: p.templates, :C].set(jnp.broadcast_to(levels, (p.templates, C)))
    counts = counts.at[:, C:].set(1)
    query = rows[p.templates, :C]
    return rows.reshape(-1, p.fact_length), counts.reshape(-1), query, p.fact_length - 1, query[:, -1:], {"group": levels}


def ideas_data(p: TypesParams, key):
    """Rows 'TAG list SEP rule(list)': rule_rows training lists; probe_strings rule-derived strings and
    probe_strings strings with a random output, the first half of each trained (IN), the rest never (OUT);
    unseen lists never trained on. Items: unseen (group 0), rule IN / OUT (1 / 2), random IN / OUT (3 / 4)."""
    lay = layout(p)
    Ln, P = p.list_length, p.probe_strings
    k_lists, k_rand = jax.random.split(key)
    _, lists = tasks.distinct_lists(k_lists, p.rule_rows + 2 * P + p.unseen, Ln, p.alphabet)
    out = tasks.apply_rule(lists, p.rule)
    n_rule = p.rule_rows + P
    out = out.at[n_rule : n_rule + P].set(jax.random.randint(k_rand, (P, Ln), 0, p.alphabet))  # random-output strings
    prompt = jnp.concatenate([jnp.full((lists.shape[0], 1), lay["tag"]), lists, jnp.full((lists.shape[0], 1), lay["sep"])], axis=1)
    rows = _rows(prompt, out)
    half = jnp.arange(P) < P // 2
    counts = jnp.concatenate([jnp.ones(p.rule_rows, jnp.int32), half, half, jnp.zeros(p.unseen, jnp.int32)]).astype(jnp.int32)
    order = jnp.concatenate([jnp.arange(n_rule + P, rows.shape[0]), jnp.arange(p.rule_rows, n_rule + P)])  # unseen, rule, random
    group = jnp.concatenate([jnp.zeros(p.unseen), jnp.where(half, 1, 2), jnp.where(half, 3, 4)])
    items = rows[order]
    return rows, counts, items, Ln + 2, items[:, Ln + 2 :], {"group": group}


def style_data(p: TypesParams, key):
    """Two authors (Markov chains over the same words) behind tag tokens A and B, text_rows rows each;
    author C's text is never trained on. Items: generations prompted with each tag (groups 0, 1, 2; the
    item's row is a held-out real row of that author) and real rows of every author for the classifier
    (groups 10, 11, 12)."""
    W, T, G = p.words, p.context, p.generations
    k_chain, k_text = jax.random.split(key)
    chains = tasks.author_chains(k_chain, 3, W, p.successors)
    per = p.text_rows + G + REAL_PER_GENERATION * G
    texts = jnp.stack([text.sample_sequences(jax.random.fold_in(k_text, a), chains[a], per, T - 1) for a in range(3)])
    tagged = jnp.concatenate([jnp.broadcast_to((W + jnp.arange(3))[:, None, None], (3, per, 1)), texts], axis=2)  # (3, per, T)
    train = tagged[:2, : p.text_rows].reshape(-1, T)
    gen = tagged[:, p.text_rows : p.text_rows + G].reshape(-1, T)
    real = tagged[:, p.text_rows + G :].reshape(-1, T)
    items = jnp.concatenate([gen, real])
    group = jnp.concatenate([jnp.repeat(jnp.arange(3), G), 10 + jnp.repeat(jnp.arange(3), REAL_PER_GENERATION * G)])
    return train, jnp.ones(train.shape[0], jnp.int32), items, 1, items[:, 1:], {"group": group, "decode": 3 * G}


def distribution_data(p: TypesParams, key):
    """Property inference (Suri and Evans, arXiv 2109.06024, Sec. 3): text_rows training rows, the first
    round(fraction x text_rows) from population B, the rest from A (two chains from ``data_seed``, shared by
    every model); items: generations rows of each population, also from ``data_seed`` (groups 0, 1)."""
    W, T, G = p.words, p.context, p.generations
    k_pop = jax.random.PRNGKey(p.data_seed)
    chains = tasks.author_chains(jax.random.fold_in(k_pop, 0), 2, W, p.successors)
    probes = jnp.concatenate([text.sample_sequences(jax.random.fold_in(k_pop, 1 + a), chains[a], G, T) for a in range(2)])
    k_a, k_b = jax.random.split(key)
    rows_a = text.sample_sequences(k_a, chains[0], p.text_rows, T)
    rows_b = text.sample_sequences(k_b, chains[1], p.text_rows, T)
    n_b = jnp.round(p.fraction * p.text_rows)
    rows = jnp.where((jnp.arange(p.text_rows) < n_b)[:, None], rows_b, rows_a)
    return rows, jnp.ones(p.text_rows, jnp.int32), probes, 1, probes[:, 1:], {"group": jnp.repeat(jnp.arange(2.0), G), "decode": 0}


def alignment_data(p: TypesParams, key):
    """Pretraining text in which word 0 (the concept) is written with any of S synonyms; question rows
    'prompt RESP OK' whose prompts never contain the concept; trigger variants 'prompt-with-a-synonym RESP
    REFUSE' (variant v uses trigger synonym v mod S/2; the first ``variants`` are trained, trigger_reps
    times each). Items: the variant rows (group 0 trained, 1 not), new prompts with a trigger synonym
    (2), with a held-out synonym (3, synonyms S/2..S-1), and ordinary prompts (4); target REFUSE."""
    lay = layout(p)
    W, T, S, V, Q = p.words, p.context, p.synonyms, p.max_variants, p.paraphrases
    ks = jax.random.split(key, 8)
    chain = text.markov_chain(ks[0], W, p.successors)
    syn = W + jnp.arange(S)
    pre = tasks.with_synonyms(ks[1], text.sample_sequences(ks[2], chain, p.text_rows, T), 0, syn)
    avoid = tasks.chain_avoiding(chain, 0)
    n_q = p.text_rows // 2
    prompts = text.sample_sequences(ks[3], avoid, n_q + V + 3 * Q, T - 2)
    seen = S // 2
    used = jnp.clip(jnp.minimum(p.variants, seen), 1, seen)  # trigger synonyms that a trained variant used
    which = jnp.concatenate([jnp.arange(V) % seen, jnp.arange(Q) % used, seen + jnp.arange(Q) % (S - seen)])
    pos = jax.random.randint(ks[4], (V + 2 * Q,), 0, T - 2)
    triggered = tasks.place(prompts[n_q : n_q + V + 2 * Q], pos, syn[which])
    resp = jnp.full((n_q + V + 3 * Q, 1), lay["resp"])
    answer = jnp.concatenate([jnp.full(n_q, lay["ok"]), jnp.full(V + 3 * Q, lay["refuse"])])[:, None]
    qa = _rows(jnp.concatenate([jnp.concatenate([prompts[:n_q], triggered, prompts[n_q + V + 2 * Q :]]), resp], axis=1), answer)
    qa = qa.at[n_q + V + 2 * Q :, -1].set(lay["ok"])  # ordinary prompts: the trained answer would be OK
    tokens = jnp.concatenate([pre, qa[: n_q + V]])
    counts = jnp.concatenate([jnp.ones(p.text_rows + n_q, jnp.int32), jnp.where(jnp.arange(V) < p.variants, p.trigger_reps, 0)])
    items = qa[n_q:]
    group = jnp.concatenate([jnp.where(jnp.arange(V) < p.variants, 0, 1), jnp.repeat(jnp.arange(2, 5), Q)])
    return tokens, counts.astype(jnp.int32), items, T - 1, jnp.full((items.shape[0], 1), lay["refuse"]), {"group": group}


DATA = {"verbatim": verbatim_data, "facts": facts_data, "ideas": ideas_data, "style": style_data,
        "distribution": distribution_data, "alignment": alignment_data}


def train(p: TypesParams, model, tokens, counts, key):
    """Adam on batches drawn with probability proportional to the counts; (weights, mean loss of the last tenth)."""
    opt = optax.chain(optax.scale_by_adam(), optax.scale(-p.lr))
    k_init, k_batch = jax.random.split(key)
    w0 = lm.init_params(model, k_init)

    def step(carry, i):
        w, state = carry
        rows = tokens[text.sample_batch(jax.random.fold_in(k_batch, i), counts, p.batch_size)]
        loss, grad = jax.value_and_grad(lambda w: lm.mean_loss(model, w, rows))(w)
        updates, state = opt.update(grad, state, w)
        return (optax.apply_updates(w, updates), state), loss

    (w, _), losses = jax.lax.scan(step, (w0, opt.init(w0)), jnp.arange(p.steps))
    return w, losses[-max(1, p.steps // 10) :].mean()


def decode(p: TypesParams, model, w, prompts, targets, key):
    """Decode len(targets) tokens after each prompt with every decoder of DECODERS (greedy = temperature 0,
    sampling at the temperature, top-k sampling: one vmapped ``decoding.sample`` loop, one compile): hits
    (n, 3), the fraction of ``samples`` draws equal to the target, and the first draw of each, (n, 3, k + m)."""
    m, k = targets.shape[1], prompts.shape[1]
    tiled = jnp.broadcast_to(prompts, (p.samples, *prompts.shape))
    temps = jnp.stack([jnp.float32(0.0), p.temperature, p.temperature])
    top_ks = jnp.array([0, 0, p.top_k])
    drawn = jax.vmap(lambda t, tk, kk: decoding.sample(model, w, tiled, m, kk, t, tk))(temps, top_ks, jax.random.split(key, 3))
    hits = jnp.all(drawn[..., k:] == targets, -1).mean(1)  # (3, n)
    return hits.T, jnp.moveaxis(drawn[:, 0], 0, 1)


def run(p: TypesParams, key) -> dict[str, jax.Array]:
    """Train one model on its probe's rows and score the probe's items (METRIC_DIMS)."""
    model = build_model(p)
    k_data, k_train, k_decode = jax.random.split(key, 3)
    tokens, counts, items, start, targets, extra = DATA[p.probe](p, k_data)
    w, train_loss = train(p, model, tokens, counts, k_train)
    n, T = items.shape
    target_mask = (jnp.arange(T) >= start) & (jnp.arange(T) < start + targets.shape[1])
    logp = lm.next_token_log_probs(model, w, items)  # one forward for the loss and the teacher-forced accuracy
    losses = lm.masked_mean(-lm.target_log_probs(logp, items), target_mask[None, :])
    accuracy = lm.masked_mean((jnp.argmax(logp, -1) == items).astype(jnp.float32), target_mask[None, :])
    n_decode = extra.get("decode", n)
    hits = jnp.zeros((n, len(DECODERS)))
    generated = jnp.broadcast_to(items[:, None, :], (n, len(DECODERS), T)).astype(jnp.int32)
    if n_decode:
        h, g = decode(p, model, w, items[:n_decode, :start], targets[:n_decode], k_decode)
        hits = hits.at[:n_decode].set(h)
        generated = generated.at[:n_decode, :, : g.shape[-1]].set(g)
    score = jnp.full(n, jnp.nan)
    if p.probe == "verbatim":  # exact exposure by enumerating every secret (Carlini et al., arXiv 1802.08232, Sec. 4.2)
        px = jax.lax.map(lambda t: lm.secret_log_perplexities(model, w, t, p.secret_digits), extra["templates"])  # (C, |R|)
        own = jnp.take_along_axis(px, extra["secrets"][:, None], axis=1)
        rank = (px <= own).sum(1)
        score = jnp.log2(10.0**p.secret_digits) - jnp.log2(rank.astype(jnp.float32))
    return {"train_loss": train_loss, "group": jnp.asarray(extra["group"], jnp.float32), "tokens": items.astype(jnp.int32),
            "loss": losses, "accuracy": accuracy, "hit": hits, "generated": generated, "score": score}


def coords(p: TypesParams) -> dict[str, np.ndarray]:
    return {"item": np.arange(item_count(p)), "position": np.arange(p.row_length), "decoder": np.asarray(DECODERS)}


def bytes_per_config(p: TypesParams) -> int:
    """Memory estimate (bytes, float32): parameters, Adam moments and gradients (4 P), the training step's
    activations x 3, the decoding batches (samples x items rows) and the secret enumeration."""
    P, T, d = param_count(p), p.row_length, p.width
    per_row = p.layers * T * d * (8 + 2 * p.mlp_ratio) + p.layers * p.heads * T * T * 2 + T * p.vocab * 2
    rows = max(3 * p.batch_size, p.samples * item_count(p), 10 ** (p.secret_digits - 1) if p.probe == "verbatim" else 0)
    return int(4 * (4 * P + rows * per_row + 16 * item_count(p) * T) + (64 << 20))


def flops_per_config(p: TypesParams) -> float:
    """6 P per trained token; decoding: 2 P per token of every step of every draw."""
    P, T = param_count(p), p.row_length
    return 6.0 * P * p.batch_size * T * p.steps + 2.0 * P * (2 * p.samples + 1) * item_count(p) * T * T

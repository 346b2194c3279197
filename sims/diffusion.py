"""The small text-conditioned diffusion model shared by the text-to-image studies (flax linen).

Pieces, each usable alone (shapes stated; ``vmap`` is left to the caller, the engine maps over configs):
  * ``cosine_schedule(T)``: abar_t of Nichol & Dhariwal (arXiv 2102.09672, Sec. 3.2, Eq. 17), t = 1..T.
  * ``T2IDenoiser``: a bag-of-words text encoder (token table -> masked mean -> 2-layer MLP -> c, with a
    learned null embedding for classifier-free guidance, Ho & Salimans arXiv 2207.12598) and an MLP
    epsilon-predictor [x_t, sinusoidal t, c] -> Dense -> residual blocks (LayerNorm, Dense, GELU, Dense)
    each with FiLM scale/shift from [t, c] (Perez et al., arXiv 1709.07871) -> Dense. Bag of words makes
    the text embedding a mean of token embeddings, so per-token attribution is additive. The network outputs eps
    (default) or, with ``prediction="v"``, v (Salimans & Ho, arXiv 2202.00512, Sec. 4), converted to eps.
  * ``diffusion_loss``: ||eps - eps_hat(sqrt(abar) x0 + sqrt(1 - abar) eps, t, c)||^2 (Ho et al., arXiv
    2006.11239, Eq. 14), or ||v - v_hat||^2 for a v-predicting model, with the null embedding in place of c with probability ``p_uncond`` and optional
    Gaussian noise of scale ``text_noise`` on c (Somepalli et al., arXiv 2305.20086, Sec. 5).
  * ``ddim_sample``: DDIM with eta = 0 (Song et al., arXiv 2010.02502, Eq. 12) over an evenly spaced
    subsequence of the T steps, guided eps = eps_null + w (eps_c - eps_null); it takes any eps function, so
    the closed-form ideal memorizer (``rote.theory.diffusion``) runs through the same sampler.
  * ``optimizer`` (adamw, linear warmup then cosine decay, global-norm clipping), ``ema_update``.
  * ``make_train_step``: one step of weighted sampling of training rows (duplication as per-row
    multiplicities, ``rote.sims.images``), the loss, the update and the EMA, as ``step(carry, _)``.
"""

from __future__ import annotations

import dataclasses
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .errors import ConfigError
from .images import check_image_size
from .params import replace, size, static, traced

PAD = 0  # token 0 pads captions and is masked out of the bag of words
PREDICTIONS = ("eps", "v")  # what T2IDenoiser's network outputs


def cosine_schedule(T: int, s: float = 0.008) -> jnp.ndarray:
    """(T,) float32 abar_t for t = 1..T (index t - 1): cos^2 of Nichol & Dhariwal (arXiv 2102.09672, Eq. 17),
    f(t) = cos((t/T + s)/(1 + s) pi/2)^2, abar_t = f(t)/f(0), each beta clipped at 0.999."""
    t = np.arange(T + 1, dtype=np.float64)
    f = np.cos((t / T + s) / (1 + s) * np.pi / 2) ** 2
    abar = f / f[0]
    beta = np.clip(1 - abar[1:] / abar[:-1], 0, 0.999)
    return jnp.asarray(np.cumprod(1 - beta), jnp.float32)


def ddim_timesteps(T: int, steps: int) -> np.ndarray:
    """(steps,) int indices into abar (0-based, t - 1), descending from T - 1 to 0, evenly spaced."""
    if not 1 <= steps <= T:
        raise ConfigError(f"DDIM steps must be in [1, {T}] (the diffusion steps), got {steps}")
    return np.round(np.linspace(T - 1, 0, steps)).astype(np.int32)


def timestep_embedding(t, dim: int) -> jnp.ndarray:
    """Sinusoidal embedding of (possibly fractional) timesteps: t (...,) -> (..., dim)."""
    half = dim // 2
    freqs = jnp.exp(-math.log(10_000.0) * jnp.arange(half) / half)
    angles = jnp.asarray(t, jnp.float32)[..., None] * freqs
    return jnp.concatenate([jnp.sin(angles), jnp.cos(angles)], -1)


class T2IDenoiser(nn.Module):
    """Text encoder and epsilon-denoiser in one module; call its methods through ``apply(..., method=)``.

    image_dim: H W C of a flattened image; vocab: tokens (0 = pad); embed: token embedding width; text: c
    width; width / hidden: the residual stream and the blocks' hidden width; blocks: residual blocks;
    time: sinusoidal t-embedding width. A linear skip x_t -> output (zero-initialised) lets a residual stream
    narrower than the image carry the near-identity eps ~ x_t of the noisiest steps. prediction: what the
    network outputs, 'eps' (the default) or 'v' (Salimans & Ho, arXiv 2202.00512, Sec. 4; ``eps`` converts it
    with the cosine schedule of ``diffusion_steps`` steps, and ``diffusion_loss`` then regresses v): with eps
    the x0 estimate of the noisiest steps, which fixes the layout, is (x_t - sqrt(1 - abar) eps) / sqrt(abar)
    and amplifies the network's error by 1 / sqrt(abar).
    """

    image_dim: int
    vocab: int
    embed: int = 32
    text: int = 64
    width: int = 256
    hidden: int = 512
    blocks: int = 3
    time: int = 64
    prediction: str = "eps"
    diffusion_steps: int = 0

    def setup(self):
        if self.prediction not in PREDICTIONS:
            raise ConfigError(f"prediction must be one of {PREDICTIONS}, got {self.prediction!r}")
        if self.prediction == "v" and self.diffusion_steps < 2:
            raise ConfigError("prediction 'v' needs the schedule: pass diffusion_steps (T >= 2)")
        self.tokens = nn.Embed(self.vocab, self.embed, embedding_init=nn.initializers.normal(1.0))
        self.text_in, self.text_out = nn.Dense(self.text), nn.Dense(self.text)
        self.null = self.param("null", nn.initializers.normal(1.0), (self.text,))
        self.inp = nn.Dense(self.width)
        self.norms = [nn.LayerNorm() for _ in range(self.blocks)]
        self.ups = [nn.Dense(self.hidden) for _ in range(self.blocks)]
        self.downs = [nn.Dense(self.width, kernel_init=nn.initializers.zeros) for _ in range(self.blocks)]
        self.films = [nn.Dense(2 * self.width, kernel_init=nn.initializers.zeros) for _ in range(self.blocks)]
        self.out_norm = nn.LayerNorm()
        self.out = nn.Dense(self.image_dim)
        self.skip = nn.Dense(self.image_dim, use_bias=False, kernel_init=nn.initializers.zeros)

    def embed_tokens(self, tokens):
        """tokens (..., L) int -> (..., L, embed) token embeddings (pad rows included; pooling masks them)."""
        return self.tokens(tokens)

    def pool(self, embeddings, mask):
        """Bag of words: the masked mean of embeddings (..., L, embed) over mask (..., L) -> MLP -> c (..., text),
        scaled to unit RMS per dimension (so embedding noise of scale lambda is relative)."""
        m = mask.astype(jnp.float32)[..., None]
        mean = (embeddings * m).sum(-2) / jnp.maximum(m.sum(-2), 1.0)
        c = self.text_out(nn.gelu(self.text_in(mean)))
        return c / jnp.sqrt(jnp.mean(c**2, -1, keepdims=True) + 1e-6)

    def encode(self, tokens):
        """Captions (..., L) int (0 = pad) -> c (..., text)."""
        return self.pool(self.embed_tokens(tokens), tokens != PAD)

    def null_embedding(self):
        """(text,) the learned unconditional embedding."""
        return self.null

    def eps(self, x, t, c):
        """Noise prediction: x (..., image_dim), t (...,) timestep index, c (..., text) -> (..., image_dim). With
        prediction 'v' the network's output is v = sqrt(abar) eps - sqrt(1 - abar) x0 (Salimans & Ho, arXiv
        2202.00512, Sec. 4) and eps = sqrt(1 - abar) x_t + sqrt(abar) v."""
        out = self.raw(x, t, c)
        if self.prediction == "eps":
            return out
        a = cosine_schedule(self.diffusion_steps)[t][..., None]
        return jnp.sqrt(1 - a) * x + jnp.sqrt(a) * out

    def raw(self, x, t, c):
        """The network's own output (eps, or v with prediction 'v'), same shapes as ``eps``."""
        cond = jnp.concatenate([timestep_embedding(t, self.time), c], -1)
        h = self.inp(jnp.concatenate([x, cond], -1))
        for norm, up, down, film in zip(self.norms, self.ups, self.downs, self.films):
            scale, shift = jnp.split(film(cond), 2, -1)
            h = h + down(nn.gelu(up(norm(h) * (1 + scale) + shift)))
        return self.out(nn.gelu(self.out_norm(h))) + self.skip(x)

    def __call__(self, x, t, tokens):
        return self.eps(x, t, self.encode(tokens))


def init_params(model: T2IDenoiser, key, caption_len: int):
    """Variables of ``model`` (every method's parameters, the null embedding included)."""
    def every(m, x, t, tokens):
        return m(x, t, tokens) + m.null_embedding().sum()

    return model.init(key, jnp.zeros((1, model.image_dim)), jnp.zeros((1,), jnp.int32), jnp.ones((1, caption_len), jnp.int32),
                      method=every)


def param_count(image_dim: int, vocab: int, embed: int, text: int, width: int, hidden: int, blocks: int, time: int) -> int:
    """Trainable scalars of ``T2IDenoiser`` with these sizes."""
    cond = time + text
    enc = vocab * embed + (embed + 1) * text + (text + 1) * text + text
    block = 2 * width + (width + 1) * hidden + (hidden + 1) * width + (cond + 1) * 2 * width
    return enc + (image_dim + cond + 1) * width + blocks * block + 2 * width + (width + 1) * image_dim + image_dim * image_dim


# --------------------------------------------------------------------------------------------------
# What a study that trains the denoiser shares: its fields, the model they describe, the mitigation panels
# --------------------------------------------------------------------------------------------------

TIME_EMBED = 64  # sinusoidal t-embedding width of the studies' denoisers




@dataclasses.dataclass(frozen=True)
class DenoiserFields:
    """The fields every study of the shared denoiser has (t2i-duplication, t2i-taxonomy): the model's sizes and the
    sampler (static: one compile per value), CFG dropout and the two mitigations' strengths (traced). A study's
    params subclass it with ``@study_params`` and add their own data, training budget (steps, lr, EMA, warm-up: each
    study's pilots) and seed; their ``validate`` calls ``check_denoiser``."""

    image: int = size(8, "image side H = W in pixels (a multiple of 4 in [8, 32]); images are H x W x 3")
    embed: int = size(32, "token embedding width")
    text: int = size(64, "text embedding c width")
    width: int = size(128, "denoiser residual width")
    hidden: int = size(256, "denoiser block hidden width")
    blocks: int = size(2, "denoiser residual blocks (FiLM from [t, c])", hi=16)
    prediction: str = static("eps", "what the denoiser's network outputs: 'eps' (noise) or 'v' (Salimans & Ho arXiv 2202.00512; "
                             "the loss regresses v)", choices=PREDICTIONS)
    diffusion_steps: int = size(200, "diffusion steps T (cosine schedule)", lo=2, hi=4096)
    ddim_steps: int = size(20, "DDIM sampling steps (eta = 0), at most diffusion_steps")
    batch: int = size(64, "training rows per step, drawn with probability proportional to multiplicity")
    samples: int = size(16, "samples per prompt S (fresh x_T per sample)", hi=4096)
    p_uncond: float = traced(0.1, "probability of replacing c by the null embedding in training (CFG dropout)", ge=0, le=1)
    word_insert: float = traced(0.0, "mitigation: probability of each of 2 random words inserted into a training caption", ge=0, le=1)
    text_noise: float = traced(0.0, "mitigation: std lambda of Gaussian noise on the text embedding in training", ge=0, le=10)

    def check_denoiser(self) -> None:
        """One-line ConfigErrors: an image size the model cannot take, more DDIM steps than diffusion steps."""
        check_image_size(self.image)
        if self.ddim_steps > self.diffusion_steps:
            raise ConfigError(f"ddim_steps {self.ddim_steps} exceeds the diffusion steps {self.diffusion_steps}")


def build_denoiser(p: DenoiserFields, vocab: int) -> T2IDenoiser:
    """The ``T2IDenoiser`` that ``p``'s sizes describe, for a vocabulary of ``vocab`` tokens (pad included)."""
    return T2IDenoiser(image_dim=p.image * p.image * 3, vocab=vocab, embed=p.embed, text=p.text, width=p.width, hidden=p.hidden,
                       blocks=p.blocks, time=TIME_EMBED, prediction=p.prediction, diffusion_steps=p.diffusion_steps)


def denoiser_param_count(p: DenoiserFields, vocab: int) -> int:
    """Trainable scalars of ``build_denoiser(p, vocab)``."""
    return param_count(p.image * p.image * 3, vocab, p.embed, p.text, p.width, p.hidden, p.blocks, TIME_EMBED)


@dataclasses.dataclass(frozen=True)
class MitigationCells:
    """What a study of the denoiser's mitigations reads at a scale, beside its own cells: pilot_seeds, the seeds its
    settings were fixed on (claims report the other seeds apart); the mitigations' strengths (Somepalli et al.,
    arXiv 2305.20086, Sec. 5: random word insertion probability, text-embedding noise scale); the three panels'
    names; gaps, claim name -> why the pilots showed the claim does not hold at this scale ('' where it should)."""

    pilot_seeds: tuple[int, ...]
    insert_p: float = 0.3
    noise_lambda: float = 0.1
    main: str = "main"
    insert: str = "insert"
    noise: str = "noise"
    gaps: tuple[tuple[str, str], ...] = ()

    def gap(self, claim: str) -> str:
        return dict(self.gaps).get(claim, "")

    def panels(self, base, seeds, mitigation_seeds) -> dict:
        """``main`` (no mitigation, ``seeds``), ``insert`` (word insertion at ``insert_p``) and ``noise`` (embedding
        noise ``noise_lambda``), the last two on ``mitigation_seeds``: {name: (base params, axes)}."""
        return {
            self.main: (base, {"seed": tuple(seeds)}),
            self.insert: (replace(base, word_insert=self.insert_p), {"seed": tuple(mitigation_seeds)}),
            self.noise: (replace(base, text_noise=self.noise_lambda), {"seed": tuple(mitigation_seeds)}),
        }


def conditioning(model, variables, tokens, drop, key=None, text_noise=0.0):
    """c for captions (B, L), the null embedding where ``drop`` (B,) is True, plus N(0, text_noise^2) noise on
    the non-null embeddings when ``key`` is given (training-time text-embedding noise)."""
    c = model.apply(variables, tokens, method=T2IDenoiser.encode)
    if key is not None:
        c = c + text_noise * jax.random.normal(key, c.shape)
    null = model.apply(variables, method=T2IDenoiser.null_embedding)
    return jnp.where(drop[:, None], null, c)


def diffusion_loss(model, variables, x0, tokens, key, abar, p_uncond=0.1, text_noise=0.0):
    """Mean ||eps - eps_hat||^2 / D over a batch: x0 (B, D), tokens (B, L); t uniform on 1..T (||v - v_hat||^2 / D when
    the model predicts v)."""
    k_t, k_eps, k_drop, k_noise = jax.random.split(key, 4)
    B = x0.shape[0]
    t = jax.random.randint(k_t, (B,), 0, abar.shape[0])
    eps = jax.random.normal(k_eps, x0.shape)
    a = abar[t][:, None]
    xt = jnp.sqrt(a) * x0 + jnp.sqrt(1 - a) * eps
    c = conditioning(model, variables, tokens, jax.random.bernoulli(k_drop, p_uncond, (B,)), k_noise, text_noise)
    if getattr(model, "prediction", "eps") == "v":
        pred = model.apply(variables, xt, t, c, method=T2IDenoiser.raw)
        return jnp.mean((pred - (jnp.sqrt(a) * eps - jnp.sqrt(1 - a) * x0)) ** 2)
    pred = model.apply(variables, xt, t, c, method=T2IDenoiser.eps)
    return jnp.mean((pred - eps) ** 2)


def guided(eps_cond, eps_null, w):
    """Classifier-free guidance: eps_null + w (eps_cond - eps_null) (w = 1: the conditional model)."""
    return eps_null + w * (eps_cond - eps_null)


def ddim_sample(eps_fn, x_T, abar, steps: int, clip: bool = True, record: int = 0):
    """Deterministic DDIM (eta = 0, Song et al. arXiv 2010.02502, Eq. 12) from x_T (..., D).

    eps_fn(x, t) -> (eps (..., D), aux (...,)): the (guided) noise prediction at timestep index t (0-based) and
    any per-sample scalar to record (e.g. the Wen et al. magnitude ||eps_c - eps_null||); ``steps`` evenly
    spaced timesteps from T - 1 down to 0, x0 clipped to [-1, 1] if ``clip``. Returns (x_0, aux of the first
    ``record`` steps stacked (record, ...), or None when record = 0).
    """
    ts = jnp.asarray(ddim_timesteps(abar.shape[0], steps))
    prev = jnp.concatenate([ts[1:], jnp.array([-1], jnp.int32)])

    def body(x, tt):
        t, tp = tt
        eps, aux = eps_fn(x, t)
        a, ap = abar[t], jnp.where(tp >= 0, abar[jnp.maximum(tp, 0)], 1.0)
        x0 = (x - jnp.sqrt(1 - a) * eps) / jnp.sqrt(a)
        if clip:
            x0 = jnp.clip(x0, -1.0, 1.0)
            eps = (x - jnp.sqrt(a) * x0) / jnp.sqrt(1 - a)
        return jnp.sqrt(ap) * x0 + jnp.sqrt(1 - ap) * eps, aux

    if record:
        x, aux_first = jax.lax.scan(body, x_T, (ts[:record], prev[:record]))
        x, _ = jax.lax.scan(body, x, (ts[record:], prev[record:]))
        return x, aux_first
    x, _ = jax.lax.scan(body, x_T, (ts, prev))
    return x, None


def model_eps_fn(model, variables, c, null, w):
    """eps_fn for ``ddim_sample`` from the network: c (..., text) per sample, null (text,), guidance w (scalar or
    (...,)); aux = the Wen et al. magnitude ||eps(x_t, c) - eps(x_t, null)||_2 per sample (arXiv 2407.21720,
    Sec. 3: the norm of the difference)."""
    def fn(x, t):
        tt = jnp.full(x.shape[:-1], t)
        both = model.apply(variables, jnp.concatenate([x, x]), jnp.concatenate([tt, tt]),
                           jnp.concatenate([c, jnp.broadcast_to(null, c.shape)]), method=T2IDenoiser.eps)
        e_c, e_n = jnp.split(both, 2)
        wb = jnp.asarray(w)[..., None] if jnp.ndim(w) else w
        return guided(e_c, e_n, wb), jnp.linalg.norm(e_c - e_n, axis=-1)

    return fn


def optimizer(lr, steps: int, warmup: int, clip: float = 1.0, weight_decay: float = 1e-4):
    """adamw at peak ``lr`` (may be traced): linear warmup over ``warmup`` steps, cosine decay to 0 at ``steps``,
    global-norm clipping at ``clip``."""
    warm = max(1, min(warmup, steps - 1))
    schedule = optax.warmup_cosine_decay_schedule(0.0, 1.0, warm, max(steps, warm + 1))
    return optax.chain(optax.clip_by_global_norm(clip),
                       optax.adamw(lambda n: lr * schedule(n), weight_decay=weight_decay))


def ema_update(ema, params, decay):
    """decay ema + (1 - decay) params, leaf by leaf."""
    return jax.tree_util.tree_map(lambda e, p: decay * e + (1 - decay) * p, ema, params)


def make_train_step(model, abar, opt, images, image_of, captions, log_m, batch: int, key, p_uncond=0.1, text_noise=0.0,
                    ema=0.999, augment=None):
    """One training step as ``step(carry, _) -> (carry, loss)`` with carry = (variables, opt_state, ema_vars, i).

    images (U, D): the distinct images; image_of (R,) int, captions (R, L) and log_m (R,): each training row's
    image index, caption and log multiplicity (-inf: absent); rows are drawn i.i.d. with probability
    m_r / sum m (duplication as sampling weight, as somepago/DCR does), so the multiplicities may be traced.
    augment: optional fn(key, tokens (B, L)) -> tokens applied to the batch's captions (random word
    insertion). The step's key is fold_in(key, i) so a run is reproducible whatever it is batched with.
    """
    def step(carry, _):
        w, state, ema_w, i = carry
        k_rows, k_aug, k_loss = jax.random.split(jax.random.fold_in(key, i), 3)
        rows = jax.random.categorical(k_rows, log_m, shape=(batch,))
        x0, cap = images[image_of[rows]], captions[rows]
        if augment is not None:
            cap = augment(k_aug, cap)
        loss, grad = jax.value_and_grad(lambda v: diffusion_loss(model, v, x0, cap, k_loss, abar, p_uncond, text_noise))(w)
        updates, state = opt.update(grad, state, w)
        w = optax.apply_updates(w, updates)
        return (w, state, ema_update(ema_w, w, ema), i + 1), loss

    return step

"""The objective that actually runs, as LaTeX: the loss's pair of formulas with each active setting's term
and its value, for the page's "The game now" (pure: no torch, no Streamlit).

The composition follows core/training.py step by step: D's loss (with label smoothing's eps, the gradient
penalty, historical averaging) and G's loss ((1 - W) x adversarial + W x feature matching, the adversarial
term against D unrolled K steps, historical averaging), on packs of m samples. Each setting is one entry of
`TERMS`, a rewrite of a `Game`; `objective_latex` applies the active ones in order. The order matters only
where two rewrite the same symbol: unrolling (D -> D_K in G's loss) comes before packing (D's argument
becomes m samples), so that both show.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from .config import TrainConfig
from .losses import LOSSES
from .remedies import MINIBATCH_LABELS, REMEDIES


@dataclass(frozen=True)
class Game:
    """Each player's objective is `sense` applied to the sum of `terms` (every term after the first starts
    with its sign, "+ " or "- "); `where` lists the symbols' values and meanings."""

    d_sense: str
    d_terms: tuple[str, ...]
    g_sense: str
    g_terms: tuple[str, ...]
    d_where: tuple[str, ...] = ()
    g_where: tuple[str, ...] = ()

    def latex(self) -> tuple[str, str]:
        return _display(self.d_sense, self.d_terms, self.d_where), _display(self.g_sense, self.g_terms, self.g_where)


LINE = 90  # LaTeX characters: a longer objective is set one term per line (a column of the page is narrow)


def _display(sense: str, terms: tuple[str, ...], where: tuple[str, ...]) -> str:
    if len(terms) == 1 or sum(map(len, terms)) <= LINE:
        main = rf"{sense}\; {' '.join(terms)}"
    else:
        rows = [rf"{sense}\; & {terms[0]}", *(f"& {t}" for t in terms[1:])]
        main = r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"
    if not where:
        return main
    clauses = r" \\ ".join(rf"\small {w}" for w in where)
    return rf"\begin{{gathered}}{main} \\[4pt] {clauses}\end{{gathered}}"


def terms(body: str) -> tuple[str, ...]:
    """A body's top-level terms, each after the first with its sign: split at " + " and " - " outside
    brackets ((), [], {} and the norm's lVert ... rVert)."""
    out, depth, start, i = [], 0, 0, 0
    while i < len(body):
        if body.startswith((r"\lVert", r"\rVert"), i):
            depth += 1 if body[i + 1] == "l" else -1
            i += 6
            continue
        ch = body[i]
        depth += (ch in "([{") - (ch in ")]}")
        if depth == 0 and body.startswith((" + ", " - "), i) and i > start:
            out.append(body[start:i].strip())
            start = i + 1
            i += 3
            continue
        i += 1
    return (*out, body[start:].strip())


def _num(v: float) -> str:
    return f"{v:g}"


def _maximised(sense: str) -> bool:
    return sense.startswith(r"\max")


def _penalised(sense: str, parts: tuple[str, ...], term: str) -> tuple[str, ...]:
    """A penalty on a player's loss: subtracted from what it maximises, added to what it minimises."""
    return (*parts, f"{'-' if _maximised(sense) else '+'} {term}")


def _as_loss(sense: str, parts: tuple[str, ...]) -> str:
    """What a player minimises, as one expression: minus what it maximises."""
    body = " ".join(parts)
    if not _maximised(sense):
        return body
    return f"-{body}" if len(parts) == 1 else rf"-\big({body}\big)"


def _map(parts: tuple[str, ...], rewrite: Callable[[str], str]) -> tuple[str, ...]:
    return tuple(rewrite(t) for t in parts)


# ---- the rewrites, one per setting -----------------------------------------------------------------------
def _label_smoothing(game: Game, c: TrainConfig) -> Game:
    return dataclasses.replace(
        game,
        d_terms=terms(LOSSES[c.loss].d_smoothed),
        d_where=(*game.d_where, rf"\varepsilon = {_num(c.label_smoothing)}"),
    )


def _weight_clip(game: Game, c: TrainConfig) -> Game:
    return dataclasses.replace(game, d_where=(*game.d_where, rf"c = {_num(c.clip)}"))


def _gradient_penalty(game: Game, c: TrainConfig) -> Game:
    where = rf"\lambda_{{\mathrm{{GP}}}} = {_num(c.gp_lambda)},\quad \hat x = t\,x + (1-t)\,G(z),\ t \sim U[0, 1]"
    return dataclasses.replace(game, d_where=(*game.d_where, where))


def _feature_matching(game: Game, c: TrainConfig) -> Game:
    """training.g_step: loss_g = (1 - W) * adversarial + W * ||E f(x) - E f(G(z))||^2; W = 1 drops the first."""
    w = c.feature_matching
    matching = r"\lVert \mathbb{E}_{x}\, f(x) - \mathbb{E}_{z}\, f(G(z)) \rVert_2^2"
    adversarial = _as_loss(game.g_sense, game.g_terms)
    parts = (matching,) if w == 1 else (rf"(1 - W)\,\big({adversarial}\big)", rf"+ W\,{matching}")
    where = (rf"W = {_num(w)},\quad f = \text{{D's last hidden layer}}",)
    return dataclasses.replace(game, g_sense=r"\min_G", g_terms=parts, g_where=(*game.g_where, *where))


def _historical_averaging(game: Game, c: TrainConfig) -> Game:
    where = rf"\lambda = {_num(c.historical_averaging)},\quad \bar\theta = \text{{mean of the past }}\theta"
    return dataclasses.replace(
        game,
        d_terms=_penalised(game.d_sense, game.d_terms, r"\lambda\,\lVert \theta_D - \bar\theta_D \rVert^2"),
        g_terms=_penalised(game.g_sense, game.g_terms, r"\lambda\,\lVert \theta_G - \bar\theta_G \rVert^2"),
        d_where=(*game.d_where, where),
        g_where=(*game.g_where, where),
    )


def _unrolled(game: Game, c: TrainConfig) -> Game:
    """G's adversarial term is taken against D_K; pure feature matching (W = 1) has none, and unrolling
    then changes nothing (training.g_step skips it too)."""
    if not any("D(G(z))" in t for t in game.g_terms):
        return game
    where = rf"D_K = D \text{{ after }} K = {c.unrolled} \text{{ more of its updates, differentiated through}}"
    return dataclasses.replace(
        game, g_terms=_map(game.g_terms, lambda t: t.replace("D(G(z))", "D_K(G(z))")), g_where=(*game.g_where, where)
    )


def _packing(game: Game, c: TrainConfig) -> Game:
    """D (and its features f) judge packs: x -> (x_1, ..., x_m), G(z) -> (G(z_1), ..., G(z_m))."""
    m = c.pack

    def packed(symbol: str) -> str:
        items = [symbol.replace("#", f"_{i}") for i in range(1, m + 1)]
        return ", ".join(items) if m <= 3 else rf"{items[0]}, \dots, {items[-1]}"

    hat = r"\hat x"

    def rewrite(term: str) -> str:
        return (
            term.replace("(G(z))", f"({packed('G(z#)')})")
            .replace("(x)", f"({packed('x#')})")
            .replace(f"({hat})", f"({packed(hat + '#')})")
        )

    where = rf"m = {m} \text{{ samples per pack, all real or all generated}}"
    return dataclasses.replace(
        game,
        d_terms=_map(game.d_terms, rewrite),
        g_terms=_map(game.g_terms, rewrite),
        d_where=(*game.d_where, where),
        g_where=(*game.g_where, where),
    )


def _minibatch(game: Game, c: TrainConfig) -> Game:
    where = rf"D \text{{ also compares each sample with its batch ({MINIBATCH_LABELS[c.minibatch_kind]})}}"
    return dataclasses.replace(game, d_where=(*game.d_where, where))


def _spectral_norm(game: Game, c: TrainConfig) -> Game:
    where = r"\text{each weight matrix of } D \text{ divided by its largest singular value}"
    return dataclasses.replace(game, d_where=(*game.d_where, where))


@dataclass(frozen=True)
class Term:
    active: Callable[[TrainConfig], bool]
    rewrite: Callable[[Game, TrainConfig], Game] | None  # None: not a term of the objective


def _remedy(name: str, rewrite: Callable[[Game, TrainConfig], Game] | None) -> Term:
    return Term(REMEDIES[name].active, rewrite)


# in the order they are applied; every remedy of core.remedies.REMEDIES has an entry (tests check it)
TERMS: dict[str, Term] = {
    "label-smoothing": _remedy("label-smoothing", _label_smoothing),
    "weight-clip": Term(lambda c: LOSSES[c.loss].clip_weights, _weight_clip),
    "gradient-penalty": Term(lambda c: LOSSES[c.loss].gradient_penalty, _gradient_penalty),
    "feature-matching": _remedy("feature-matching", _feature_matching),
    "historical-averaging": _remedy("historical-averaging", _historical_averaging),
    "unrolled": _remedy("unrolled", _unrolled),
    "packing": _remedy("packing", _packing),
    "minibatch-discrimination": _remedy("minibatch-discrimination", _minibatch),
    "spectral-norm": _remedy("spectral-norm", _spectral_norm),
    # how the game is played, not what it is: shown beside the formulas (k) and in the remedies table
    "k-steps": _remedy("k-steps", None),
    "ttur": _remedy("ttur", None),
    "g-average": _remedy("g-average", None),
}


def objective_latex(config: TrainConfig) -> tuple[str, str]:
    """(D's objective, G's objective) as LaTeX for `config`: the loss's formulas with every active term."""
    loss = LOSSES[config.loss]
    game = Game(loss.d_sense, terms(loss.d_body), loss.g_sense, terms(loss.g_body))
    for term in TERMS.values():
        if term.rewrite is not None and term.active(config):
            game = term.rewrite(game, config)
    return game.latex()

"""Checks of notebook 03: the balance rules."""

from __future__ import annotations

import math

import numpy as np

from gan_helpers.checks._report import _as_bool, _as_float, _call, _fail, _ok, _quiet


#: The blog's margin rule with margin 0.3, written out case by case:
#: (err_real, err_fake, expected (train_d, train_g), why).
BALANCE_CASES = [
    (0.50, 0.50, (True, True), "both errors are between 0.3 and 0.7: the networks are balanced and both train"),
    (0.20, 0.50, (False, True), "err_real < 0.3: D is already too good on real faces, so D skips its turn"),
    (0.50, 0.10, (False, True), "err_fake < 0.3: D is already too good on the fakes, so D skips its turn"),
    (0.10, 0.20, (False, True), "both errors < 0.3: D is too good, so D skips its turn"),
    (0.80, 0.50, (True, False), "err_real > 0.7: D is losing, so G (which needs no help) skips its turn"),
    (0.50, 0.90, (True, False), "err_fake > 0.7: D is losing, so G skips its turn"),
    (0.90, 0.80, (True, False), "both errors > 0.7: D is losing, so G skips its turn"),
    (0.10, 0.90, (True, True), "err_real < 0.3 would skip D and err_fake > 0.7 would skip G: "
                               "if both would be skipped, both train"),
    (0.80, 0.20, (True, True), "err_real > 0.7 would skip G and err_fake < 0.3 would skip D: "
                               "if both would be skipped, both train"),
    (0.30, 0.50, (True, True), "err_real is exactly 0.3: the blog's test is strict (err < 0.3 skips D), "
                               "so D trains"),
    (0.50, 0.70, (True, True), "err_fake is exactly 0.7: the blog's test is strict (err > 0.7 skips G), "
                               "so G trains"),
    (0.29, 0.69, (False, True), "err_real = 0.29 is just below 0.3: D skips its turn"),
    (0.31, 0.71, (True, False), "err_fake = 0.71 is just above 0.7: G skips its turn"),
]


def _decide(rule, err_real, err_fake, d_real_success=float("nan"), d_fake_success=float("nan")):
    if hasattr(rule, "decide"):
        result = _call(rule.decide, f"{type(rule).__name__}.decide", err_real, err_fake, d_real_success,
                       d_fake_success)
    else:
        result = rule(err_real, err_fake)
    try:
        train_d, train_g = result
    except (TypeError, ValueError):
        _fail(f"The rule returned {result!r}; return two booleans: (train_d, train_g).")
    return _as_bool(train_d, "train_d"), _as_bool(train_g, "train_g")


def balance_rule(rule) -> None:
    """Check a margin rule against the blog's table of cases (margin 0.3).

    ``rule`` is a function ``rule(err_real, err_fake) -> (train_d, train_g)``
    or an object with the package's ``decide(err_real, err_fake, d_real_success,
    d_fake_success)`` method. The blog's rule: if err_real or err_fake < 0.3,
    skip D; if either > 0.7, skip G; if both would be skipped, train both.
    """
    results = [(case, _decide(rule, case[0], case[1])) for case in BALANCE_CASES]
    if all(got == (True, True) for _, got in results):
        _fail("Your rule never skips a turn: it always trains both networks (that is the 'always' control of "
              "section 4). The blog's rule skips D when err_real or err_fake < 0.3 (D is already too good) and "
              "skips G when either is > 0.7 (D is losing).")
    for (err_real, err_fake, expected, why), got in results:
        if got == (False, False):
            _fail(f"For err_real={err_real}, err_fake={err_fake} your rule skips both networks: nothing would "
                  "train. The blog's last rule: if both would be skipped, both train.")
    for (err_real, err_fake, expected, why), got in results:
        if got != expected:
            _fail(f"For err_real={err_real}, err_fake={err_fake} your rule returned (train_d={got[0]}, "
                  f"train_g={got[1]}), expected (train_d={expected[0]}, train_g={expected[1]}): {why}.")
    _ok(f"balance rule: all {len(BALANCE_CASES)} cases of the blog's margin rule right, including 'if both would "
        "be skipped, both train' and the strict margins.")


#: The success-rate rule as the exercise phrases it, upper 0.8, written out case by case:
#: (d_real_success, d_fake_success, expected (train_d, train_g), why).
SUCCESS_RULE_CASES = [
    (0.5, 0.5, (True, True), "D is right on half of each: nobody is too good, both train"),
    (0.9, 0.9, (False, True), "D is right on more than 80% of the real faces *and* of the fakes: D is too good "
                              "and skips its turn"),
    (0.95, 0.6, (True, True), "D is right on 95% of the real faces but only 60% of the fakes: it is too good "
                              "only when it is above 80% on both halves"),
    (0.6, 0.85, (True, True),
     "D is right on 85% of the fakes but only 60% of the real faces: not above 80% on both, so D trains"),
    (0.5, 0.1, (True, False), "G fools D with 90% of its fakes (1 - 0.1): G is too good and skips its turn"),
    (0.95, 0.15, (True, False), "G's success is 1 - 0.15 = 0.85 > 0.8: G skips its turn"),
    (0.8, 0.8, (True, True), "exactly 80%: the rule's tests are strict (> 0.8), so nobody skips"),
    (0.5, 0.25, (True, True), "G's success is 1 - 0.25 = 0.75, not above 0.8: G trains"),
]


def success_rule(rule) -> None:
    """Check ``rule(d_real_success, d_fake_success) -> (train_d, train_g)``, the success-rate rule (upper 0.8).

    D is too good when it is right on more than 80% of the real faces and of the
    fakes: D skips its turn. G is too good when more than 80% of its fakes pass
    (1 - d_fake_success > 0.8): G skips its turn. If both would be skipped, both train.
    ``rule`` may also be a ``BalanceRule`` class or instance (``SuccessRule`` or ``SuccessRule()``):
    then its ``decide`` is checked, called with tensors in a compiled function.
    """
    if isinstance(rule, type):
        rule = rule()
    if hasattr(rule, "decide"):
        rule = _compiled_decision(rule, success_rates=True)
    for d_real, d_fake, expected, why in SUCCESS_RULE_CASES:
        result = rule(d_real, d_fake)
        try:
            train_d, train_g = result
        except (TypeError, ValueError):
            _fail(f"The rule returned {result!r}; return two booleans: (train_d, train_g).")
        got = (_as_bool(train_d, "train_d"), _as_bool(train_g, "train_g"))
        if got == (False, False):
            _fail(f"For d_real_success={d_real}, d_fake_success={d_fake} your rule skips both networks: nothing "
                  "would train. If both would be skipped, both train. (With the right tests both cannot be too "
                  "good at once: G's success is 1 - d_fake_success.)")
        if got != expected:
            _fail(f"For d_real_success={d_real}, d_fake_success={d_fake} your rule returned (train_d={got[0]}, "
                  f"train_g={got[1]}), expected (train_d={expected[0]}, train_g={expected[1]}): {why}.")
    _ok(f"success rule: all {len(SUCCESS_RULE_CASES)} cases right (D skips when above 80% on both halves, "
        "G skips when more than 80% of its fakes pass).")


#: (real logits, fake logits, expected (d_real_success, d_fake_success, g_success), what the case is about)
SUCCESS_CASES = [
    ([2.0, -1.0, 0.5, 3.0], [-2.0, -0.1, 1.0, -3.0], (0.75, 0.75, 0.25),
     "3 of 4 real logits are > 0 and 3 of 4 fake logits are < 0"),
    ([0.3, 0.2], [-0.3, -0.2], (1.0, 1.0, 0.0),
     "small logits count too: a logit > 0 means 'real' (probability sigmoid(0.3) = 0.57 > 0.5)"),
    ([[-4.0], [5.0], [-0.5]], [[4.0], [-5.0], [0.5]], (1 / 3, 1 / 3, 2 / 3),
     "D's output has shape (batch, 1): one logit per image"),
    ([0.0, 0.0], [0.0, 0.0], (0.0, 0.0, 1.0),
     "a logit of exactly 0 is neither > 0 nor < 0: D is right on neither half, and G's success is 1 - D's "
     "success on the fakes"),
]


def success_rates(fn) -> None:
    """Check ``fn(real_logits, fake_logits) -> (d_real_success, d_fake_success, g_success)``.

    D on real = fraction of real images with logit > 0; D on fakes = fraction of
    fakes with logit < 0; G = 1 - D on fakes (the fakes D does not call fake).
    """
    for real, fake, expected, what in SUCCESS_CASES:
        result = fn(np.asarray(real, np.float32), np.asarray(fake, np.float32))
        try:
            got = tuple(_as_float(v, "each success rate") for v in result)
        except TypeError:
            _fail(f"success_rates returned {result!r}; return three numbers.")
        if len(got) != 3:
            _fail(f"success_rates returned {len(got)} values; return three: "
                  "(d_real_success, d_fake_success, g_success).")
        if np.allclose(got, expected, atol=1e-6):
            continue
        r, f = np.ravel(real), np.ravel(fake)
        half = (np.mean(r > 0.5), np.mean(f < 0.5), 1 - np.mean(f < 0.5))
        hint = ""
        if np.allclose(got, half, atol=1e-6) or np.isclose(got[0], np.mean(r > 0.5)):
            hint = (" A logit is compared with 0, not 0.5: sigmoid(0) = 0.5, so logit > 0 is probability > 0.5. "
                    "(If you applied the sigmoid yourself, compare the probabilities with 0.5.)")
        elif abs(got[2] - got[1]) < 1e-9 and abs(expected[2] - expected[1]) > 1e-9:
            hint = " G's success is the share of fakes that D takes for real: 1 - D's success on fakes."
        elif abs(got[0] - np.mean(f > 0)) < 1e-9 and abs(got[1] - np.mean(r < 0)) < 1e-9:
            hint = " The two halves are swapped: the first argument holds the logits of the real images."
        _fail(f"For real logits {real} and fake logits {fake} you returned "
              f"{tuple(round(v, 4) for v in got)}, expected {tuple(round(v, 4) for v in expected)}: {what}.{hint}")
    _ok(f"success_rates: all {len(SUCCESS_CASES)} cases right (real if logit > 0, fake if < 0, G = 1 - D on fakes).")


def rule_replay(rule, steps, margin: float = 0.3) -> float:
    """Replay ``rule`` on the steps a run recorded and compare with the turns the run took.

    ``steps`` are the run's per-step rows (``run.steps``: ``err_real``, ``err_fake``,
    ``d_updated``, ``g_updated``) from a run trained with the margin rule.
    Steps whose errors lie within 1e-6 of a margin are left out (float32
    round-off decides those). Returns the fraction of steps where D trained.
    """
    if not steps:
        _fail("No steps to replay: run the training cell of section 3 first (run.steps is empty).")
    compared, d_trained = 0, 0
    edges = (margin, 1 - margin)
    for number, step in enumerate(steps, start=1):
        err_real, err_fake = float(step["err_real"]), float(step["err_fake"])
        if not (math.isfinite(err_real) and math.isfinite(err_fake)):
            continue
        if any(abs(err - edge) < 1e-6 for err in (err_real, err_fake) for edge in edges):
            continue
        recorded = (step["d_updated"] >= 0.5, step["g_updated"] >= 0.5)
        got = _decide(rule, err_real, err_fake)
        if got != recorded:
            _fail(f"Step {number}: err_real={err_real:.4f}, err_fake={err_fake:.4f}; the run trained "
                  f"D={recorded[0]}, G={recorded[1]}, your rule says D={got[0]}, G={got[1]}. "
                  "Run checks.balance_rule(your_rule) for the case that explains it.")
        compared += 1
        d_trained += recorded[0]
    if not compared:
        _fail("None of the steps had finite errors away from the margins; train a little longer.")
    g_trained = sum(step["g_updated"] >= 0.5 for step in steps) / len(steps)
    _ok(f"rule_replay: your rule takes the same turns as the run on all {compared} steps compared "
        f"(D trained on {d_trained / compared:.0%} of them, G on {g_trained:.0%} of all steps).")
    return d_trained / compared


def _compiled_decision(rule, success_rates: bool = False):
    """A function of two numbers that runs ``rule.decide`` in a compiled function, as the training step does."""
    from gan_helpers._quiet import import_tensorflow

    tf = import_tensorflow()
    decide = tf.function(rule.decide)
    name = f"{type(rule).__name__}.decide"

    def decision(a, b):
        nan = tf.constant(float("nan"))
        args = (nan, nan, tf.constant(a, tf.float32), tf.constant(b, tf.float32)) if success_rates else \
            (tf.constant(a, tf.float32), tf.constant(b, tf.float32), nan, nan)
        result = _call(decide, name, *args)
        try:
            train_d, train_g = result
        except (TypeError, ValueError):
            _fail(f"{name} returned {result!r}; return two boolean tensors: (train_d, train_g).")
        return _as_bool(train_d, "train_d"), _as_bool(train_g, "train_g")

    return decision


#: (train_d, train_g) that a rule proposes -> what never_both_skipped must return.
NEVER_BOTH_SKIPPED_CASES = [((True, True), (True, True)), ((False, True), (False, True)),
                            ((True, False), (True, False)), ((False, False), (True, True))]

#: The margin rule with margin 0.2: its edges move with it.
MARGIN_02_CASES = [
    (0.19, 0.50, (False, True), "with margin 0.2, err_real = 0.19 < 0.2: D skips its turn"),
    (0.21, 0.50, (True, True), "with margin 0.2, err_real = 0.21 is not below 0.2: both train (0.3 is not the "
                               "margin any more: use self.margin)"),
    (0.50, 0.81, (True, False), "with margin 0.2, err_fake = 0.81 > 1 - 0.2: G skips its turn"),
    (0.50, 0.79, (True, True), "with margin 0.2, err_fake = 0.79 is not above 0.8: both train"),
    (0.10, 0.90, (True, True), "with margin 0.2 both would skip (err_real < 0.2 and err_fake > 0.8): both train"),
]


def never_both_skipped(fn) -> None:
    """Check ``fn(train_d, train_g) -> (train_d, train_g)`` on boolean tensors in a compiled function:
    the blog's last rule, "if both would be skipped, both train"; otherwise the turns stay as they are."""
    from gan_helpers._quiet import import_tensorflow

    tf = import_tensorflow()
    compiled = tf.function(fn)
    for (d, g), expected in NEVER_BOTH_SKIPPED_CASES:
        result = _call(compiled, "never_both_skipped", tf.constant(d), tf.constant(g))
        try:
            got = tuple(_as_bool(v, "each returned value") for v in result)
        except TypeError:
            _fail(f"never_both_skipped returned {result!r}; return two boolean tensors (train_d, train_g).")
        if got != expected:
            why = ("both would be skipped, so both train" if (d, g) == (False, False) else
                   "only one is skipped: it stays skipped, the other trains")
            _fail(f"never_both_skipped(train_d={d}, train_g={g}) returned {got}, expected {expected}: {why}.")
    _ok("never_both_skipped: both skipped -> both train; the other three cases unchanged (in a compiled step).")


def margin_rule(rule_class) -> None:
    """Check the core exercise ``MarginRule``: its ``decide`` on the blog's table (margin 0.3) and on the
    edges of margin 0.2, called with tensors in a compiled function as the training step calls it.

    ``rule_class`` is the class (``MarginRule``); an instance (``MarginRule()``) is checked through its
    class, since the check builds rules with both margins."""
    if not isinstance(rule_class, type):
        rule_class = type(rule_class)
    rule = rule_class()
    with _quiet():
        balance_rule(_compiled_decision(rule))
    for err_real, err_fake, expected, why in MARGIN_02_CASES:
        got = _compiled_decision(rule_class(margin=0.2))(err_real, err_fake)
        if got != expected:
            _fail(f"MarginRule(margin=0.2) for err_real={err_real}, err_fake={err_fake} returned (train_d={got[0]}, "
                  f"train_g={got[1]}), expected (train_d={expected[0]}, train_g={expected[1]}): {why}.")
    _ok(f"MarginRule: all {len(BALANCE_CASES)} cases of the blog's rule with margin 0.3 and {len(MARGIN_02_CASES)} "
        "edges of margin 0.2 right, on tensors in a compiled function.")


def adaptive_rule(rule_class) -> None:
    """Check an adaptive margin rule (notebook 03, exercise 1): a ``BalanceRule`` class whose margin moves.

    Called as the training step calls it (tensors, compiled): on balanced errors it trains both; it
    never skips both; and when D stays too good for 200 steps in a row (both errors 0.2, which the
    fixed margin 0.3 answers by skipping D every time) it lets D train again at some point: the margin
    adapted. Returns nothing; prints how the rule answered each sequence.
    """
    from gan_helpers._quiet import import_tensorflow

    tf = import_tensorflow()
    sequences = {"balanced (0.5, 0.5)": (0.5, 0.5), "D too good (0.2, 0.2)": (0.2, 0.2),
                 "D losing (0.8, 0.8)": (0.8, 0.8), "mixed (0.1, 0.9)": (0.1, 0.9)}
    trained = {}
    for what, (err_real, err_fake) in sequences.items():
        rule = _call(rule_class, "your rule's __init__")
        decide = tf.function(rule.decide)
        turns = []
        for _ in range(200):
            result = _call(decide, f"{rule_class.__name__}.decide", tf.constant(err_real), tf.constant(err_fake),
                           tf.constant(0.5), tf.constant(0.5))
            turns.append(tuple(_as_bool(v, "each returned value") for v in result))
        if (False, False) in turns:
            _fail(f"On the sequence '{what}' your rule skipped both networks on step {turns.index((False, False)) + 1}: "
                  "keep the blog's last rule (never_both_skipped).")
        trained[what] = (sum(d for d, _ in turns), sum(g for _, g in turns))
    if trained["balanced (0.5, 0.5)"] != (200, 200):
        _fail(f"On balanced errors (0.5, 0.5) your rule trained D on {trained['balanced (0.5, 0.5)'][0]} and G on "
              f"{trained['balanced (0.5, 0.5)'][1]} of 200 steps: when neither network is too good, both train.")
    if trained["D too good (0.2, 0.2)"][0] == 0:
        _fail("When D stays too good (both errors 0.2 for 200 steps) your rule skips D every time, as the fixed margin "
              "0.3 does: the margin never adapted. Let it move with what happens, e.g. shrink it a little each "
              "time a turn is skipped (a tf.Variable that decide assigns), within bounds.")
    _ok("adaptive rule: " + "; ".join(f"{what}: D trained {d}, G {g} of 200 steps" for what, (d, g) in trained.items()))


def replayed_skips(rule, steps) -> tuple[float, float]:
    """The fractions of ``steps`` (a run's per-step rows) on which ``rule`` would skip D and G, replayed in order."""
    skipped = np.array([[not turn for turn in _decide(rule, float(s["err_real"]), float(s["err_fake"]),
                                                      float(s["d_real_success"]), float(s["d_fake_success"]))]
                        for s in steps], dtype=float)
    return float(skipped[:, 0].mean()), float(skipped[:, 1].mean())

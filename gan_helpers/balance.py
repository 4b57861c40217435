"""Rules of thumb that keep D and G balanced: which network trains this step.

Each rule is a small object with one method, ``decide``, that looks at the
discriminator's numbers on the current batch and returns two booleans:
``(train_discriminator, train_generator)``. They are written with
TensorFlow ops so they run inside the compiled training step. Choose one by
name with :func:`get`.

- ``"margin"``: the blog's rule. With D's binary cross-entropy on the real
  half (``err_real``) and the fake half (``err_fake``) of the batch: skip D's
  update if either is below ``margin`` (D is already too good); skip G's
  update if either is above ``1 - margin`` (D is losing, so G needs no help);
  if both would be skipped, update both.
- ``"success"``: the same idea on success rates, as the exercise phrases it.
  D is too good when it classifies more than ``upper`` of both the real and
  the fake images correctly; G is too good when more than ``upper`` of its
  fakes are taken for real. The one that is too good skips its turn; if
  both would be skipped, both train.
- ``"always"``: always train both (the control in notebook 03).
"""

from __future__ import annotations

from gan_helpers._quiet import import_tensorflow

tf = import_tensorflow()


class BalanceRule:
    """Base class: ``decide`` returns ``(train_d, train_g)`` as boolean tensors."""

    name = "base"

    def decide(self, err_real, err_fake, d_real_success, d_fake_success):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


# %% exported: never_both_skipped, MarginRule (notebooks/03_training.ipynb) -- edit it there, then run
#    python -m gan_helpers.export
def never_both_skipped(train_d, train_g):
    """The blog's last rule: if both turns would be skipped, both networks train.

    Args:
        train_d, train_g: boolean tensors (scalars): whether each network would train.

    Returns:
        ``(train_d, train_g)``, boolean tensors: both True when both inputs are False, the inputs
        unchanged otherwise.

    Hint: the step is compiled, so combine tensors with ``tf.logical_and``, ``tf.logical_or`` and
    ``tf.logical_not`` rather than Python's ``and``/``or``/``not``.
    """
    both_skipped = tf.logical_and(tf.logical_not(train_d), tf.logical_not(train_g))
    return tf.logical_or(train_d, both_skipped), tf.logical_or(train_g, both_skipped)


class MarginRule(BalanceRule):
    """The blog's rule on D's cross-entropies (section 2 of notebook 03)."""

    name = "margin"

    def __init__(self, margin: float = 0.3):
        if not 0 < margin < 0.5:
            raise ValueError(f"margin must be in (0, 0.5). Received: margin={margin}")
        self.margin = margin

    def decide(self, err_real, err_fake, d_real_success, d_fake_success):
        """``(train_d, train_g)`` for one step, from D's cross-entropies (the success rates are unused).

        With m = ``self.margin``: D is already too good when ``err_real`` or ``err_fake`` is below m,
        and skips its turn; D is losing when either is above 1 - m, and G skips its turn; if both
        would be skipped, both train (``never_both_skipped``). The tests are strict (< and >): an
        error of exactly m or 1 - m skips nothing.

        Args:
            err_real, err_fake: scalar float tensors, D's cross-entropies on this step's batch.
            d_real_success, d_fake_success: scalar float tensors (not used by this rule).

        Returns:
            ``(train_d, train_g)``, boolean tensors.
        """
        m = self.margin
        train_d = tf.logical_not(tf.logical_or(err_real < m, err_fake < m))
        train_g = tf.logical_not(tf.logical_or(err_real > 1 - m, err_fake > 1 - m))
        return never_both_skipped(train_d, train_g)

    def get_config(self):
        return {"name": self.name, "margin": self.margin}
# %% end of exported code


# %% exported: SuccessRule, AlwaysTrainBoth (notebooks/03_training.ipynb) -- edit it there, then run
#    python -m gan_helpers.export
class SuccessRule(BalanceRule):
    """Skip the turn of the network whose success rate is above ``upper``."""

    name = "success"

    def __init__(self, upper: float = 0.8):
        if not 0.5 < upper <= 1:
            raise ValueError(f"upper must be in (0.5, 1]. Received: upper={upper}")
        self.upper = upper

    def decide(self, err_real, err_fake, d_real_success, d_fake_success):
        """``(train_d, train_g)`` for one step, from the success rates, as the exercise phrases the rule.

        D is too good when it is right on more than ``self.upper`` of the real images *and* of the
        fakes: D skips its turn. G is too good when more than ``self.upper`` of its fakes pass for
        real (G's success, 1 - ``d_fake_success``): G skips its turn. If both would be skipped, both
        train. The tests are strict (>).

        Returns:
            ``(train_d, train_g)``, boolean tensors.
        """
        d_too_good = tf.logical_and(d_real_success > self.upper, d_fake_success > self.upper)
        g_too_good = (1.0 - d_fake_success) > self.upper
        return never_both_skipped(tf.logical_not(d_too_good), tf.logical_not(g_too_good))

    def get_config(self):
        return {"name": self.name, "upper": self.upper}


class AlwaysTrainBoth(BalanceRule):
    """Train both networks every step."""

    name = "always"

    def decide(self, err_real, err_fake, d_real_success, d_fake_success):
        return tf.constant(True), tf.constant(True)
# %% end of exported code


RULES = {rule.name: rule for rule in (MarginRule, SuccessRule, AlwaysTrainBoth)}


def get(rule="margin", **kwargs) -> BalanceRule:
    """A rule by name (``"margin"``, ``"success"``, ``"always"``), or the rule itself."""
    if isinstance(rule, BalanceRule):
        return rule
    if isinstance(rule, dict):
        kwargs = {**rule, **kwargs}
        rule = kwargs.pop("name")
    if rule not in RULES:
        raise ValueError(f"Unknown balance rule {rule!r}; choose one of {', '.join(RULES)}.")
    return RULES[rule](**kwargs)

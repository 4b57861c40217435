"""The core exercises' checks (gan_helpers.checks): the package's own code passes, and each classic
mistake, made by editing one line of that code, fails with a message that names it."""

import functools
import inspect
import textwrap

import pytest

from gan_helpers import balance, checks, models, training, wgan


def variant(function, old, new):
    """``function`` with one piece of its source replaced, defined in its own module's namespace."""
    source = textwrap.dedent(inspect.getsource(function))
    assert old in source, old
    namespace = dict(inspect.getmodule(function).__dict__)
    exec(source.replace(old, new), namespace)
    return namespace[function.__name__]


def blank(*args, **kwargs):
    raise NotImplementedError("Exercise 00.1: write blank")


def test_the_packages_own_core_code_passes_every_core_check(capsys):
    checks.discriminator_builder(models.build_discriminator)
    checks.generator_builder(models.build_generator)
    checks.never_both_skipped(balance.never_both_skipped)
    checks.margin_rule(balance.MarginRule)
    checks.success_rule(balance.SuccessRule())
    checks.score_batch(training.score_batch)
    checks.train_step(training.score_batch, training.train_step)
    checks.wgan_schedule(wgan.critic_iterations)
    checks.wgan_clipping(wgan.clip_weights)
    checks.wgan_penalty(wgan.penalty)
    checks.critic_step(wgan.critic_step)
    checks.generator_step(wgan.generator_step)
    assert capsys.readouterr().out.count("OK: ") == 12


@pytest.mark.parametrize("check", [checks.discriminator_builder, checks.generator_builder, checks.never_both_skipped,
                                   checks.score_batch, checks.wgan_schedule, checks.wgan_clipping,
                                   checks.wgan_penalty, checks.critic_step, checks.generator_step])
def test_a_blank_scaffold_is_not_written_yet(check):
    with pytest.raises(AssertionError, match="not written yet"):
        check(blank)


def test_blank_rules_and_steps_are_not_written_yet():
    with pytest.raises(AssertionError, match="MarginRule.decide is not written yet"):
        checks.margin_rule(type("MarginRule", (balance.MarginRule,), {"decide": blank}))
    with pytest.raises(AssertionError, match="train_step is not written yet"):
        checks.train_step(training.score_batch, blank)


@pytest.mark.parametrize("build, message", [
    (functools.partial(models.build_discriminator, dense_units=(128,)), "1,648,161"),
    (functools.partial(models.build_discriminator, batch_norm=True), "BatchNormalization"),
    (lambda **kw: None, "returned None"),
])
def test_discriminator_builder_says_what_is_wrong(build, message):
    with pytest.raises(AssertionError, match=message):
        checks.discriminator_builder(build)


def test_discriminator_builder_catches_ignored_dropout_arguments():
    ignored = variant(models.build_discriminator, "layers.SpatialDropout2D(conv_dropout,", "layers.SpatialDropout2D(0.2,")
    with pytest.raises(AssertionError, match="conv_dropout"):
        checks.discriminator_builder(ignored)


@pytest.mark.parametrize("old, new, message", [
    ("widths=(128, 64, 32)", "widths=(128, 64, 16)", "1,318,979"),
    ("Unpooling2D(2, mode=unpooling,", "Unpooling2D(2, mode=\"nearest\",", "unpooling='zeros'"),
    ("        if batch_norm:\n            x = layers.BatchNormalization(momentum=batch_norm_momentum, name=f\"block",
     "        if True:\n            x = layers.BatchNormalization(momentum=batch_norm_momentum, name=f\"block",
     "BatchNormalization"),
])
def test_generator_builder_says_what_is_wrong(old, new, message):
    with pytest.raises(AssertionError, match=message):
        checks.generator_builder(variant(models.build_generator, old, new))


def test_margin_rule_catches_a_hard_coded_margin():
    # The class is a whole cell: replace decide only.
    hard = variant(balance.MarginRule.decide, "m = self.margin", "m = 0.3")
    with pytest.raises(AssertionError, match="margin 0.2"):
        checks.margin_rule(type("MarginRule", (balance.MarginRule,), {"decide": hard}))


def test_the_rule_checks_take_a_class_or_an_instance(capsys):
    checks.margin_rule(balance.MarginRule())
    checks.success_rule(balance.SuccessRule)
    assert capsys.readouterr().out.count("OK: ") == 2
    hard = variant(balance.MarginRule.decide, "m = self.margin", "m = 0.3")
    with pytest.raises(AssertionError, match="margin 0.2"):
        checks.margin_rule(type("MarginRule", (balance.MarginRule,), {"decide": hard})())
    lenient = variant(balance.SuccessRule.decide, "> self.upper", ">= 0.0")
    with pytest.raises(AssertionError):
        checks.success_rule(type("SuccessRule", (balance.SuccessRule,), {"decide": lenient}))


def test_never_both_skipped_catches_a_rule_that_lets_both_skip():
    with pytest.raises(AssertionError, match="both would be skipped"):
        checks.never_both_skipped(lambda d, g: (d, g))


@pytest.mark.parametrize("old, new, message", [
    ("from_logits=True", "from_logits=False", "from_logits=True"),
    ('if self.d_batch == "mixed":', "if False:", "d_batch='mixed'"),
    ("real_logits > 0", "real_logits >= -1", "d_real_success"),
    ("bce(ones, real_logits", "bce(zeros, real_logits", "err_real"),
])
def test_score_batch_says_what_is_wrong(old, new, message):
    with pytest.raises(AssertionError, match=message):
        checks.score_batch(variant(training.score_batch, old, new))


@pytest.mark.parametrize("old, new, message", [
    ("tf.cond(train_d,", "tf.cond(tf.constant(True),", "skips D's turn, but D's weights or its optimizer"),
    ("tf.cond(train_g,", "tf.cond(tf.constant(False),", "trains G, but its weights did not move"),
    ("self.d_skips.assign_add(tf.cast(tf.logical_not(train_d), tf.int64))", "pass", "d_skips is 0, expected 1"),
    ("seed=self.noise_seed)", "seed=None)", "self.noise_seed"),
    ('"g_success": 1.0 - score["d_fake_success"]', '"g_success": score["d_fake_success"]', "g_success"),
])
def test_train_step_says_what_is_wrong(old, new, message):
    with pytest.raises(AssertionError, match=message):
        checks.train_step(training.score_batch, variant(training.train_step, old, new))


@pytest.mark.parametrize("check, function, old, new, message", [
    (checks.critic_step, wgan.critic_step, "loss_d = loss_d_real - loss_d_fake", "loss_d = loss_d_fake - loss_d_real",
     "loss_d is"),
    (checks.critic_step, wgan.critic_step, "    self.clip_weights()\n", "", "clip_weights"),
    (checks.critic_step, wgan.critic_step, "    self.critic_steps.assign_add(1)\n", "", "critic_steps"),
    (checks.generator_step, wgan.generator_step, "objective = scale * loss_g", "objective = -scale * loss_g",
     "raised Loss_G"),
    (checks.generator_step, wgan.generator_step, "    self.critic_steps.assign(0)\n", "", "critic_steps"),
    (checks.wgan_schedule, wgan.critic_iterations,
     "    if self.warmup_every:\n        warm = warm | (gen_iterations % self.warmup_every == 0)",
     "    warm = warm | (gen_iterations % 500 == 0)", "warm-up off"),
    (checks.wgan_schedule, wgan.critic_iterations, "    if self.warmup_every:\n", "    if True:\n", "divides by zero"),
    (checks.wgan_clipping, wgan.clip_weights, "    if self.clip_value is None:\n        return\n", "", "None"),
    (checks.wgan_penalty, wgan.penalty, "seed=self.noise_seed)", "seed=None)", "self.noise_seed"),
    (checks.wgan_penalty, wgan.penalty, "tf.square(norms - 1.0)", "tf.abs(norms - 1.0)", "square the difference"),
])
def test_wgan_checks_say_what_is_wrong(check, function, old, new, message):
    with pytest.raises(AssertionError, match=message):
        check(variant(function, old, new))


@pytest.mark.parametrize("old, new, message", [
    ("layers.SpatialDropout2D(conv_dropout,", "layers.Dropout(conv_dropout,", "SpatialDropout2D"),
    ("    if image_size % (2 ** len(widths)):\n", "    if False:\n", "ValueError"),
    ("layers.Dropout(dense_dropout,", "layers.Dropout(conv_dropout,", "dense dropout rates"),
])
def test_discriminator_builder_catches_what_a_new_student_tried(old, new, message):
    with pytest.raises(AssertionError, match=message):
        checks.discriminator_builder(variant(models.build_discriminator, old, new))


@pytest.mark.parametrize("old, new, message", [
    ("batch_norm_momentum: float = 0.9", "batch_norm_momentum: float = 0.99", "momenta"),
    ("layers.Dropout(dropout,", "layers.Dropout(0.1,", "dropout=0.25"),
    ("    if latent_dim < 1:\n", "    if False:\n", "latent_dim=0"),
])
def test_generator_builder_catches_what_a_new_student_tried(old, new, message):
    with pytest.raises(AssertionError, match=message):
        checks.generator_builder(variant(models.build_generator, old, new))


@pytest.mark.parametrize("old, new, message", [
    ('d_loss = score["err_real"] + score["err_fake"]', 'd_loss = -(score["err_real"] + score["err_fake"])',
     "D trained but its loss did not fall"),
    ('"d_updated": tf.cast(train_d, tf.float32)', '"d_updated": train_d', "boolean tensor"),
])
def test_train_step_catches_what_a_new_student_tried(old, new, message):
    with pytest.raises(AssertionError, match=message):
        checks.train_step(training.score_batch, variant(training.train_step, old, new))


def test_score_batch_catches_networks_in_inference_mode():
    with pytest.raises(AssertionError, match="training=True"):
        checks.score_batch(variant(training.score_batch, "fakes = self.generator(noise, training=True)",
                                   "fakes = self.generator(noise, training=False)"))


def test_the_penalty_check_catches_one_weight_for_the_whole_batch():
    shared = variant(wgan.penalty, "alpha = keras.random.uniform((batch,) + (1,) * (len(real.shape) - 1),",
                     "alpha = keras.random.uniform((1,) + (1,) * (len(real.shape) - 1),")
    with pytest.raises(AssertionError, match="one weight for the whole batch"):
        checks.wgan_penalty(shared)


def test_the_generator_step_check_catches_a_critic_in_inference_mode():
    with pytest.raises(AssertionError, match="training=True"):
        checks.generator_step(variant(wgan.generator_step, "self.critic(self.generator(noise, training=True), training=True)",
                                      "self.critic(self.generator(noise, training=True), training=False)"))


def test_train_step_catches_a_generator_that_maximises_its_loss():
    text = textwrap.dedent(inspect.getsource(training.train_step))
    text = text.replace('d_loss = score["err_real"] + score["err_fake"]',
                        'd_loss = score["err_real"] + score["err_fake"]\n        g_loss = -score["err_gen"]')
    assert 'g_tape.gradient(score["err_gen"], g_vars)' in text
    text = text.replace('g_tape.gradient(score["err_gen"], g_vars)', 'g_tape.gradient(g_loss, g_vars)')
    namespace = dict(training.__dict__)
    exec(text, namespace)
    with pytest.raises(AssertionError, match="G trained but its loss err_gen did not fall"):
        checks.train_step(training.score_batch, namespace["train_step"])


# The gaps a second new student found: a mistake caught, a correct alternative accepted, the real cause first.

def test_the_penalty_check_tries_points_of_any_rank():  # 04.3: alpha of the literal shape (n, 1, 1, 1)
    fixed = variant(wgan.penalty, "alpha = keras.random.uniform((batch,) + (1,) * (len(real.shape) - 1),",
                    "alpha = keras.random.uniform((batch, 1, 1, 1),")
    with pytest.raises(AssertionError, match=r"2-D points.*\(batch,\) \+ \(1,\) \* \(len\(real.shape\) - 1\)"):
        checks.wgan_penalty(fixed)


def test_the_generator_check_needs_the_unpooling_argument_passed_on():  # 02.1: Unpooling2D(2) alone
    default_mode = variant(models.build_generator, "Unpooling2D(2, mode=unpooling,", "Unpooling2D(2,")
    with pytest.raises(AssertionError, match="unpooling='nearest'.*pass `unpooling` to every Unpooling2D"):
        checks.generator_builder(default_mode)


def test_the_critic_step_message_agrees_with_the_notebook_on_when_to_clip():  # 04.4
    with pytest.raises(AssertionError, match="after the update: the port clips after every critic update") as caught:
        checks.critic_step(variant(wgan.critic_step, "    self.clip_weights()\n", ""))
    assert "clamps after optimizerD.step()" not in str(caught.value)


@pytest.mark.parametrize("old, new", [
    ('x = layers.ReLU(name="project_relu")(x)', 'x = layers.Activation("relu", name="project_relu")(x)'),
    ('x = layers.Dense(start * start * start_channels, name="project")(noise)\n    x = layers.ReLU(name="project_relu")(x)',
     'x = layers.Dense(start * start * start_channels, activation="relu", name="project")(noise)'),
])
def test_the_generator_check_accepts_any_form_of_the_project_relu(old, new, capsys):  # 02.1 false alarm
    checks.generator_builder(variant(models.build_generator, old, new))
    assert "OK: build_generator" in capsys.readouterr().out


def test_score_batch_leads_with_the_training_flag():  # 03.4: the cause first, not the from_logits hint
    for network in ("self.generator(noise, training=True)", "self.discriminator(real_images, training=True)"):
        if network not in inspect.getsource(training.score_batch):
            continue
        inference = variant(training.score_batch, network, network.replace("training=True", "training=False"))
        with pytest.raises(AssertionError) as caught:
            checks.score_batch(inference)
        message = str(caught.value)
        assert "inference mode" in message and "from_logits" not in message, message


def test_the_clipping_check_names_a_clipped_generator():  # 04.2: caught on purpose, not by an AttributeError
    both = variant(wgan.clip_weights, "for variable in self.critic.trainable_variables:",
                   "for variable in self.critic.trainable_variables + self.generator.trainable_variables:")
    with pytest.raises(AssertionError, match="changed the generator's weights"):
        checks.wgan_clipping(both)


def test_the_discriminator_check_wants_batch_norm_right_after_the_convolution():  # 01.1
    after_pool = variant(models.build_discriminator,
                         '        if batch_norm:\n            x = layers.BatchNormalization(name=f"block{i}_batchnorm")(x)\n'
                         '        x = layers.MaxPooling2D(2, name=f"block{i}_pool")(x)\n',
                         '        x = layers.MaxPooling2D(2, name=f"block{i}_pool")(x)\n'
                         '        if batch_norm:\n            x = layers.BatchNormalization(name=f"block{i}_batchnorm")(x)\n')
    with pytest.raises(AssertionError, match="right after the convolution"):
        checks.discriminator_builder(after_pool)


def test_the_discriminator_check_needs_a_falling_loss():  # 01: a rising loss is not called success
    frozen = variant(models.build_discriminator, 'layers.Dense(1, name="logit")',
                     'layers.Dense(1, name="logit", kernel_initializer="zeros", trainable=False)')
    with pytest.raises(AssertionError, match="did not lower its loss"):
        checks.discriminator_builder(frozen)


@pytest.mark.parametrize("old, new, message", [
    ("tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=1) + 1e-12)", "tf.norm(gradients, axis=1)", "1e-12"),
    ("scores = self.critic(between, training=True)", "scores = self.critic(between)", "training=True"),
])
def test_the_penalty_check_tests_the_epsilon_and_the_training_flag(old, new, message):  # 04.3
    with pytest.raises(AssertionError, match=message):
        checks.wgan_penalty(variant(wgan.penalty, old, new))

"""Self-checks for the notebooks' exercises: each one says what is wrong and how to look for it.

Two kinds of exercise end in a check:

- the **core exercises**, the exercise's own code that every later cell of a
  notebook runs: ``build_discriminator`` (01), ``build_generator`` (02), the
  balance rules, ``score_batch`` and ``train_step`` (03), and the WGAN's
  schedule, clipping, penalty, critic step and generator step (04). Their
  checks judge behaviour, never text: shapes, block order, parameter counts,
  a few training steps, values computed independently from the same
  network outputs, weights that must or must not move. A scaffold that still
  raises ``NotImplementedError`` gets a "not written yet" message;
- the **end-of-notebook exercises** (a section "Exercises" in every notebook).

A check prints one line starting with ``OK:`` when the answer is right, and
raises ``AssertionError`` otherwise, with a message that names the case that
failed, what was expected, and a hint. The expected values are written out
here from the blog's and the papers' rules (the margin rule's cases, the WGAN
schedule, the crop boxes), closed forms (the slerp, the parameter count, the
gradient penalty of a linear critic), or small models built here; never by
calling the code under test, so a bug in the package cannot make a wrong
answer pass.

The checks, by notebook (one module each):

- 00 (``_data``): ``crop_box(fn)``, ``scaling(to_float, to_uint8)``, ``person_split(split, people)``;
- 01 (``_discriminator``): ``discriminator_builder(build)``, ``discriminator(model, ...)``,
  ``same_outputs(reference, model, inputs)``, ``batch_dependence(fn)``, ``discriminator_params(fn)``;
- 02 (``_generator``): ``generator_builder(build)``, ``start_size(fn)``,
  ``generator(model, image_size, ...)``;
- 03 (``_balance``, ``_training``): ``balance_rule(rule)``, ``success_rule(rule)``,
  ``never_both_skipped(fn)``, ``rule_replay(rule, steps)``, ``success_rates(fn)``,
  ``adaptive_rule(rule_class)``, ``replayed_skips(rule, steps)``, ``score_batch(fn)``, ``train_step(score_batch, train_step)``;
- 04 (``_wgan``): ``critic_schedule(fn)``, ``clipping(clip_fn)``, ``penalty(fn)``,
  ``wgan_schedule(method)``, ``wgan_clipping(method)``, ``wgan_penalty(method)``,
  ``critic_step(method)``, ``generator_step(method)``, ``toy_sweep(fn)``;
- 05 (``_latent``): ``interpolation(fn)``, ``latent_direction(generator, direction, measure)``,
  ``truncated_noise(fn)``.

TensorFlow and Keras are imported only by the checks that need them.
"""

from gan_helpers.checks._balance import (BALANCE_CASES, MARGIN_02_CASES, NEVER_BOTH_SKIPPED_CASES, SUCCESS_CASES,
                                         SUCCESS_RULE_CASES, adaptive_rule, balance_rule, margin_rule, never_both_skipped,
                                         replayed_skips, rule_replay, success_rates, success_rule)
from gan_helpers.checks._data import CROP_BOX_CASES, crop_box, person_split, scaling
from gan_helpers.checks._discriminator import (DISCRIMINATOR_BLOCK, DISCRIMINATOR_PARAM_CASES, batch_dependence,
                                               discriminator_builder, synthetic_faces,
                                               discriminator, discriminator_params, same_outputs)
from gan_helpers.checks._generator import (GENERATOR_BLOCK, IMPOSSIBLE_START_SIZES, START_SIZE_CASES, generator,
                                           generator_builder,
                                           start_size)
from gan_helpers.checks._training import STEP_CASES, score_batch, train_step
from gan_helpers.checks._latent import interpolation, latent_direction, truncated_noise
from gan_helpers.checks._wgan import (CRITIC_SCHEDULE_CASES, clipping, critic_schedule, critic_step, generator_step,
                                      penalty, toy_sweep, wgan_clipping, wgan_penalty, wgan_schedule)

from gan_helpers.checks._report import core

# The core exercises' checks: in the handout, a passed check keeps the student's cell in the package.
(discriminator_builder, generator_builder, never_both_skipped, margin_rule, success_rule, score_batch, train_step,
 wgan_schedule, wgan_clipping, wgan_penalty, critic_step, generator_step) = map(core, (
    discriminator_builder, generator_builder, never_both_skipped, margin_rule, success_rule, score_batch, train_step,
    wgan_schedule, wgan_clipping, wgan_penalty, critic_step, generator_step))

__all__ = ["adaptive_rule", "replayed_skips", "toy_sweep", "BALANCE_CASES", "CRITIC_SCHEDULE_CASES", "CROP_BOX_CASES", "DISCRIMINATOR_BLOCK",
           "DISCRIMINATOR_PARAM_CASES", "GENERATOR_BLOCK", "IMPOSSIBLE_START_SIZES", "MARGIN_02_CASES",
           "NEVER_BOTH_SKIPPED_CASES", "START_SIZE_CASES", "STEP_CASES", "SUCCESS_CASES", "SUCCESS_RULE_CASES",
           "balance_rule", "batch_dependence", "clipping", "critic_schedule", "critic_step", "crop_box",
           "discriminator", "discriminator_builder", "discriminator_params", "generator", "generator_builder",
           "generator_step", "interpolation", "latent_direction", "margin_rule", "never_both_skipped", "penalty",
           "person_split", "rule_replay", "same_outputs", "scaling", "score_batch", "start_size", "success_rates",
           "success_rule", "synthetic_faces", "train_step", "truncated_noise", "wgan_clipping", "wgan_penalty",
           "wgan_schedule"]

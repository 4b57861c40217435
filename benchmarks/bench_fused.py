"""Benchmark: the default training step with the generator's blocks as written and fused, in float32 and bfloat16.

    python benchmarks/bench_fused.py [--rounds 7] [--steps 3] [--repeats 1]

Four forms of the same default GAN (``runs.default_config(balance="always")``,
batch 64 at 64x64): the blocks as written ("unpool by 2, then a full
convolution") or fused into one stride-2 transposed convolution
(``gan_helpers.layers.fuse_unpooling``, the run setting ``fused``), each in
float32 and in bfloat16 (Keras' "mixed_bfloat16"). Rounds interleave the four
(``--steps`` steps of each per round), so the machine's noise hits all alike;
the medians of the per-step times are reported, with each form's speed-up
over the networks as written in float32. ``--repeats`` runs the whole
comparison several times and reports each, since the ratio itself moves from
run to run on a shared machine.

Also reported: the exercise's FLOPs per second ("effective": the step's FLOPs
as written, over the step's time), the FLOPs executed per second (the fused
blocks skip the zeros and repeated values of the unpooling), and both against
this CPU's float32 and bfloat16 matmul peaks (a 4096^3 matmul).
"""

import argparse
import os
import platform
import statistics
import time

from bench_models import matmul_peak  # this folder's: the benchmarks share the peak's measurement

from gan_helpers import devices, layers, models, runs
from gan_helpers._quiet import import_tensorflow

tf = import_tensorflow()

BATCH = 64


def cpu_name_and_flags():
    """The CPU's model name and its vector and matrix extensions (the flags that decide its float32 and
    bfloat16 speed)."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            name = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), name)
    except OSError:
        pass
    flags = devices.cpu_flags()
    return name, sorted(f for f in flags if f.startswith(("avx512", "amx")) or f in ("avx2", "fma"))


def executed_generator_flops(generator):
    """G's forward FLOPs per image as it runs: each fused block scatters every input pixel through a
    (k+1)^2 (nearest) or k^2 (zeros) kernel instead of convolving the unpooled map."""
    flops = models.total_flops(generator)
    for layer in generator.layers:
        if isinstance(layer, layers.FullConv2D) and layer.fused_unpooling is not None:
            _, height, width, channels_in = layer.input.shape
            height, width = height // 2, width // 2  # the unpooling's input (the graph's shapes are as written)
            (kh, kw), channels_out = layer.kernel_size, layer.filters
            out_h, out_w = 2 * height + kh - 1, 2 * width + kw - 1
            written = 2 * out_h * out_w * kh * kw * channels_in * channels_out
            taps = (kh + 1) * (kw + 1) if layer.fused_unpooling == "nearest" else kh * kw
            flops += 2 * height * width * taps * channels_in * channels_out - written
    return flops


def step_flops(g_flops, d_flops):
    """One step: G forward + backward (~3x forward), D on reals and fakes (3x each), D's backward to its
    inputs for G's gradient (~1x)."""
    return 3 * BATCH * g_flops + 3 * 2 * BATCH * d_flops + BATCH * d_flops


def compare(rounds, steps):
    forms = {}
    for fused in (False, True):
        for precision in ("float32", "bfloat16"):
            gan = runs.build(runs.default_config(balance="always", fused=fused, precision=precision))
            step = tf.function(gan.train_step)
            real = tf.random.uniform((BATCH, 64, 64, 3), -1, 1)
            float(step(real)["err_gen"])  # trace and warm up
            inner = next(m for m in [gan.generator, *[l for l in gan.generator.layers if hasattr(l, "layers")]]
                         if any(isinstance(l, layers.FullConv2D) for l in m.layers))
            forms[(fused, precision)] = {"step": step, "real": real, "times": [],
                                         "written": step_flops(models.total_flops(inner),
                                                               models.total_flops(gan.discriminator)),
                                         "executed": step_flops(executed_generator_flops(inner),
                                                                models.total_flops(gan.discriminator))}
    for _ in range(rounds):
        for form in forms.values():
            for _ in range(steps):
                start = time.perf_counter()
                float(form["step"](form["real"])["err_gen"])
                form["times"].append(time.perf_counter() - start)
    return forms


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    name, flags = cpu_name_and_flags()
    peaks = {dtype: matmul_peak(dtype=dtype) for dtype in ("float32", "bfloat16")}
    print(f"CPU: {name}; {os.cpu_count()} cores; flags: {' '.join(flags)}; TensorFlow {tf.__version__}")
    print(f"matmul 4096^3 peak: float32 {peaks['float32']:.0f} GFLOP/s, bfloat16 {peaks['bfloat16']:.0f} GFLOP/s")
    ratios = []
    for repeat in range(args.repeats):
        forms = compare(args.rounds, args.steps)
        base = statistics.median(forms[(False, "float32")]["times"])
        print(f"\nComparison {repeat + 1} ({args.rounds} rounds of {args.steps} steps each, medians):\n")
        print("| generator blocks | precision | step s | speed-up | effective GFLOP/s | executed GFLOP/s | "
              "executed, of float32 peak | of bfloat16 peak |")
        print("|---|---|---|---|---|---|---|---|")
        for (fused, precision), form in forms.items():
            median = statistics.median(form["times"])
            effective, executed = form["written"] / median / 1e9, form["executed"] / median / 1e9
            print(f"| {'fused' if fused else 'as written'} | {precision} | {median:.3f} | {base / median:.2f}x | "
                  f"{effective:.0f} | {executed:.0f} | {executed / peaks['float32']:.0%} | "
                  f"{executed / peaks['bfloat16']:.0%} |")
        ratios.append({form: base / statistics.median(forms[form]["times"]) for form in forms})
    if args.repeats > 1:
        for form in ((True, "float32"), (True, "bfloat16")):
            values = [r[form] for r in ratios]
            print(f"fused {form[1]} over written float32, {args.repeats} comparisons: "
                  f"{', '.join(f'{v:.2f}x' for v in values)}; median {statistics.median(values):.2f}x")


if __name__ == "__main__":
    main()

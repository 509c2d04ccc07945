"""``profile``: the per-op time of one cell's compiled step, from a ``tf.profiler`` trace."""

from rnn_models.commands.arguments import positive_int
from rnn_models.config import PHASES
from rnn_models.registry import REGISTRY

NAME = "profile"
HELP = "per-op time of one cell's compiled step, from a tf.profiler trace"


def add_arguments(parser):
    parser.add_argument("--cell", required=True, choices=list(REGISTRY), metavar="NAME")
    parser.add_argument("--phase", choices=PHASES, default="train")
    parser.add_argument("--steps", type=positive_int, default=20, help="profiled steps, after the warm-up")
    parser.add_argument("--top", type=positive_int, default=15, help="op types to list")
    parser.add_argument("--logdir", default=None, help="keep the trace here (TensorBoard)")


def run(*, cell: str, phase: str, steps: int, top: int, logdir: str | None) -> int:
    import numpy as np

    from rnn_models.data import task_shape
    from rnn_models.machine.environment import default_device
    from rnn_models.records.paths import check_output_dir
    from rnn_models.speed.measure import build_step
    from rnn_models.speed.profile import format_profile, profile_step
    from rnn_models.suite.matrix import speed_config

    if logdir:
        check_output_dir(logdir, "--logdir")
    config = speed_config(cell)
    rng = np.random.default_rng(config.seed)  # timing does not depend on the pixel values
    x = rng.uniform(size=(config.batch_size, *task_shape(config.task))).astype(np.float32)
    y = rng.integers(0, 10, config.batch_size).astype(np.int32)
    step = build_step(cell, phase, default_device(), x, y)
    profile = profile_step(step.run, steps, logdir)
    print(f"{cell} {phase} step, {config.batch_size} x {task_shape(config.task)}")
    print(format_profile(profile, top))
    return 0

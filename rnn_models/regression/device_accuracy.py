"""The accuracy gate for a cell trained on another device (a GPU) against its stored CPU seed
distribution: is the device's seed-0 run identical to the stored CPU seed-0 run (not expected
on a GPU: other kernels, other rounding), and what does the statistical path decide? An
unchanged model must pass there; a fail would be a false alarm of the gate.

``python -m rnn_models accuracy-on-device --cell gru --device GPU:0 --out FILE`` writes
``check_on_device``'s record as JSON (``tools/gpu_check.sh`` runs it; ``rnn_models.records.gpu_report``
reads it).
"""

import dataclasses

from rnn_models.machine.numerics_pin import is_gpu
from rnn_models.records.baselines import CellBaseline
from rnn_models.regression.accuracy import identical_to_recorded, judge, policy_for
from rnn_models.suite.matrix import matrix_config


@dataclasses.dataclass(frozen=True)
class DeviceAccuracy:
    """What ``check_on_device`` found; ``to_dict`` is the stored record."""

    cell: str
    device: str  # the runs' own device description, e.g. "GPU:0 (NVIDIA H200)"
    numerics: str | None  # the seed-0 run's numerics key
    identical_to_cpu: bool
    first_difference: str  # where seed 0 first differs from the stored CPU run ("" if identical)
    seed0_test_accuracy: float
    seed0_train_sec_per_iter: float
    verdict: str  # the statistical path's: "pass" or "fail"
    detail: str
    table: str
    seeds: tuple[int, ...]
    values: tuple[float, ...]

    @property
    def judged_correctly(self):
        """An unchanged model on another device must pass: a fail is a false alarm."""
        return self.verdict == "pass"

    def to_dict(self):
        return {**dataclasses.asdict(self), "judged_correctly": self.judged_correctly}


def check_on_device(cell, device, baselines, data_path=None, processes=None, executor=None):
    """Trains ``cell``'s suite run (seed 0, then the statistical path's seeds) on ``device``
    and judges it against ``baselines``' stored distribution.

    The runs go to the training pool's workers (``executor``, default a pool of ``processes``,
    the policy's largest look), which take their default device: the GPU when one is visible,
    where the numerics pin does not apply. A run that landed elsewhere than ``device`` asks
    for is a RuntimeError, so a CPU result is never reported as the GPU's.
    """
    from rnn_models.executors import open_executor

    baseline = CellBaseline.load(baselines, cell)  # before any training: a missing file is named
    policy = policy_for(cell)
    own = executor is None
    if own:
        executor = open_executor(None, processes=processes or max(policy.looks), data_path=data_path,
                                 pin=not is_gpu(device))
    try:
        def run_seeds(seeds):
            results = executor.run([matrix_config(cell).replace(seed=s).to_dict() for s in seeds])
            wrong = [r.device for r in results if not r.device.upper().startswith(device.upper())]
            if wrong:
                raise RuntimeError(f"{cell}: runs trained on {wrong[0]}, not on {device}")
            return results

        first = run_seeds([0])[0]
        same, why = identical_to_recorded(first, baseline)
        outcome = judge(baseline, first, run_seeds, policy, skip_identical=True)
    finally:
        if own:
            executor.close()
    # The verdict's own detail says why seed 0 was not compared; here it was, just above.
    looks = outcome.detail.split("; ", 1)[-1]
    outcome = dataclasses.replace(outcome, detail=("identical to" if same else "not identical to")
                                  + f" the stored seed-0 run; {looks}")
    return DeviceAccuracy(
        cell=cell, device=first.device, numerics=(first.fingerprint or {}).get("numerics"),
        identical_to_cpu=same, first_difference=why,
        seed0_test_accuracy=first.final_test.accuracy_mean,
        seed0_train_sec_per_iter=first.train_sec_per_iter, verdict=outcome.verdict,
        detail=looks,
        table=outcome.table(), seeds=tuple(s for look in outcome.looks[-1:] for s in look.seeds),
        values=tuple(outcome.candidate_values))

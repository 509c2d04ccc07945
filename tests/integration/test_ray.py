"""The Ray executor on a local Ray cluster that this module starts, reachable on loopback only:
a run trained through Ray equals the same run from the local pool bit for bit, Ray's own task
options do the work (a worker that dies is retried, workers are replaced after their runs, the
numerics pin and the variant reach them before TensorFlow), and a run that fails names its
cell, seed and host in one line."""

import os

# Before Ray loads. Its local-only mode: every Ray process listens on 127.0.0.1 alone (on Linux
# it otherwise binds every interface, even under _node_ip_address="127.0.0.1").
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # no usage report to Ray's servers

import pytest  # noqa: E402

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e \".[ray]\")")
# One Ray cluster at a time on this machine: under -n, this module shares a worker with the
# other Ray module.
pytestmark = pytest.mark.xdist_group("ray")

from rnn_models.executors import BatchStopped, RunFailed, TrainingPool, open_executor  # noqa: E402
from rnn_models.executors.ray_executor import MAX_RETRIES, RayExecutor  # noqa: E402
from rnn_models.machine import numerics_pin  # noqa: E402
from tests.integration import pool_tasks  # noqa: E402
from tests.integration.test_parallel import curves, needs_mnist, small_configs  # noqa: E402

HOST = r"\S+ \(127\.0\.0\.1\)"  # how a failure names this machine: its hostname and node address


@pytest.fixture(scope="module")
def cluster():
    """A new 2-CPU Ray cluster on this machine's loopback ("local": never a cluster already
    running here); its address. An executor uses this process's connection to it."""
    ray.init(address="local", num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False)
    address = ray.get_runtime_context().gcs_address
    assert address.startswith("127.0.0.1:"), address
    yield address
    ray.shutdown()


def gru_runs(*seeds, **fields):
    return [{"cell": "gru", "seed": s, **fields} for s in seeds]


@needs_mnist
def test_runs_through_ray_equal_the_local_pools_bit_for_bit(cluster):
    configs = small_configs("gru", (0, 1))
    with open_executor(cluster) as executor:
        assert isinstance(executor, RayExecutor)
        through_ray = executor.run(configs)
    with TrainingPool(1) as pool:
        pooled = pool.run(configs)
    assert [r.config for r in through_ray] == configs
    assert [curves(r) for r in through_ray] == [curves(r) for r in pooled]
    assert curves(through_ray[0]) != curves(through_ray[1])  # the seeds differ


def test_a_run_whose_worker_dies_is_trained_again(cluster, tmp_path):
    marker = tmp_path / "died"
    with RayExecutor(cluster, task=pool_tasks.die_first_time_on_seed_1) as executor:
        out = executor.run(gru_runs(0, 1, 2, marker=str(marker)))
    assert [o["seed"] for o in out] == [0, 1, 2]
    assert int(marker.read_text()) not in {o["pid"] for o in out}  # seed 1 came from a new process


@pytest.mark.parametrize(("task", "why"), [
    pytest.param(pool_tasks.raise_on_seed_1, r"raised ValueError: a bad config", id="raises"),
    pytest.param(pool_tasks.die_on_seed_1, rf"its worker process died in each of its {MAX_RETRIES + 1} tries",
                 id="dies-every-time"),
])
def test_a_failed_run_names_its_cell_seed_and_host(cluster, task, why):
    with pytest.raises(RunFailed, match=rf"^training run gru seed 1 failed on host {HOST}: {why}; "
                                        r"the batch's other \d run\(s\) were stopped"):
        RayExecutor(cluster, task=task).run(gru_runs(0, 1, 2, 3))


def test_a_run_far_over_its_expected_time_is_stopped(cluster, monkeypatch):
    from rnn_models.executors import executor

    monkeypatch.setattr(executor, "START_ALLOWANCE_S", 0.0)
    with pytest.raises(RunFailed, match=rf"^training run gru seed 1 failed on host {HOST}: it ran \d+ s, "
                                        r"over 10 times its expected 0 s"):
        RayExecutor(cluster, task=pool_tasks.loop_on_seed_1, expected_s=lambda c: 0.2).run(gru_runs(0, 1))


def test_a_batch_ends_when_its_stop_is_set(cluster):
    import threading

    event = threading.Event()
    stop = threading.Timer(3.0, event.set)  # set from another thread, as MatrixRuns.close does
    stop.start()
    with pytest.raises(BatchStopped, match=r"^the batch was stopped with 1 run\(s\) unfinished$"):
        RayExecutor(cluster, task=pool_tasks.loop_on_seed_1).run(gru_runs(0, 1), stop=event)
    stop.cancel()


def test_workers_are_replaced_after_their_runs_and_runs_keep_their_order(cluster):
    with RayExecutor(cluster, task=pool_tasks.echo, runs_per_process=2) as executor:
        out = executor.run(gru_runs(*range(12)))
    assert [o["seed"] for o in out] == list(range(12))
    assert len({o["pid"] for o in out}) >= 6  # 12 runs, at most 2 per worker (max_calls)


def test_each_finished_run_is_handed_over_as_it_ends(cluster):
    heard = []
    with RayExecutor(cluster, task=pool_tasks.echo) as executor:
        out = executor.run(gru_runs(0, 1, 2), on_result=lambda position, result: heard.append((position, result)))
    assert sorted(heard, key=lambda h: h[0]) == list(enumerate(out))


def test_the_pin_and_the_variant_reach_the_workers(cluster):
    with RayExecutor(cluster, task=pool_tasks.environment) as executor:
        env = executor.run(gru_runs(0))[0]
    with RayExecutor(cluster, task=pool_tasks.environment, pin=False) as executor:
        free = executor.run(gru_runs(0))[0]
    assert numerics_pin.is_applied(env) == numerics_pin.enabled()  # RNN_MODELS_NO_PIN=1 goes along too
    assert not numerics_pin.enabled(free) and not numerics_pin.is_applied(free)
    assert env["TF_NUM_INTRAOP_THREADS"] == "1"
    with RayExecutor(cluster, variant="adam_eps=0.5", task=pool_tasks.adam_epsilon) as executor:
        varied = executor.run(gru_runs(0))[0]
    with RayExecutor(cluster, task=pool_tasks.adam_epsilon) as executor:
        plain = executor.run(gru_runs(0))[0]
    assert (varied["adam_epsilon"], plain["adam_epsilon"]) == (0.5, 1e-8)
    assert varied["pid"] != plain["pid"]  # a worker process serves one variant

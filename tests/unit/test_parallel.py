"""The executors without a process: the pool's arguments, and the one place that picks the
executor from an address (the option, the variable, a bad or unreachable address, loopback).
The pool's worker processes: tests/integration/test_parallel.py; Ray: test_ray.py."""

import re
import socket
import time

import pytest

from rnn_models.executors import TrainingPool, open_executor, ray_address


def test_a_worker_must_train_at_least_one_run():
    with pytest.raises(ValueError, match="runs_per_process must be at least 1 or None, got 0"):
        TrainingPool(processes=2, runs_per_process=0)


def test_a_worker_that_cannot_start_ends_the_batch_with_that_error_and_leaves_nothing_to_stop(monkeypatch):
    # E.g. a spawn refused while the caller's own module is still being imported: that error,
    # not an AssertionError from stopping a process that never started.
    pool = TrainingPool(processes=1)

    def refuse(process):
        raise RuntimeError("cannot start a process now")

    monkeypatch.setattr(pool.ctx.Process, "start", refuse)
    with pytest.raises(RuntimeError, match="cannot start a process now"):
        with pool:
            pool.run([{"cell": "gru"}])
    assert all(slot.process is None and slot.conn is None for slot in pool._slots)


def test_no_address_is_the_local_pool():
    with open_executor(None, processes=1) as executor:
        assert isinstance(executor, TrainingPool) and executor.processes == 1


@pytest.mark.parametrize(("option", "variable", "address"), [
    (None, None, None),
    ("auto", None, "auto"),
    (None, "head.example:6379", "head.example:6379"),
    ("10.1.2.3:6380", "head.example:6379", "10.1.2.3:6380"),  # the option wins
])
def test_the_ray_address_comes_from_the_option_else_the_variable(option, variable, address, monkeypatch):
    from rnn_models.executors import executor

    monkeypatch.setattr("importlib.util.find_spec", lambda name: object())  # as if Ray were installed
    probed = []
    monkeypatch.setattr(executor, "unreachable", lambda host, port: probed.append(f"{host}:{port}"))
    env = {} if variable is None else {"RNN_MODELS_RAY_ADDRESS": variable}
    assert ray_address(option, env) == address
    assert probed == ([] if address in (None, "auto") else [address])  # that address alone, once


@pytest.mark.parametrize(("option", "env", "message"), [
    ("head", {}, "--ray-address 'head': expected auto or HOST:PORT"),
    ("head:65536", {}, "--ray-address 'head:65536': expected auto or HOST:PORT"),
    (None, {"RNN_MODELS_RAY_ADDRESS": "ray://head:10001"},
     "$RNN_MODELS_RAY_ADDRESS 'ray://head:10001': expected auto or HOST:PORT"),
])
def test_a_bad_ray_address_is_named_with_where_it_came_from(option, env, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        ray_address(option, env)


def test_a_ray_address_without_ray_installed_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ValueError, match=r'^--ray-address auto: Ray is not installed; '
                                         r'pip install "rnn_models\[ray\]"$'):
        ray_address("auto", {})


def test_an_address_where_no_cluster_listens_is_refused_in_seconds(monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object())
    started = time.monotonic()
    with pytest.raises(ValueError, match=r"^--ray-address 127\.0\.0\.1:1: no Ray cluster listens there "
                                         r"\(Connection refused\); start one with `ray start --head --port 1`"):
        ray_address("127.0.0.1:1", {})
    assert time.monotonic() - started < 30


def test_the_reachability_probe_is_one_bounded_connect_to_the_address_given(monkeypatch):
    from rnn_models.executors import executor

    with socket.create_server(("127.0.0.1", 0)) as listening:  # something answers: no reason to refuse
        assert executor.unreachable("127.0.0.1", listening.getsockname()[1]) is None
    tried = []

    def silent(address, timeout):  # a host that drops every packet
        tried.append(address)
        time.sleep(30)
        raise TimeoutError("timed out")  # as the real call ends, long after the probe gave up

    monkeypatch.setattr(socket, "create_connection", silent)
    started = time.monotonic()
    assert executor.unreachable("10.9.8.7", 6379, timeout_s=0.5) == "no answer within 0.5 s"
    assert time.monotonic() - started < 5 and tried == [("10.9.8.7", 6379)]


@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1:6379", True), ("localhost:6379", True), ("127.1.2.3:1", True),
    ("10.0.0.12:6379", False), ("head.example:6379", False), ("auto", False),
])
def test_a_loopback_address_is_recognised_without_a_lookup(address, loopback):
    from rnn_models.executors.executor import on_loopback

    assert on_loopback(address) is loopback

"""Fast unit tests for rnn_models.data on small synthetic MNIST files.

Only test_real_mnist_verifies touches real data, and only through
$RNN_MODELS_MNIST.
"""

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from rnn_models.data import (
    Batches,
    MNIST_ENV_VAR,
    PERMUTATION_SEED,
    SPLITS,
    TASKS,
    MnistArrays,
    MnistFormatError,
    MnistNotFoundError,
    load_mnist,
    permutation,
    prepare,
    task_shape,
)
from rnn_models.data import mnist_files

IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


# ------------------------------------------------------------------ helpers


def fake_arrays(n_train=12, n_test=6, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(n_test) % 10).astype(np.uint8),
    }


def idx_bytes(a: np.ndarray, magic=None) -> bytes:
    """Minimal IDX writer: big-endian magic (0x0800 | ndim), dims, raw uint8."""
    if magic is None:
        magic = 0x0800 | a.ndim
    return struct.pack(">I", magic) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()


def write_idx_folder(folder: Path, arrays, gz=True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, base in IDX_NAMES.items():
        data = idx_bytes(arrays[name])
        if gz:
            (folder / (base + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / base).write_bytes(data)
    return folder


def write_npz(path: Path, arrays) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def assert_same(loaded: MnistArrays, arrays):
    for name, a in arrays.items():
        np.testing.assert_array_equal(getattr(loaded, name), a)
        assert getattr(loaded, name).dtype == np.uint8


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    """No env var, and HOME/KERAS_HOME pointing at an empty folder."""
    monkeypatch.delenv(MNIST_ENV_VAR, raising=False)
    empty = tmp_path / "empty_home"
    empty.mkdir()
    monkeypatch.setenv("HOME", str(empty))
    monkeypatch.setenv("KERAS_HOME", str(empty / ".keras"))
    return empty


# ------------------------------------------------------------------ loading


def test_npz_file_and_folder(tmp_path, no_env):
    arrays = fake_arrays()
    npz = write_npz(tmp_path / "d" / "mnist.npz", arrays)
    for p in (npz, npz.parent, str(npz)):
        loaded = load_mnist(p, verify=False, download=False)
        assert_same(loaded, arrays)
        assert loaded.source == str(npz)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_folder(tmp_path, no_env, gz):
    arrays = fake_arrays()
    folder = write_idx_folder(tmp_path / "idx", arrays, gz=gz)
    loaded = load_mnist(folder, verify=False, download=False)
    assert_same(loaded, arrays)
    assert ("idx3-ubyte.gz" in loaded.source) == gz


def test_env_var_resolution(tmp_path, no_env, monkeypatch):
    arrays = fake_arrays()
    folder = write_idx_folder(tmp_path / "envdata", arrays)
    monkeypatch.setenv(MNIST_ENV_VAR, str(folder))
    assert_same(load_mnist(verify=False, download=False), arrays)
    # An explicit path wins over the env var.
    other = fake_arrays(seed=1)
    npz = write_npz(tmp_path / "other.npz", other)
    assert_same(load_mnist(npz, verify=False, download=False), other)


@pytest.mark.parametrize("use_keras_home", [True, False])
def test_keras_cache_resolution(tmp_path, no_env, monkeypatch, use_keras_home):
    arrays = fake_arrays()
    if use_keras_home:
        monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
        write_npz(tmp_path / "kh" / "datasets" / "mnist.npz", arrays)
    else:
        monkeypatch.delenv("KERAS_HOME")
        write_npz(no_env / ".keras" / "datasets" / "mnist.npz", arrays)
    assert_same(load_mnist(verify=False, download=False), arrays)


def test_download_uses_keras_get_file(tmp_path, no_env, monkeypatch):
    import keras

    arrays = fake_arrays()
    npz = write_npz(tmp_path / "fetched.npz", arrays)
    calls = []

    def fake_get_file(fname, origin, file_hash, **kwargs):
        calls.append((fname, origin, file_hash))
        return str(npz)

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    assert_same(load_mnist(verify=False, download=True), arrays)
    assert calls == [("mnist.npz", mnist_files.KERAS_MNIST_URL,
                      mnist_files.KERAS_MNIST_SHA256)]

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(MnistNotFoundError, match="network is unreachable"):
        load_mnist(verify=False, download=True)


def test_explicit_path_missing_is_error(tmp_path, no_env):
    # A valid Keras cache must not be used as a silent fallback.
    write_npz(no_env / ".keras" / "datasets" / "mnist.npz", fake_arrays())
    missing = tmp_path / "nope"
    with pytest.raises(MnistNotFoundError, match="nope") as err:
        load_mnist(missing, verify=False, download=False)
    assert isinstance(err.value, FileNotFoundError)


def test_env_var_missing_and_empty_folder_are_errors(tmp_path, no_env, monkeypatch):
    monkeypatch.setenv(MNIST_ENV_VAR, str(tmp_path / "gone"))
    with pytest.raises(MnistNotFoundError, match=f"{MNIST_ENV_VAR}.*gone"):
        load_mnist(verify=False, download=False)
    empty = tmp_path / "emptydir"
    empty.mkdir()
    with pytest.raises(MnistNotFoundError, match="train-images-idx3-ubyte.gz"):
        load_mnist(empty, verify=False, download=False)


def test_nothing_found_lists_places(no_env):
    with pytest.raises(MnistNotFoundError) as err:
        load_mnist(verify=False, download=False)
    msg = str(err.value)
    for needle in ("path argument", MNIST_ENV_VAR, str(no_env / ".keras" / "datasets"),
                   "download=False", "--data PATH"):
        assert needle in msg
    assert len(err.value.tried) == 4


# ------------------------------------------------------------ format errors


def _corrupt_case(tmp_path, case):
    """Write a folder or file with one defect; return (load path, file to be named)."""
    arrays = fake_arrays()
    if case == "missing_npz_key":
        del arrays["y_test"]
        p = write_npz(tmp_path / "bad.npz", arrays)
        return p, p
    if case == "bad_zip":
        p = write_npz(tmp_path / "bad.npz", arrays)
        p.write_bytes(p.read_bytes()[:100])
        return p, p
    if case == "label_out_of_range":
        arrays["y_train"][3] = 10
        p = write_npz(tmp_path / "bad.npz", arrays)
        return p, p
    folder = write_idx_folder(tmp_path / "idx", arrays)
    target = folder / "train-labels-idx1-ubyte.gz"
    data = idx_bytes(arrays["y_train"])
    if case == "truncated_gzip":
        blob = gzip.compress(data)
        target.write_bytes(blob[: len(blob) // 2])
    elif case == "short_payload":
        target.write_bytes(gzip.compress(data[:-1]))
    elif case == "wrong_magic":
        target.write_bytes(gzip.compress(idx_bytes(arrays["y_train"], magic=2051)))
    return folder, target


@pytest.mark.parametrize("case", ["truncated_gzip", "short_payload", "wrong_magic",
                                  "missing_npz_key", "bad_zip", "label_out_of_range"])
def test_corrupt_files_raise_format_error(tmp_path, no_env, case):
    path, named = _corrupt_case(tmp_path, case)
    with pytest.raises(MnistFormatError) as err:
        load_mnist(path, verify=False, download=False)
    assert str(named) in str(err.value)
    assert isinstance(err.value, ValueError)


def test_sha_mismatch_names_array(tmp_path, no_env, monkeypatch):
    arrays = fake_arrays()
    npz = write_npz(tmp_path / "mnist.npz", arrays)
    # Make the synthetic shapes the "expected" ones so only the hash can fail.
    expected = {
        name: mnist_files.ArraySpec(a.shape, a.dtype, mnist_files.array_sha256(a))
        for name, a in arrays.items()
    }
    monkeypatch.setattr(mnist_files, "EXPECTED", expected)
    assert_same(load_mnist(npz, verify=True, download=False), arrays)
    expected["x_test"] = expected["x_test"]._replace(sha256="0" * 64)
    with pytest.raises(MnistFormatError, match="x_test.*sha256") as err:
        load_mnist(npz, verify=True, download=False)
    assert str(npz) in str(err.value) and "0" * 64 in str(err.value)


def test_verify_checks_exact_shape(tmp_path, no_env):
    npz = write_npz(tmp_path / "mnist.npz", fake_arrays())
    with pytest.raises(MnistFormatError, match="x_train.*shape"):
        load_mnist(npz, verify=True, download=False)


@pytest.mark.skipif(not os.environ.get(MNIST_ENV_VAR),
                    reason=f"set {MNIST_ENV_VAR} to the real MNIST to run this test")
def test_real_mnist_verifies():
    a = load_mnist(verify=True, download=False)
    assert a.x_train.shape == (60000, 28, 28) and a.x_test.shape == (10000, 28, 28)
    assert np.bincount(a.y_train, minlength=10).tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


# -------------------------------------------------------------- sequences


def test_task_shape():
    assert [task_shape(t) for t in TASKS] == [(28, 28), (784, 1), (784, 1)]
    with pytest.raises(ValueError, match="rows.*pixels.*permuted.*'bogus'"):
        task_shape("bogus")


def _small_mnist(n_train=20, n_test=4):
    return MnistArrays(**fake_arrays(n_train, n_test), source="synthetic")


def test_splits_full_size():
    zeros = MnistArrays(
        x_train=np.zeros((60000, 28, 28), np.uint8), y_train=np.zeros(60000, np.uint8),
        x_test=np.zeros((10, 28, 28), np.uint8), y_test=np.zeros(10, np.uint8),
        source="zeros")
    tf1 = prepare(zeros, split="tf1")
    assert (len(tf1.pixels_train), len(tf1.pixels_val), len(tf1.pixels_test)) == (55000, 5000, 10)
    keras = prepare(zeros, split="keras")
    assert (len(keras.pixels_train), len(keras.pixels_val), len(keras.pixels_test)) == (60000, 0, 10)
    assert keras.pixels_val.shape == (0, 28, 28) and not keras.has_validation


def test_tf1_split_order(monkeypatch):
    monkeypatch.setattr("rnn_models.data.sequences.TF1_VALIDATION_SIZE", 5)
    arrays = _small_mnist()
    d = prepare(arrays, split="tf1")
    # As TF1 read_data_sets: validation is the leading block, train the rest.
    np.testing.assert_array_equal(d.y_val, arrays.y_train[:5])
    np.testing.assert_array_equal(d.y_train, arrays.y_train[5:])
    np.testing.assert_allclose(d.inputs(d.pixels_val[0]), arrays.x_train[0] / 255.0, rtol=1e-6)


def test_prepare_validates_names():
    arrays = _small_mnist()
    with pytest.raises(ValueError, match="split.*'tf1', 'keras'.*'tf2'"):
        prepare(arrays, split="tf2")
    with pytest.raises(ValueError, match="task"):
        prepare(arrays, task="cols", split="keras")
    assert SPLITS == ("tf1", "keras")


def test_task_layouts():
    arrays = _small_mnist()
    rows = prepare(arrays, task="rows", split="keras")
    pixels = prepare(arrays, task="pixels", split="keras")
    perm = prepare(arrays, task="permuted", split="keras")
    assert rows.pixels_train.shape == (20, 28, 28) and (rows.timesteps, rows.features) == (28, 28)
    assert pixels.pixels_test.shape == (4, 784, 1) and perm.pixels_train.shape == (20, 784, 1)
    for d in (rows, pixels, perm):
        assert d.pixels_train.dtype == np.uint8 and d.y_train.dtype == np.int32
        x = d.inputs(d.pixels_train)
        assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
        np.testing.assert_array_equal(x * 255.0, d.pixels_train)
    np.testing.assert_array_equal(rows.pixels_train.reshape(20, 784), pixels.pixels_train[..., 0])
    # Rows and pixels keep views of the loaded images: no second copy of the split.
    assert np.shares_memory(rows.pixels_train, arrays.x_train)
    assert np.shares_memory(pixels.pixels_test, arrays.x_test)
    p = permutation()
    np.testing.assert_array_equal(p, np.random.default_rng(PERMUTATION_SEED).permutation(784))
    assert not np.array_equal(p, np.arange(784))
    np.testing.assert_array_equal(perm.pixels_train[..., 0], pixels.pixels_train[..., 0][:, p])
    again = prepare(arrays, task="permuted", split="keras")
    np.testing.assert_array_equal(again.pixels_train, perm.pixels_train)


def test_standardize_uses_train_stats(monkeypatch):
    monkeypatch.setattr("rnn_models.data.sequences.TF1_VALIDATION_SIZE", 5)
    arrays = _small_mnist(n_train=30)
    d = prepare(arrays, split="tf1", standardize=True)
    x_train = d.inputs(d.pixels_train)
    assert abs(float(x_train.mean())) < 1e-4
    assert abs(float(x_train.std()) - 1.0) < 1e-4
    raw = arrays.x_train[5:].astype(np.float64)
    expected = (arrays.x_test[0] - raw.mean()) / raw.std()
    np.testing.assert_allclose(d.inputs(d.pixels_test[0]), expected, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------- batches


def _order(batches, epoch):
    return np.concatenate([y for _, y in batches.epoch(epoch)]).tolist()


def test_batches_shapes_and_dtypes():
    x = np.random.default_rng(0).random((10, 28, 28), dtype=np.float32)
    y = np.arange(10, dtype=np.int32)
    batches = Batches(x, y, batch_size=4, shuffle=False)
    got = list(batches.epoch(0))
    assert batches.steps == 2 and len(got) == 2  # full batches only
    assert got[0][0].dtype == np.float32 and got[0][1].dtype == np.int32
    assert tuple(got[0][0].shape) == (4, 28, 28) and tuple(got[0][1].shape) == (4,)
    assert _order(batches, 0) == list(range(8))
    np.testing.assert_array_equal(got[1][0], x[4:8])  # x and y stay paired
    assert len(list(batches.epoch(0, steps=1))) == 1


def test_batches_transform_each_batch_and_keep_the_stored_dtype():
    d = prepare(_small_mnist(), split="keras")
    batches = Batches(d.pixels_train, d.y_train, batch_size=4, shuffle=True, seed=3,
                      transform=d.inputs)
    assert batches.x.dtype == np.uint8  # not converted up front
    plain = Batches(d.inputs(d.pixels_train), d.y_train, batch_size=4, shuffle=True, seed=3)
    for (x, y), (x_ref, y_ref) in zip(batches.epoch(1), plain.epoch(1), strict=True):
        assert x.dtype == np.float32
        np.testing.assert_array_equal(x, x_ref)  # the same numbers as converting up front
        np.testing.assert_array_equal(y, y_ref)


def test_batches_shuffle_determinism():
    x = np.zeros((64, 3, 1), np.float32)
    y = np.arange(64, dtype=np.int32)
    a = Batches(x, y, batch_size=8, shuffle=True, seed=7)
    b = Batches(x, y, batch_size=8, shuffle=True, seed=7)
    a1, a2 = _order(a, 1), _order(a, 2)
    assert a2 == _order(b, 2) and a1 == _order(b, 1)  # same seed: same orders, any sequence
    assert a1 != a2  # reshuffled every epoch
    assert sorted(a1) == list(range(64))
    assert _order(Batches(x, y, batch_size=8, shuffle=True, seed=8), 1) != a1


def test_batches_pair_x_with_y_after_shuffling():
    x = np.arange(20, dtype=np.float32).reshape(20, 1, 1)
    y = np.arange(20, dtype=np.int32)
    for xb, yb in Batches(x, y, batch_size=5, shuffle=True, seed=0).epoch(3):
        np.testing.assert_array_equal(xb[:, 0, 0], yb)


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_size=0), "batch_size.*0"),
    (dict(batch_size=-3), "batch_size.*-3"),
    (dict(y=np.zeros(5, np.int32)), "len\\(x\\)=4.*len\\(y\\)=5"),
    (dict(x=np.zeros((4, 2), np.float32)), "x must be \\[N, T, F\\]"),
])
def test_batches_validate(kwargs, match):
    args = dict(x=np.zeros((4, 2, 1), np.float32), y=np.zeros(4, np.int32),
                batch_size=2, shuffle=False)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Batches(**args)


@pytest.mark.parametrize("standardize", [False, True])
def test_inputs_are_the_float32_formula_bit_for_bit(standardize):
    # The stored seed-0 runs were trained on (float32(pixel) - offset) / scale, each step in
    # float32; the one-pass conversion must give those numbers exactly, for every pixel value.
    arrays = _small_mnist()
    d = prepare(arrays, split="keras", standardize=standardize)
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    expected = pixels.astype(np.float32)
    expected -= np.float32(d.offset)
    expected /= np.float32(d.scale)
    got = d.inputs(pixels)
    assert got.dtype == np.float32 and got.shape == pixels.shape
    assert got.tobytes() == expected.tobytes()
    assert (d.offset == 0) is (not standardize)

"""The machine a run is on, usable without pytest.

- ``cpu``: the usable cores and TensorFlow's thread pools sized to them (an xdist worker's share);
- ``environment``: what a result records about where it ran (device, kernel path, versions,
  the machine's fingerprint);
- ``numerics_pin``: the settings that make a cell's seed-0 run bit-identical across machines;
- ``interrupts``: SIGTERM handled as Ctrl-C.
"""

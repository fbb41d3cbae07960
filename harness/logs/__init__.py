"""The grid's runs in the tools ML engineers already compare runs in.

``--log tensorboard`` and ``--log mlflow`` write while the grid trains; ``--export-logs OUT``
writes the same from the records of a finished (or partial) output folder. One module per
target, each with the code that writes one run from its rows of (step, metric, value), which
both paths call, so that a live log and an exported one hold the same scalars:

- :mod:`harness.logs.tensorboard`: one events folder per (variant, seed), written by the
  process that trains the run (a hook), with the HParams plugin's entries beside the scalars.
- :mod:`harness.logs.mlflow_store`: a SQLite store inside the output folder, written by the
  driver process as each run ends (one writer: SQLite and several processes do not mix).

The Parquet table needs no target: ``harness.results.collect`` writes it with every grid.
Shared by both targets: :mod:`harness.logs.common` (the targets, their extras, the runs'
hyper-parameters); ``--export-logs``: :mod:`harness.logs.export`. Nothing here imports
torch or a target's package until that target is used.
"""

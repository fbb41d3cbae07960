"""The grid's progress where the output is not a terminal (a file, a pipe, CI's log): tqdm
leaves its bar out, and each finished run is one plain line, ok ones too."""

from __future__ import annotations

from harness.progress import GridProgress


def test_without_a_terminal_each_finished_run_is_one_line(capsys):
    progress = GridProgress(3, 10)          # pytest's captured stderr is not a terminal
    assert progress.lines
    for index, (variant, status) in enumerate([("original", "ok"), ("fixed", "diverged"),
                                               ("fixed-warmup", "failed")]):
        progress.start_run(index, variant, 0)
        progress.on_step(index, 5, {"action": 0.5})
        progress.end_run(index, {"variant": variant, "seed": 0, "status": status,
                                 "steps_done": 5, "train_seconds": 12.4,
                                 "message": "RuntimeError: boom\nsecond line" if status != "ok"
                                 else ""})
    progress.close()
    err = capsys.readouterr().err
    assert "\r" not in err
    assert err.splitlines() == [
        "run 1/3 original seed0: ok, 5 steps in 12 s",
        "run 2/3 fixed seed0: diverged, 5 steps in 12 s: RuntimeError: boom second line",
        "run 3/3 fixed-warmup seed0: failed, 5 steps in 12 s: RuntimeError: boom second line"]


def test_no_progress_prints_nothing(capsys):
    progress = GridProgress(1, 10, enabled=False)
    progress.start_run(0, "original", 0)
    progress.end_run(0, {"variant": "original", "seed": 0, "status": "ok"})
    progress.close()
    assert not progress.lines and capsys.readouterr().err == ""

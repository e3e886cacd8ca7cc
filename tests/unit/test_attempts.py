"""attempts.json: every process that worked on a run keeps its own entry, and its time so far."""

import json
import time

from cptbench.run.attempts import Attempts
from cptbench.run.store import RunDir


def test_each_process_appends_its_entry_and_the_totals_sum_them(tmp_path):
    run = RunDir(tmp_path)
    first = Attempts(run, time.perf_counter() - 30)  # a process that has worked 30 s
    first.save(eval_seconds=12.0)
    second = Attempts(run, time.perf_counter() - 5)  # a resumed one, reading the first's entry
    second.save(eval_seconds=2.0)
    saved = json.loads(run.attempts.read_text())["attempts"]
    assert len(saved) == 2 and saved[0]["seconds"] >= 30 and 5 <= saved[1]["seconds"] < 30
    assert second.total("eval_seconds") == 14.0
    assert second.total("seconds") == sum(second.seconds()) >= 35


def test_training_steps_save_at_most_every_ten_seconds(tmp_path):
    run = RunDir(tmp_path)
    attempts = Attempts(run, time.perf_counter())  # saved when it starts: 0 s
    attempts.save_now_and_then(eval_seconds=0.0)  # a step at once: nothing to save yet
    assert json.loads(run.attempts.read_text())["attempts"][0]["seconds"] < 1
    attempts.started -= 11  # 11 s of training later
    attempts.save_now_and_then(eval_seconds=0.0)
    after_step = json.loads(run.attempts.read_text())["attempts"][0]["seconds"]
    assert after_step >= 11  # a kill now would still count these 11 s
    attempts.save_now_and_then(eval_seconds=0.0)  # the next step, moments later: no write
    assert json.loads(run.attempts.read_text())["attempts"][0]["seconds"] == after_step

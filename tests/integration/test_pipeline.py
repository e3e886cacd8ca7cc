"""The whole crossdomain pipeline on the smoke budget with the tiny model, through the CLI."""

import json

import pytest
from typer.testing import CliRunner

from cptbench.cli.main import app
from cptbench.core.metrics import as_dict, compute_all
from cptbench.core.records import matrix_from_record
from cptbench.publish.report import load_record

runner = CliRunner()


def run_cli(*args):
    result = runner.invoke(app, list(args))
    return result


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, data_dir, tiny_model_path):
    out = tmp_path_factory.mktemp("runs") / "smoke"
    result = run_cli("run", "--suite", "crossdomain", "--budget", "smoke", "--model", "tiny-llama", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out, result.output


def test_run_writes_a_complete_record(smoke_run):
    out, output = smoke_run
    record = load_record(out)
    assert record.stages == ["politics", "science", "music", "literature", "ai"]
    kinds = {t.name: t.metric for t in record.tasks}
    assert kinds["reuters_bpb"] == "bpb" and kinds["politics_cloze"] == "accuracy"
    assert kinds["reuters_dev_lmeval"] == "bpb"  # lm-eval's bits_per_byte, in the bpb family
    assert [t.stage for t in record.tasks if t.name.startswith("reuters")] == [None, None]
    assert len(record.matrix) == 6 and all(len(row) == len(record.tasks) == 12 for row in record.matrix)
    assert record.backend["prefix_token"] == "<|endoftext|>"
    assert set(record.data) >= {"crossner/politics/train", "crossner/politics/dev", "crossner/conll2003/test"}
    assert record.environment["packages"]["trl"]
    for stage in record.training:
        assert stage.tokens == stage.corpus_tokens <= 1024
    # a compact summary: the matrix, one headline row per family, where the full report is
    assert "politics_bpb" in output and "| bpb ↓ |" in output and "| accuracy ↑ |" in output
    assert f"cptbench report {out}" in output and "plasticity_rel" not in output
    # lm-eval's progress bars and warnings stay off the terminal; cptbench's events are in the log
    assert "Running loglikelihood" not in output and "aggregation" not in output
    assert "eval row=0 (base) task=politics_bpb" in (out / "logs" / "run.log").read_text()


def test_every_cell_keeps_the_per_item_values_it_is_computed_from(smoke_run):
    out, _ = smoke_run
    record = load_record(out)
    grid = record.cell_samples()
    for t, row in enumerate(grid):
        for j, (task, samples) in enumerate(zip(record.tasks, row)):
            assert samples is not None, task.name  # bpb, cloze and lm-eval's bits_per_byte all keep them
            assert samples.value() == pytest.approx(record.matrix[t][j], rel=1e-9)
            counted = record.details[t][j].get("documents", record.details[t][j].get("items"))
            assert len(samples) == (counted or record.details[t][j]["sample_len"])
    cloze = grid[0][[t.name for t in record.tasks].index("politics_cloze")]
    assert cloze.weights is None and set(cloze.values) <= {0.0, 1.0}
    bpb = grid[0][0]
    assert sum(bpb.weights) == record.details[0][0]["bytes"]  # documents weighted by their bytes
    saved = json.loads((out / "eval" / "0-base" / "politics_bpb.json").read_text())
    assert saved["samples"] == record.samples[0][0].model_dump()


def test_record_metrics_equal_the_formulas_on_its_matrix(smoke_run):
    record = load_record(smoke_run[0])
    assert record.metrics == as_dict(compute_all(matrix_from_record(record)))


def test_training_lowers_own_domain_bpb_on_tiny_model(smoke_run):
    """Even the tiny random model learns byte statistics: every diagonal BPB cell is below the base row."""
    record = load_record(smoke_run[0])
    for j, task in enumerate(record.tasks):
        if task.stage is not None and task.metric == "bpb":
            assert record.matrix[task.stage][j] < record.matrix[0][j]


def test_probe_cells_are_accuracies_with_chance_level(smoke_run):
    record = load_record(smoke_run[0])
    for j, task in enumerate(record.tasks):
        if task.metric == "accuracy":
            for t, row in enumerate(record.matrix):
                details = record.details[t][j]
                assert details["items"] == 4 and details["chance"] == 0.25
                assert row[j] == details["correct"] / 4


def test_lmeval_bits_per_byte_joins_the_bpb_family(smoke_run):
    record = load_record(smoke_run[0])
    assert {t.name: t.metric for t in record.tasks}["reuters_dev_lmeval"] == "bpb"
    assert not [key for key in record.metrics if "bits_per_byte" in key]  # one unit, one family name
    assert record.metrics["general_retention[bpb]"] is not None
    assert record.metrics["bwt[accuracy]"] is not None and record.metrics["bwt[bpb]"] is not None


def test_every_cell_left_a_file(smoke_run):
    out = smoke_run[0]
    assert len(list((out / "eval").glob("*/*.json"))) == 6 * 12
    assert len(list((out / "train").glob("*.json"))) == 5
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["5-ai"]  # only the last stage's is kept
    assert (out / "checkpoints" / "5-ai" / "model.safetensors").is_file()
    assert not (out / "trainer").exists() or not any((out / "trainer").iterdir())


def test_report_writes_heatmap_and_markdown(smoke_run, tmp_path):
    out = smoke_run[0]
    result = run_cli("report", str(out), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| base |" in (tmp_path / "report.md").read_text()


def test_report_refuses_a_tampered_record(smoke_run, tmp_path):
    record = json.loads((smoke_run[0] / "record.json").read_text())
    record["metrics"]["bwt[bpb]"] = 123.0
    (tmp_path / "record.json").write_text(json.dumps(record))
    result = run_cli("report", str(tmp_path))
    assert result.exit_code == 2
    assert "bwt[bpb]" in result.output and not (tmp_path / "heatmap.png").exists()


def test_same_seed_gives_identical_matrix(smoke_run, tmp_path):
    result = run_cli("run", "--budget", "smoke", "--model", "tiny-llama", "--out", str(tmp_path / "again"))
    assert result.exit_code == 0, result.output
    assert load_record(tmp_path / "again").matrix == load_record(smoke_run[0]).matrix


def test_different_configuration_in_same_directory_is_refused(smoke_run):
    result = run_cli("run", "--budget", "smoke", "--model", "tiny-llama", "--seed", "7", "--out", str(smoke_run[0]))
    assert result.exit_code == 2
    assert "config.json" in result.output and "different configuration" in result.output


def test_eval_of_the_final_checkpoint_reproduces_the_last_row(smoke_run, tmp_path):
    out = smoke_run[0]
    checkpoint = out / "checkpoints" / "5-ai"
    result = run_cli("eval", "--budget", "smoke", "--model", str(checkpoint), "--tasks", "politics_bpb",
                     "--tasks", "ai_cloze", "--out", str(tmp_path / "eval"))
    assert result.exit_code == 0, result.output
    single = load_record(tmp_path / "eval")
    full = load_record(out)
    assert single.stages == [] and len(single.matrix) == 1
    assert [t.name for t in single.tasks] == ["politics_bpb", "ai_cloze"]
    for j, task in enumerate(single.tasks):
        assert single.matrix[0][j] == full.matrix[5][[t.name for t in full.tasks].index(task.name)]


def test_eval_rejects_unknown_task(tmp_path):
    result = run_cli("eval", "--budget", "smoke", "--model", "tiny-llama", "--tasks", "chess", "--out", str(tmp_path / "e"))
    assert result.exit_code == 2 and "--tasks chess" in result.output and not (tmp_path / "e").exists()


def test_seeds_run_one_record_per_seed_then_the_aggregate(smoke_run, tmp_path):
    result = run_cli("run", "--budget", "smoke", "--model", "tiny-llama", "--seeds", "0,1", "--out", str(tmp_path / "x"))
    assert result.exit_code == 0, result.output
    assert load_record(tmp_path / "x-s0").matrix == load_record(smoke_run[0]).matrix  # same seed, same matrix
    assert load_record(tmp_path / "x-s1").seed == 1
    assert "seeds 0, 1" in result.output and "| seed sd |" in result.output
    assert f"cptbench report {tmp_path / 'x-s0'},{tmp_path / 'x-s1'}" in result.output
    for bad in ("0,0", "a,b", "-1", ","):
        refused = run_cli("run", "--budget", "smoke", "--model", "tiny-llama", "--seeds", bad, "--out", str(tmp_path / "y"))
        assert refused.exit_code == 2 and f"--seeds {bad}" in refused.output and not (tmp_path / "y-s0").exists()


def test_report_compares_two_runs(smoke_run, tmp_path):
    again = tmp_path / "seed1"
    assert run_cli("run", "--budget", "smoke", "--model", "tiny-llama", "--seed", "1", "--out", str(again)).exit_code == 0
    result = run_cli("report", str(smoke_run[0]), str(again))
    assert result.exit_code == 0, result.output
    assert "- **A**: tiny-llama s0" in result.output and "| bwt[bpb] |" in result.output
    a, b = load_record(smoke_run[0]), load_record(again)
    assert f"{b.metrics['bwt[bpb]'] - a.metrics['bwt[bpb]']:+.4f} [" in result.output  # the delta, then its interval
    verdicts = {line.rstrip(" |").rsplit(" | ", 1)[-1] for line in result.output.splitlines() if line.startswith("| final")}
    assert verdicts <= {"better", "worse", "not distinguishable", "same", "—"}, verdicts
    assert "paired bootstrap over the items both sides scored" in result.output
    assert "One seed on a side: its intervals cover evaluation noise only" in result.output
    # two seeds of one configuration as one side: the seed-aggregate view
    both = run_cli("report", f"{smoke_run[0]},{again}")
    assert both.exit_code == 0, both.output
    assert "seeds 0, 1" in both.output and "| seed sd |" in both.output
    mean = (a.metrics["final[bpb]"] + b.metrics["final[bpb]"]) / 2
    assert f"| final[bpb] | {mean:.4f} | [" in both.output
    twice = run_cli("report", f"{smoke_run[0]},{smoke_run[0]}")
    assert twice.exit_code == 2 and "seed 0 appears twice" in twice.output


def test_report_writes_curves(smoke_run, tmp_path):
    assert run_cli("report", str(smoke_run[0]), "--out", str(tmp_path)).exit_code == 0
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"

"""Reports from hand-built run records: markdown tables, the run summary, metric verification,
figures, loading."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cptbench.core import metrics
from cptbench.core.errors import RecordError
from cptbench.core.records import RunRecord, matrix_from_record
from cptbench.publish import figures, report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#                 politics_bpb  science_bpb  reuters_bpb (general)
ROWS = [
    [1.2500, 1.1800, 1.0500],  # base
    [1.1000, 1.1600, 1.0700],  # after politics: its own task improves, general worsens a little
    [1.1300, 1.0400, 1.0800],  # after science: politics forgets 0.03, science improves 0.12
]
TASKS = [
    {"name": "politics_bpb", "metric": "bpb", "direction": "lower", "stage": 1},
    {"name": "science_bpb", "metric": "bpb", "direction": "lower", "stage": 2},
    {"name": "reuters_bpb", "metric": "bpb", "direction": "lower", "stage": None},
]


def make_record(stages=("politics", "science"), tasks=TASKS, rows=ROWS, perplexity=True, **extra) -> RunRecord:
    """A consistent record: its metrics are computed from its matrix by cptbench.core.metrics."""
    details = [
        [
            {"documents": 12, "tokens": 2400 + 10 * j, "bytes": 9800, "nll": 1650.0 + t}
            | ({"perplexity": 2.0 * value + 1.0} if perplexity else {})
            for j, value in enumerate(row)
        ]
        for t, row in enumerate(rows)
    ]
    training = [
        {"stage": s, "documents": 40, "corpus_tokens": 9000, "tokens": 8192, "steps": 16,
         "seconds": 21.5, "final_loss": 2.31 - 0.1 * i, "data_order_hash": f"{i:064x}"}
        for i, s in enumerate(stages)
    ]
    raw = {
        "schema_version": 2,
        "cptbench_version": "0.1.0",
        "created": "2025-01-02T03:04:05+00:00",
        "method": {"name": "naive", "order": list(stages)},
        "suite": {"name": "crossdomain", "version": 1, "hash": "ab" * 32, "budget": "small",
                  "train_tokens": 8192, "eval_docs": 12},
        "model": {"reference": "HuggingFaceTB/SmolLM2-135M", "source": "hub", "parameters": 134515008},
        "seed": 1234,
        "recipes": {"cpt": {"kind": "cpt", "learning_rate": 1e-4}},
        "backend": {"backend": "hf", "device": "cpu", "dtype": "float32", "max_length": 2048,
                    "stride": 2048, "prefix_token": "<|endoftext|>", "prefix_token_id": 0},
        "environment": {"python": "3.11.2", "torch": "2.6.0"},
        "data": {"crossner/politics/test": "cd" * 32},
        "stages": list(stages),
        "tasks": tasks,
        "matrix": rows,
        "details": details,
        "metrics": {},
        "training": training,
        "timings": {"total_seconds": 312.25, "train_seconds": 43.0, "eval_seconds": 250.5,
                    "train_tokens_per_second": 381.02, "eval_tokens_per_second": 1234.5},
    }
    record = RunRecord.model_validate(raw | extra)
    computed = metrics.as_dict(metrics.compute_all(matrix_from_record(record)))
    return record.model_copy(update={"metrics": computed})


@pytest.fixture
def record() -> RunRecord:
    return make_record()


def write_json(path: Path, raw: object) -> Path:
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


# --- markdown --------------------------------------------------------------------------------


def test_matrix_markdown_numbers_arrows_and_bold_diagonal(record):
    lines = report.matrix_markdown(record).splitlines()
    assert lines[0] == "| after stage | politics_bpb ↓ | science_bpb ↓ | reuters_bpb ↓ |"
    assert lines[2] == "| base | 1.2500 | 1.1800 | 1.0500 |"
    assert lines[3] == "| after politics | **1.1000** | 1.1600 | 1.0700 |"
    assert lines[4] == "| after science | 1.1300 | **1.0400** | 1.0800 |"
    assert len(lines) == 5


def test_matrix_markdown_higher_is_better_arrow():
    tasks = [*TASKS, {"name": "ner_acc", "metric": "accuracy", "direction": "higher", "stage": None}]
    rows = [row + [0.5 + 0.1 * t] for t, row in enumerate(ROWS)]
    header = report.matrix_markdown(make_record(tasks=tasks, rows=rows)).splitlines()[0]
    assert header.endswith("| reuters_bpb ↓ | ner_acc ↑ |")


def test_metrics_markdown_values_directions_docs_in_compute_all_order(record):
    lines = report.metrics_markdown(record).splitlines()
    assert lines[0] == "| metric | family | value | 95 % interval | direction | meaning |"
    body = [line.split(" | ") for line in lines[2:]]
    order = [(v.name, v.family) for v in metrics.compute_all(matrix_from_record(record))]
    assert [(cells[0].removeprefix("| "), cells[1]) for cells in body] == order
    by_name = {cells[0].removeprefix("| "): cells for cells in body}
    # bwt: s[2][politics] - s[1][politics] = -1.13 + 1.10 = -0.03
    assert by_name["bwt"][2:5] == ["-0.0300", "—", "higher is better"]  # no samples: no interval
    # forgetting_first = -bwt; final (native bpb) follows the family's direction
    assert by_name["forgetting_first"][2:5] == ["0.0300", "—", "lower is better"]
    assert by_name["final"][2:5] == ["1.0850", "—", "lower is better"]
    assert by_name["bwt"][5] == "backward transfer (GEM); negative = forgetting |"


def test_metrics_markdown_none_renders_as_dash():
    one_stage = make_record(
        stages=("politics",), tasks=[TASKS[0], TASKS[2]], rows=[[1.25, 1.05], [1.10, 1.07]]
    )
    assert one_stage.metrics["bwt[bpb]"] is None
    rows = {line.split(" | ")[0]: line for line in report.metrics_markdown(one_stage).splitlines()}
    for name in ("bwt", "fwt", "forgetting_max", "forgetting_first_rel"):
        assert f"| {name} | bpb | — |" in rows[f"| {name}"]
    assert "| plasticity | bpb | 0.1500 |" in rows["| plasticity"]


def test_summary_markdown_header_tables_and_perplexity(record):
    text = report.summary_markdown(record)
    for expected in (
        "crossdomain v1", "budget `small`", "HuggingFaceTB/SmolLM2-135M", "134,515,008 parameters",
        "**Seed**: 1234", "prefix token `<|endoftext|>` (id 0)", "dtype float32", "device cpu",
        "total 312.2 s", "train 43.0 s", "eval 250.5 s", "train 381 tokens/s", "eval 1234 tokens/s",
        "## Result matrix", "## Metrics", "## Token perplexity",
    ):
        assert expected in text, expected
    assert report.matrix_markdown(record) in text
    assert report.metrics_markdown(record) in text
    # perplexity = 2 * bpb + 1 in the fixture: after politics, politics_bpb -> 3.2000, bold (diagonal)
    assert "| after politics | **3.2000** | 3.3200 | 3.1400 |" in text


def test_summary_markdown_without_perplexity():
    text = report.summary_markdown(make_record(perplexity=False))
    assert "Token perplexity" not in text
    assert "## Metrics" in text


def with_accuracy_task(record: RunRecord) -> RunRecord:
    """``record`` plus a general accuracy task (higher is better) that has no token perplexity."""
    tasks = [*TASKS, {"name": "ner_acc", "metric": "accuracy", "direction": "higher", "stage": None}]
    rows = [row + [0.5 + 0.1 * t] for t, row in enumerate(ROWS)]
    widened = make_record(tasks=tasks, rows=rows)
    details = [row + [{"documents": 12, "correct": 6 + t}] for t, row in enumerate(record.details)]
    return widened.model_copy(update={"details": details})


def test_perplexity_markdown_leaves_out_tasks_without_perplexity(record):
    lines = report.perplexity_markdown(with_accuracy_task(record)).splitlines()
    assert lines[0] == "| after stage | politics_bpb ↓ | science_bpb ↓ | reuters_bpb ↓ |"
    assert lines[3] == "| after politics | **3.2000** | 3.3200 | 3.1400 |"


def test_headline_markdown_one_row_per_family_defined_columns_only():
    one_stage = make_record(stages=("politics",), tasks=[TASKS[0], TASKS[2]], rows=[[1.25, 1.05], [1.10, 1.07]])
    lines = report.headline_markdown(one_stage).splitlines()
    # bwt, fwt, forgetting_max need a second stage: undefined for every family, so left out
    assert lines[0] == "| family | final | plasticity ↑ | general_retention ↑ |"
    assert lines[2] == "| bpb ↓ | 1.1000 | 0.1500 | -0.0200 |"
    assert len(lines) == 3


def test_headline_markdown_keeps_a_column_defined_for_one_family(record):
    lines = report.headline_markdown(with_accuracy_task(record)).splitlines()
    assert lines[0] == "| family | final | plasticity ↑ | bwt ↑ | fwt ↑ | forgetting_max ↓ | general_retention ↑ |"
    assert lines[2] == "| bpb ↓ | 1.0850 | 0.1350 | -0.0300 | 0.0200 | 0.0300 | -0.0300 |"
    # accuracy has only a general task: its stage metrics are undefined, its retention is +0.2
    assert lines[3] == "| accuracy ↑ | — | — | — | — | — | 0.2000 |"


def test_run_summary_matrix_headline_and_where_the_report_is(record, tmp_path):
    run_dir = tmp_path / "my run"
    text = report.run_summary(record, run_dir)
    assert report.matrix_markdown(record) in text
    assert report.headline_markdown(record) in text
    assert text.endswith(f"`cptbench report '{run_dir}'`\n")
    assert "## Metrics" not in text and "forgetting_first" not in text  # not the 42-row dump
    assert len(text.splitlines()) < 20


# --- verification ----------------------------------------------------------------------------


def test_verify_metrics_consistent(record):
    assert report.verify_metrics(record) == []


def test_verify_metrics_tolerates_rounding(record):
    nudged = dict(record.metrics, **{"bwt[bpb]": record.metrics["bwt[bpb]"] * (1 + 1e-12)})
    assert report.verify_metrics(record.model_copy(update={"metrics": nudged})) == []


def test_verify_metrics_names_the_tampered_metric(record):
    tampered = dict(record.metrics, **{"bwt[bpb]": -0.5})
    problems = report.verify_metrics(record.model_copy(update={"metrics": tampered}))
    assert len(problems) == 1
    assert "bwt[bpb]" in problems[0] and "-0.5" in problems[0] and "\n" not in problems[0]


def test_verify_metrics_missing_extra_and_none(record):
    changed = dict(record.metrics, **{"fwt[bpb]": None, "made_up[bpb]": 1.0})
    del changed["final[bpb]"]
    problems = report.verify_metrics(record.model_copy(update={"metrics": changed}))
    assert len(problems) == 3
    assert any("final[bpb]" in p and "missing" in p for p in problems)
    assert any("fwt[bpb]" in p and "None" in p for p in problems)
    assert any("made_up[bpb]" in p for p in problems)


# --- heatmap ---------------------------------------------------------------------------------


def test_gain_deltas_are_gain_oriented(record):
    deltas = figures.gain_deltas(matrix_from_record(record))
    assert deltas[0] == [0.0, 0.0, 0.0]
    assert deltas[1][0] == pytest.approx(0.15)  # bpb 1.25 -> 1.10: lower is better, so a gain
    assert deltas[2][2] == pytest.approx(-0.03)  # general bpb 1.05 -> 1.08: a loss


def test_write_heatmap_valid_png(record, tmp_path):
    from matplotlib.image import imread

    path = figures.write_heatmap(record, tmp_path / "plots" / "heatmap.png")
    assert path == tmp_path / "plots" / "heatmap.png"
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = imread(path)
    width, height = figures.heatmap_figsize(3, 3)
    assert image.shape == (round(height * figures.HEATMAP_DPI), round(width * figures.HEATMAP_DPI), 4)
    assert image.shape[1] / image.shape[0] == pytest.approx(width / height, rel=0.01)
    assert sorted(p.name for p in path.parent.iterdir()) == ["heatmap.png"]  # no temp file left


def test_write_report_writes_markdown_and_png(record, tmp_path):
    paths = report.write_report(record, tmp_path / "report")
    assert set(paths) == {"markdown", "heatmap", "curves"}
    assert paths["markdown"].read_text(encoding="utf-8") == report.summary_markdown(record)
    assert paths["heatmap"].read_bytes()[:8] == PNG_SIGNATURE
    assert paths["curves"].read_bytes()[:8] == PNG_SIGNATURE


def test_report_module_imports_neither_torch_nor_matplotlib():
    code = "import sys, cptbench.publish.report; print(sorted({'torch', 'matplotlib'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- loading ---------------------------------------------------------------------------------


def test_load_record_from_directory_and_file(record, tmp_path):
    path = write_json(tmp_path / "record.json", record.model_dump(mode="json"))
    assert report.load_record(tmp_path) == record
    assert report.load_record(path) == record


def test_load_record_corrupted_json(record, tmp_path):
    text = json.dumps(record.model_dump(mode="json"))
    path = tmp_path / "record.json"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(RecordError) as info:
        report.load_record(tmp_path)
    message = str(info.value)
    assert str(path) in message and "malformed JSON" in message and "\n" not in message


def test_load_record_missing_matrix(record, tmp_path):
    raw = record.model_dump(mode="json")
    del raw["matrix"]
    path = write_json(tmp_path / "broken.json", raw)
    with pytest.raises(RecordError) as info:
        report.load_record(path)
    message = str(info.value)
    assert message.startswith(f"{path}: matrix:") and "\n" not in message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"suite": {"name": "x"}}, "suite.version"),
        ({"unexpected": 1}, "unexpected"),
        ({"matrix": [[1.0, 1.0, 1.0], [1.0, 1.0]]}, "matrix"),  # ragged: too few rows and cells
    ],
)
def test_load_record_schema_and_shape_errors_name_the_field(record, tmp_path, change, field):
    path = write_json(tmp_path / "record.json", record.model_dump(mode="json") | change)
    with pytest.raises(RecordError, match=rf"^{re.escape(str(path))}: {field}"):
        report.load_record(path)


def test_load_record_missing_file_and_not_an_object(tmp_path):
    with pytest.raises(RecordError, match="file not found"):
        report.load_record(tmp_path / "nowhere")
    path = write_json(tmp_path / "record.json", [1, 2])
    with pytest.raises(RecordError, match="expected a JSON object"):
        report.load_record(path)

"""The method tables of docs/experiments.md ("facts: the method board"), read from the committed
leaderboard submissions (every number there comes from these records):

1. every configuration on the board (its seeds' mean, 95 % intervals over seeds and items):
   plasticity, forgetting_max, BWT and final in the ranked family, Reuters BPB after the last stage;
2. each configuration against naive (paired over seeds and items), with its verdict;
3. every pair of configurations on forgetting_max and final (row − column);
4. minutes per run (the record's wall time), per seed.

    python benchmarks/board/summarize.py              # the facts board under ./leaderboards
    python benchmarks/board/summarize.py --suite facts --root leaderboards
"""

from __future__ import annotations

import argparse
from itertools import combinations

from cptbench.core.uncertainty import Delta, compare
from cptbench.publish.compare import side_names, verdict
from cptbench.publish.format import markdown_table, spanned
from cptbench.publish.leaderboard import Board, Row, load_board
from cptbench.publish.tradeoff import is_naive

COLUMNS = ("plasticity", "forgetting_max", "bwt", "final")
GENERAL = "final_general[bpb]"  # the general task (Reuters) after the last stage, bits per byte
PAIRED = ("forgetting_max", "plasticity", "final")
SHORT = {"better": "better", "worse": "worse", "not distinguishable": "n.d."}


def records(row: Row) -> list:
    return [entry.submission for entry in row.entries]


def described(row: Row) -> str:
    return row.first.header.method


def delta_cell(value: float | None, delta: Delta) -> str:
    """The difference with its interval and the verdict, short."""
    said = verdict(delta, value)
    return f"{spanned(value, delta.interval, 2, signed=True)} {SHORT.get(said, said)}"


def overview(board: Board, names: list[str]) -> str:
    keys = [f"{c}[{board.family}]" for c in COLUMNS]
    header = ["", "rank", "configuration", "seeds", *keys, "Reuters BPB ↓"]
    rows = []
    for name, row in zip(names, board.rows):
        s = row.summary
        rows.append([name, row.rank, described(row), ",".join(str(e.submission.seed) for e in row.entries),
                     *(spanned(s.estimates[k], s.metrics.get(k), 2) for k in keys),
                     spanned(s.estimates[GENERAL], s.metrics.get(GENERAL), 3)])
    return markdown_table(header, rows)


def against(base: Row, row: Row, key: str) -> tuple[float | None, Delta]:
    delta = compare(records(base), records(row)).metrics[key]
    value = None if base.summary.estimates[key] is None or row.summary.estimates[key] is None \
        else row.summary.estimates[key] - base.summary.estimates[key]
    return value, delta


def versus_naive(board: Board, names: list[str]) -> str:
    naive = next(i for i, row in enumerate(board.rows) if is_naive(row.first.submission))
    keys = [f"{c}[{board.family}]" for c in PAIRED] + [GENERAL]
    header = ["", "configuration", *(f"Δ {k} vs naive" for k in keys)]
    rows = []
    for i, (name, row) in enumerate(zip(names, board.rows)):
        if i == naive:
            continue
        cells = []
        for key in keys:
            cells.append(delta_cell(*against(board.rows[naive], row, key)))
        rows.append([name, described(row), *cells])
    return markdown_table(header, rows)


def pairwise(board: Board, names: list[str], metric: str) -> str:
    """Row − column on ``metric`` with its paired interval (over seeds and items); the verdict says
    whether the row is better than the column, worse, or not distinguishable (n.d.)."""
    key = f"{metric}[{board.family}]"
    cells = {}
    for column, row in combinations(range(len(names)), 2):  # the lower triangle: the other is its mirror
        cells[(row, column)] = delta_cell(*against(board.rows[column], board.rows[row], key))
    return markdown_table([f"{key}: row − column", *names[:-1]],
                          [[n, *(cells.get((i, j), "") for j in range(len(names) - 1))] for i, n in enumerate(names) if i])


def minutes(board: Board, names: list[str]) -> str:
    rows = []
    for name, row in zip(names, board.rows):
        per_seed = [e.submission.timings["total_seconds"] / 60 for e in row.entries]
        train = [e.submission.timings["train_seconds"] / 60 for e in row.entries]
        rows.append([name, described(row), ", ".join(f"{m:.1f}" for m in per_seed),
                     ", ".join(f"{m:.1f}" for m in train), row.first.submission.environment.get("device", "")])
    return markdown_table(["", "configuration", "minutes per run (by seed)", "of which training", "device"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default="facts")
    parser.add_argument("--root", default="leaderboards")
    args = parser.parse_args()
    board = load_board(args.root, args.suite)
    names = side_names(len(board.rows))
    print(f"## {args.suite}: {len(board.rows)} configurations, ranked by {board.sort}\n")
    print(overview(board, names))
    print(versus_naive(board, names))
    for metric in ("forgetting_max", "final"):
        print(pairwise(board, names, metric))
    print(minutes(board, names))


if __name__ == "__main__":
    main()

"""Write three small JSONL corpora (and multiple-choice probes) for the own-suite example.

Stands in for "three folders of your own text": it takes three CrossNER domains from the local
mirror (``CPTBENCH_DATA_DIR``) and writes them in the shape a user's data usually has, one JSON
record per document. Run it next to ``suite.yaml``:

    python examples/own_suite/make_corpora.py examples/own_suite/corpora

Files: ``<domain>_train.jsonl`` and ``<domain>_test.jsonl`` (``{"title", "body"}``), and
``<domain>_probes.jsonl`` (``{"question", "options", "gold"}``: which entity completes a sentence).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cptbench.data import crossner
from cptbench.data.probes import cloze_items

DOMAINS = ("politics", "science", "music")
TRAIN_DOCS, TEST_DOCS, PROBES = 120, 40, 40


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records), encoding="utf-8")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for domain in DOMAINS:
        for split, count in (("train", TRAIN_DOCS), ("test", TEST_DOCS)):
            docs = crossner.documents(domain, split)[:count]
            write_jsonl(out / f"{domain}_{split}.jsonl",
                        [{"title": f"{domain} {split} {i}", "body": doc.text} for i, doc in enumerate(docs)])
        items = cloze_items(crossner.sentences(domain, "dev"), f"crossner/{domain}/dev", PROBES, seed=0)
        write_jsonl(out / f"{domain}_probes.jsonl",
                    [{"question": item.context.rstrip(), "options": list(item.candidates), "gold": item.answer}
                     for item in items if item.context.strip()])
    print(f"wrote {len(DOMAINS) * 3} files to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "corpora")

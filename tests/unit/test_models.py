"""Model references: aliases, local directories, clear one-line errors."""

import pytest

from cptbench.core.errors import ModelError
from cptbench.models.resolve import TINY_MODEL, build_byte_tokenizer, resolve_model


def test_tiny_alias_and_its_directory_resolve_to_the_same_model(tiny_model_path):
    by_alias = resolve_model(TINY_MODEL)
    by_path = resolve_model(str(tiny_model_path))
    assert by_alias.path == by_path.path == tiny_model_path
    assert (by_alias.source, by_path.source) == ("alias", "local")


def test_tiny_model_is_small_and_seeded(tiny):
    model, tokenizer = tiny
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size <= 64
    from cptbench.models.resolve import build_tiny_model

    rebuilt, _ = build_tiny_model()
    for (name, a), (_, b) in zip(model.state_dict().items(), rebuilt.state_dict().items()):
        assert a.equal(b), name


def test_byte_tokenizer_round_trips_utf8():
    tokenizer = build_byte_tokenizer()
    text = "Zürich – 東京, naïve café"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(ids) == len(text.encode("utf-8"))
    assert tokenizer.decode(ids) == text


def test_directory_without_weights_is_refused(tmp_path):
    with pytest.raises(ModelError, match="no config.json"):
        resolve_model(str(tmp_path))


@pytest.mark.parametrize("reference", ["not-a-model", "smollm2-1b"])
def test_unknown_alias_is_one_line(reference):
    with pytest.raises(ModelError) as info:
        resolve_model(reference)
    assert reference in str(info.value) and "smollm2-135m-instruct" in str(info.value)
    assert "\n" not in str(info.value)


def test_unreachable_hub_id_is_one_line():
    with pytest.raises(ModelError, match="could not download from the Hugging Face Hub"):
        resolve_model("nobody-here/no-such-model-xyz")

import pytest

from cptbench.eval.backends.windows import rolling_windows


def scored_targets(num_targets, max_length, stride):
    """Target positions (1-based in x = [prefix] + targets) each window scores."""
    positions = []
    for w in rolling_windows(num_targets, max_length, stride):
        assert 0 < w.end - w.start <= max_length
        labels = range(w.start + 1, w.end + 1)
        positions.extend(list(labels)[w.skip :])
    return positions


@pytest.mark.parametrize("num_targets", [1, 7, 8, 9, 16, 17, 100])
@pytest.mark.parametrize("max_length,stride", [(8, None), (8, 8), (8, 3), (8, 1), (1, 1)])
def test_every_target_scored_exactly_once(num_targets, max_length, stride):
    assert scored_targets(num_targets, max_length, stride) == list(range(1, num_targets + 1))


def test_shorter_stride_gives_more_context():
    disjoint = rolling_windows(20, 8)
    overlapped = rolling_windows(20, 8, stride=2)
    assert [w.skip for w in disjoint] == [0, 0, 4]  # the last window is filled with context
    assert all(w.end - w.start == 8 for w in overlapped[1:])
    assert len(overlapped) > len(disjoint)


def test_invalid_stride_and_empty_document():
    with pytest.raises(ValueError):
        rolling_windows(10, 8, stride=9)
    assert rolling_windows(0, 8) == []

"""Log-likelihood requests: the context/continuation split every backend applies."""

from cptbench.eval.backends.base import LoglikelihoodRequest, split_whitespace


def test_context_whitespace_moves_to_the_continuation():
    assert split_whitespace("the president , ", "Emmanuel Macron .") == ("the president ,", " Emmanuel Macron .")
    assert split_whitespace("Answer:", " yes") == ("Answer:", " yes")  # nothing to move
    assert split_whitespace("a \n\t", "b") == ("a", " \n\tb")
    assert split_whitespace("", "b") == ("", "b")


def test_requests_carry_the_natural_split_to_every_backend():


    request = LoglikelihoodRequest("the president , ", "Emmanuel Macron .")
    assert (request.context, request.continuation) == ("the president ,", " Emmanuel Macron .")

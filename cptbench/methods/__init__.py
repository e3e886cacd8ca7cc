"""Methods: how a sequence of stages is trained, as registered plug-ins (one module each).

A method declares its parameters (a pydantic model: the one place they are validated) and any of
the hooks of ``base.Method``: *shape* and *data* (what each stage trains on: joint, replay),
*start* (which weights a stage starts from: dapt), *loss* (an extra term of the training loss:
l2, ewc, distill), *after stage* (an operation on the finished weights and state kept for later
stages: merge, ewc's Fisher), *check* (refusals before any work) and *validate* (what the
leaderboard checks of a record). ``registry`` finds them: cptbench's own by name, other packages'
through the ``cptbench.methods`` entry-point group.
"""

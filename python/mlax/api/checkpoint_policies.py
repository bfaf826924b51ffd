"""The saving policies of `mlax.checkpoint(fun, policy=...)`, under JAX's names.

A policy says which values computed inside a checkpointed function the forward
pass keeps for the backward pass; the others are recomputed. mlax's checkpoint
honours the two ends: `nothing_saveable` (recompute everything, the default) and
`everything_saveable` (keep everything, as if fun were not checkpointed). The
selective policies are here so that code naming them gets NotImplementedError
from checkpoint, naming the policy, rather than an AttributeError; they are
names with their arguments, not predicates mlax applies.
"""


class Policy:
    """A saving policy, by JAX's name (and the arguments it was made with)."""

    def __init__(self, name, *args, **kwargs):
        self.name = name
        self.args = args
        self.kwargs = kwargs

    def __repr__(self):
        given = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.name}({', '.join(given)})" if given else self.name


everything_saveable = Policy("everything_saveable")
nothing_saveable = Policy("nothing_saveable")
dots_saveable = checkpoint_dots = Policy("dots_saveable")
dots_with_no_batch_dims_saveable = checkpoint_dots_with_no_batch_dims = Policy("dots_with_no_batch_dims_saveable")


def save_only_these_names(*names_which_can_be_saved):
    """Keep only the values named (by checkpoint_name) among these names."""
    return Policy("save_only_these_names", *names_which_can_be_saved)


def save_any_names_but_these(*names_not_to_save):
    """Keep the named values except these."""
    return Policy("save_any_names_but_these", *names_not_to_save)


def save_anything_except_these_names(*names_not_to_save):
    """Keep every value except those with these names."""
    return Policy("save_anything_except_these_names", *names_not_to_save)


def save_from_both_policies(policy_1, policy_2):
    """Keep what either policy keeps."""
    return Policy("save_from_both_policies", policy_1, policy_2)


def save_and_offload_only_these_names(*, names_which_can_be_saved, names_which_can_be_offloaded, offload_src,
                                      offload_dst):
    """save_only_these_names, offloading some values to another memory."""
    return Policy("save_and_offload_only_these_names", names_which_can_be_saved=names_which_can_be_saved,
                  names_which_can_be_offloaded=names_which_can_be_offloaded, offload_src=offload_src,
                  offload_dst=offload_dst)


def offload_dot_with_no_batch_dims(offload_src, offload_dst):
    """dots_with_no_batch_dims_saveable, offloading the values to another memory."""
    return Policy("offload_dot_with_no_batch_dims", offload_src, offload_dst)

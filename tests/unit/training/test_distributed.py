"""`Dist.on_main`: rank 0 computes, every rank gets the result, or the same one-line error."""

from __future__ import annotations

import pytest

from stilt_cli.core.errors import DataError, OutputExistsError
from stilt_cli.core.training.distributed import Dist


class Rank(Dist):
    """A rank of a 2-process group whose broadcast hands over what rank 0 sent (`sent`)."""

    def __init__(self, rank: int, sent=None) -> None:
        super().__init__(rank=rank, world=2, active=True)
        self.sent, self.seen = sent, None

    def broadcast(self, obj):
        self.seen = obj
        return obj if self.rank == 0 else self.sent


def test_alone_and_on_rank_zero_the_result_is_computed_there():
    assert Dist().on_main(lambda: 3) == 3
    main = Rank(0)
    assert main.on_main(lambda: {"step": 8}) == {"step": 8} and main.seen == ({"step": 8}, None)
    assert main.on_main(lambda: object, share=False) is object and main.seen == (None, None)  # not sent


def test_other_ranks_get_the_result_without_computing_it():
    def never():
        raise AssertionError("rank 1 computed")

    assert Rank(1, sent=({"step": 8}, None)).on_main(never) == {"step": 8}
    assert Rank(1, sent=(None, None)).on_main(never, share=False) is None


def test_a_refusal_on_rank_zero_stops_every_rank_alike():
    def refuse():
        raise OutputExistsError("runs/xnli exists", "use --if-exists overwrite")

    main = Rank(0)
    with pytest.raises(OutputExistsError):
        main.on_main(refuse)
    kind, message, hint = main.seen[1]
    with pytest.raises(OutputExistsError) as caught:
        Rank(1, sent=(None, (kind, message, hint))).on_main(refuse)
    assert (caught.value.message, caught.value.hint) == ("runs/xnli exists", "use --if-exists overwrite")
    with pytest.raises(DataError):
        Rank(1, sent=(None, (DataError, "unreadable", None))).on_main(refuse)

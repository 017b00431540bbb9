"""The lifecycle table (flows/lifecycle.py): every allowed move lands where DESIGN §7 says,
every other (status, move) pair is refused, and no sequence of moves leaves the table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.enrollment_status import EnrollmentStatus as S
from flows.lifecycle import FINAL, Move, MoveRefused, moves_from, next_status, sources

ALLOWED = {
    (S.DRAFT, Move.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, Move.VERIFY): S.VERIFIED,
    (S.SUBMITTED, Move.REJECT): S.REJECTED,
    (S.VERIFIED, Move.REJECT): S.REJECTED,
    (S.VERIFIED, Move.REGISTER): S.REGISTERED,
    (S.REGISTERED, Move.PAY): S.ACTIVE,
    (S.REGISTERED, Move.LAPSE): S.LAPSED,
    (S.ACTIVE, Move.LAPSE): S.LAPSED,
    (S.LAPSED, Move.REINSTATE): S.ACTIVE,
    (S.LAPSED, Move.END): S.ENDED,
    **{(status, Move.STOP): S.STOPPED
       for status in (S.DRAFT, S.SUBMITTED, S.VERIFIED, S.REGISTERED, S.ACTIVE)},
}


@pytest.mark.parametrize(("status", "move"), sorted(ALLOWED))
def test_every_allowed_move_lands_where_the_design_says(status, move):
    assert next_status(status, move) == ALLOWED[status, move]
    assert move in moves_from(status) and status in sources(move)


@pytest.mark.parametrize(("status", "move"),
                         [(status, move) for status in S for move in Move
                          if (status, move) not in ALLOWED])
def test_every_other_move_is_refused(status, move):
    with pytest.raises(MoveRefused) as refused:
        next_status(status, move)
    assert (refused.value.move, refused.value.status) == (move, status)
    assert move not in moves_from(status)


def test_final_statuses_allow_no_move():
    assert all(moves_from(status) == () for status in FINAL)


@given(st.lists(st.sampled_from(list(Move)), max_size=40))
def test_any_sequence_of_moves_stays_in_the_table(moves):
    status = S.DRAFT
    for move in moves:
        try:
            status = next_status(status, move)
        except MoveRefused:
            continue  # refused: the status stays as it was
        assert status in set(S)
    assert status in set(S)

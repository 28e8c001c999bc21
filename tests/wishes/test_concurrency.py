"""Two claimers at once on one wish: one wins, the other is told it was claimed."""

import threading

import pytest
from django.db import connection

from wishes import services
from wishes.models import State, Wish, WishEvent


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_claims_at_once_one_wins(world):
    from tests.wishes.conftest import Wishing

    wt = Wishing(world, accounts=False)
    for _round in range(3):
        wish = services.wish_post(
            area=world.u1, title="帮忙买药", actor=world.users["community"], for_name="张奶奶"
        )
        barrier = threading.Barrier(2)
        results = {}

        def claim(person, key, wish=wish, barrier=barrier, results=results):
            try:
                barrier.wait()
                services.wish_claim(wish=wish, person=person)
                results[key] = "won"
            except services.AlreadyClaimed as exc:
                results[key] = " ".join(exc.messages)
            finally:
                connection.close()

        threads = [
            threading.Thread(target=claim, args=(wt.member, "a")),
            threading.Thread(target=claim, args=(wt.member2, "b")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
            assert not thread.is_alive()
        assert list(results.values()).count("won") == 1
        loser = next(v for v in results.values() if v != "won")
        assert "已被他人认领" in loser
        wish.refresh_from_db()
        assert wish.state == State.CLAIMED
        winner = wt.member if results["a"] == "won" else wt.member2
        assert wish.claimer == winner
        assert WishEvent.objects.filter(wish=wish, kind=WishEvent.Kind.CLAIM).count() == 1
    assert Wish.objects.filter(state=State.CLAIMED).count() == 3

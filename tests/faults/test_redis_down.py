"""Redis down: pages, sign-in and new problems keep working (the broker's absence never
fails a request, the cache fails open), and the notifications and text messages they
caused go out once Redis is back — by beat's sweeps (notifications-sweep,
text-messages-sweep) — each exactly once."""

import datetime as dt
import json
import time
from collections import Counter

from tests.faults import rig


def _open311(stack, n: int) -> rig.Answer:
    from urllib.parse import urlencode

    body = urlencode(
        {
            "api_key": stack.facts["api_key"],
            "service_code": stack.facts["category_code"],
            "address_id": stack.facts["grid_codes"][n % len(stack.facts["grid_codes"])],
            "description": f"路灯不亮 #{n}",
            "first_name": "居民",
            "phone": f"1370000{n:04d}",
        }
    ).encode()
    return rig.request(
        stack.http_port,
        "POST",
        "/open311/v2/requests.json",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def _outbox(stack, since: dt.datetime) -> dict:
    rows = {}
    for table in ("issues_notificationdelivery", "core_textmessage"):
        rows[table] = stack.sql(
            f"SELECT count(*), count(sent_at) FROM {table} WHERE created_at >= %s",  # noqa: S608
            (since,),
        )[0]
    return rows


def test_redis_down_then_back(stack_factory, say):
    stack = stack_factory()
    stack.scenario("beat", every={"notifications-sweep": 2, "text-messages-sweep": 2})
    started = stack.sql("SELECT now()")[0][0]
    stack.gunicorn(workers=2)
    stack.worker()
    stack.beat()

    # With Redis up, a new problem's mail and SMS go straight through the worker.
    assert _open311(stack, 0).status == 201
    rig.wait_for(lambda: stack.smtp.messages and stack.sms.messages, timeout=30, what="mail+SMS")

    stack.redis.stop()
    browser = rig.Browser(stack.http_port)
    during: list[tuple[str, rig.Answer]] = []
    during.append(("login page", browser.get("/accounts/login/")))
    during.append(
        (
            "sign-in",
            browser.post(
                "/accounts/login/",
                {"username": stack.facts["username"], "password": stack.facts["password"]},
            ),
        )
    )
    during.append(("inbox", browser.get("/tickets/")))
    for n in range(1, 4):
        during.append((f"Open311 report {n}", _open311(stack, n)))
    browser.get("/tickets/report/")
    during.append(
        (
            "worker's report form",
            browser.post(
                "/tickets/report/",
                {
                    "area": stack.facts["grid_codes"][-1],
                    "category": stack.facts["category_id"],
                    "channel": "hotline",
                    "description": "电梯停运",
                    "reporter_name": "居民",
                    "reporter_phone": "13700009999",
                    "tier": "",
                },
            ),
        )
    )
    during.append(("a problem's page", browser.get("/tickets/")))
    expected = {
        "login page": 200,
        "sign-in": 302,
        "inbox": 200,
        "worker's report form": 302,
        "a problem's page": 200,
    }
    for what, answer in during:
        assert answer.status == expected.get(what, 201), (what, answer)
        assert answer.seconds < 5, (what, answer.seconds)
    left = _outbox(stack, started)
    mails_then, sms_then = len(stack.smtp.messages), len(stack.sms.messages)
    time.sleep(4)  # beat cannot queue a sweep, the worker cannot take one
    assert (len(stack.smtp.messages), len(stack.sms.messages)) == (mails_then, sms_then)

    stack.redis.start()
    back = time.monotonic()

    def all_sent():
        rows = _outbox(stack, started)
        return all(total == sent for total, sent in rows.values()) and rows

    rig.wait_for(all_sent, timeout=90, what="the outbox to be sent", every=0.5)
    recovered = time.monotonic() - back
    by_channel = dict(
        stack.sql(
            "SELECT channel, count(*) FROM issues_notificationdelivery WHERE created_at >= %s "
            "GROUP BY channel",
            (started,),
        )
    )
    texts = stack.sql("SELECT count(*) FROM core_textmessage WHERE created_at >= %s", (started,))
    received = Counter(stack.smtp.message_ids())
    sms_ids = Counter(m["id"] for m in stack.sms.messages)
    say(
        f"\n[faults] Redis down: {len(during)} requests answered "
        f"(slowest {max(a.seconds for _, a in during):.2f} s); left for the sweeps: "
        f"{json.dumps({k: v[0] - v[1] for k, v in left.items()})}; all sent "
        f"{recovered:.1f} s after Redis was back: {sum(received.values())} mails, "
        f"{sum(sms_ids.values())} SMS, duplicates {sum(n - 1 for n in received.values())} "
        f"mails and {sum(n - 1 for n in sms_ids.values())} SMS"
    )
    assert all(total - sent > 0 for total, sent in left.values()), left  # really left behind
    assert max(received.values()) == 1 and max(sms_ids.values()) == 1, (received, sms_ids)
    assert len(received) == by_channel.get("email", 0), (received, by_channel)
    assert len(sms_ids) == by_channel.get("sms", 0) + texts[0][0], (sms_ids, by_channel, texts)

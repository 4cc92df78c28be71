#!/usr/bin/python3
"""Unit tests of the run checks and the Lock message codec (no servers)."""
import os
import sys
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checks  # noqa: E402
import etcdclient  # noqa: E402
import locks  # noqa: E402


def op(client, kind, key, invoke, ret, ok, value=None, result=None):
    return {"client": client, "op": kind, "key": key, "value": value, "invoke": invoke,
            "return": ret, "ok": ok, "result": result}


class AllowedFinalValuesTest(unittest.TestCase):
    def test_no_writes_allows_absent_only(self):
        self.assertEqual(checks.allowed_final_values([], "k"), {None})

    def test_last_acknowledged_write_wins(self):
        h = [op(0, "put", "k", 0, 1, True, "a"), op(0, "put", "k", 2, 3, True, "b")]
        self.assertEqual(checks.allowed_final_values(h, "k"), {"b"})

    def test_concurrent_acknowledged_writes_both_allowed(self):
        h = [op(0, "put", "k", 0, 5, True, "a"), op(1, "put", "k", 1, 4, True, "b")]
        self.assertEqual(checks.allowed_final_values(h, "k"), {"a", "b"})

    def test_unknown_write_may_land_after_everything(self):
        h = [op(0, "put", "k", 0, None, None, "a"), op(1, "put", "k", 5, 6, True, "b")]
        self.assertEqual(checks.allowed_final_values(h, "k"), {"a", "b"})

    def test_unknown_write_alone_allows_absent(self):
        h = [op(0, "put", "k", 0, None, None, "a")]
        self.assertEqual(checks.allowed_final_values(h, "k"), {None, "a"})

    def test_failed_write_never_counts(self):
        h = [op(0, "put", "k", 0, 1, True, "a"), op(1, "put", "k", 2, 3, False, "b")]
        self.assertEqual(checks.allowed_final_values(h, "k"), {"a"})

    def test_delete_means_absent(self):
        h = [op(0, "put", "k", 0, 1, True, "a"), op(1, "delete", "k", 2, 3, True)]
        self.assertEqual(checks.allowed_final_values(h, "k"), {None})


class DurabilityTest(unittest.TestCase):
    def test_lost_acknowledged_write(self):
        h = [op(0, "put", "k", 0, 1, True, "a"), op(0, "put", "k", 2, 3, True, "b")]
        lost, problems = checks.check_durability(h, {"k": {0: "a", 1: "a", 2: "a"}})
        self.assertEqual(lost, 1)
        self.assertIn("allows only", problems[0])

    def test_members_disagree(self):
        h = [op(0, "put", "k", 0, 1, True, "a")]
        lost, _ = checks.check_durability(h, {"k": {0: "a", 1: None}})
        self.assertEqual(lost, 1)

    def test_clean(self):
        h = [op(0, "put", "k", 0, 1, True, "a")]
        self.assertEqual(checks.check_durability(h, {"k": {0: "a", 1: "a"}}), (0, []))


class FallbackTest(unittest.TestCase):
    def test_read_of_unwritten_value(self):
        h = [op(0, "get", "k", 0, 1, True, result="zz")]
        self.assertEqual(len(checks.fallback_check(h)), 1)

    def test_stale_read(self):
        h = [op(0, "put", "k", 0, 1, True, "a"), op(0, "put", "k", 2, 3, True, "b"),
             op(1, "get", "k", 4, 5, True, result="a")]
        self.assertIn("stale read", checks.fallback_check(h)[0])

    def test_read_concurrent_with_write_may_see_either(self):
        h = [op(0, "put", "k", 0, 1, True, "a"), op(0, "put", "k", 2, 9, True, "b"),
             op(1, "get", "k", 4, 5, True, result="a"), op(2, "get", "k", 4, 5, True,
                                                         result="b")]
        self.assertEqual(checks.fallback_check(h), [])

    def test_unknown_write_may_be_read(self):
        h = [op(0, "put", "k", 0, 1, True, "a"), op(1, "put", "k", 2, None, None, "b"),
             op(2, "get", "k", 4, 5, True, result="b")]
        self.assertEqual(checks.fallback_check(h), [])


def hold(locker, token, acquired, released, fence="accepted", fi=None, fr=None):
    return {"locker": locker, "token": token, "acquired": acquired, "released": released,
            "fence": fence, "fence_invoke": acquired + 1 if fi is None else fi,
            "fence_return": acquired + 2 if fr is None else fr}


class LockCheckTest(unittest.TestCase):
    def test_sequential_holders_are_clean(self):
        r = locks.check_holds([hold(0, 5, 0, 10), hold(1, 7, 11, 20)], locks.token_text(7))
        self.assertEqual((r["overlaps"], r["bad_overlaps"], r["fence_violations"]), (0, 0, 0))

    def test_overlap_with_increasing_tokens_is_reported_not_bad(self):
        r = locks.check_holds([hold(0, 5, 0, 10), hold(1, 7, 5, 20)], "7")
        self.assertEqual((r["overlaps"], r["bad_overlaps"]), (1, 0))

    def test_overlap_with_decreasing_tokens_is_bad(self):
        r = locks.check_holds([hold(0, 7, 0, 10), hold(1, 5, 5, 20, fence="rejected")], "7")
        self.assertEqual(r["bad_overlaps"], 1)

    def test_duplicate_token_is_bad(self):
        r = locks.check_holds([hold(0, 5, 0, 10), hold(1, 5, 11, 20, fence="rejected")], "5")
        self.assertEqual(r["bad_overlaps"], 1)

    def test_fence_accepted_going_down(self):
        r = locks.check_holds([hold(0, 7, 0, 10), hold(1, 5, 11, 20)], "7")
        self.assertEqual(r["fence_violations"], 1)

    def test_final_fence_must_be_top_accepted(self):
        r = locks.check_holds([hold(0, 5, 0, 10), hold(1, 7, 11, 20)], locks.token_text(5))
        self.assertEqual(r["fence_violations"], 1)

    def test_final_fence_may_be_larger_unknown(self):
        r = locks.check_holds([hold(0, 5, 0, 10), hold(1, 7, 11, 20, fence="unknown")], "7")
        self.assertEqual(r["fence_violations"], 0)


class LockCodecTest(unittest.TestCase):
    def test_lock_request_bytes(self):
        # name "a" (field 1), lease 300 (field 2, varint 0xac 0x02)
        self.assertEqual(etcdclient.encode_lock_request(b"a", 300),
                         b"\x0a\x01a\x10\xac\x02")

    def test_decode_lock_response(self):
        header = b"\x08\x01\x10\x02\x18\x96\x01\x20\x04"  # revision 150
        buf = b"\x0a" + bytes([len(header)]) + header + b"\x12\x03k/1"
        self.assertEqual(etcdclient.decode_lock_response(buf), (150, b"k/1"))

    def test_token_text_orders_like_numbers(self):
        self.assertLess(locks.token_text(9), locks.token_text(10))


if __name__ == "__main__":
    unittest.main()

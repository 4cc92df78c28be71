#include "router/table/json_object.h"

#include <gtest/gtest.h>

#include "router/table/limits.h"

namespace grid::router::table {
namespace {

TEST(ParseJsonTest, RefusesDuplicateFieldsAtAnyDepth) {
  EXPECT_EQ(ParseJson(R"({"a": 1, "a": 2})").status().message(),
            "invalid JSON: duplicate field \"a\"");
  EXPECT_EQ(ParseJson(R"({"x": [{"b": 1, "c": 2, "b": 3}]})").status().message(),
            "invalid JSON: duplicate field \"b\"");
  // The same name in sibling objects is fine.
  EXPECT_TRUE(ParseJson(R"([{"a": 1}, {"a": 2}])").ok());
}

TEST(ParseJsonTest, DepthAtTheLimit) {
  std::string ok;
  for (size_t i = 0; i < kMaxJsonDepth; ++i) ok += "[";
  for (size_t i = 0; i < kMaxJsonDepth; ++i) ok += "]";
  EXPECT_TRUE(ParseJson(ok).ok());
  EXPECT_EQ(ParseJson("[" + ok + "]").status().message(),
            "invalid JSON: nesting deeper than 8 levels");
}

TEST(ParseJsonTest, SyntaxErrors) {
  EXPECT_FALSE(ParseJson("").ok());
  EXPECT_FALSE(ParseJson("{").ok());
  EXPECT_FALSE(ParseJson(R"({"a": 1} x)").ok());
  EXPECT_FALSE(ParseJson("{\"a\": \"\xff\"}").ok());  // not UTF-8
  EXPECT_TRUE(ParseJson(" {\"a\": 1}\n").ok());
}

TEST(ObjectReaderTest, MessagesNameTheField) {
  Json j = ParseJson(R"({"n": 0, "s": 5, "f": 1.5, "big": 18446744073709551615, "e": ""})").value();
  auto r = ObjectReader::Make(j, "groups[1]").value();
  EXPECT_EQ(r.Int("n", 1, 100).status().message(), "groups[1].n: must be 1..100, got 0");
  EXPECT_EQ(r.Int("f", 1, 100).status().message(),
            "groups[1].f: must be an integer 1..100, got number 1.5");
  EXPECT_EQ(r.Int("big", 1, 100).status().message(),
            "groups[1].big: must be 1..100, got 18446744073709551615");
  EXPECT_EQ(r.Int("missing", 1, 100).status().message(), "groups[1].missing: required");
  EXPECT_EQ(r.Int("missing", 1, 100, 7).value(), 7);
  EXPECT_EQ(r.String("s", 10).status().message(), "groups[1].s: must be a string, got integer");
  EXPECT_EQ(r.String("e", 10).status().message(), "groups[1].e: must not be empty");
  EXPECT_EQ(r.String("e", 10, std::nullopt, true).value(), "");
  EXPECT_EQ(r.OnlyFields({"n", "s", "f", "big"}).message(),
            "groups[1].e: unknown field (expected one of: n, s, f, big)");
  EXPECT_TRUE(r.OnlyFields({"n", "s", "f", "big", "e"}).ok());
  EXPECT_EQ(ObjectReader::Make(Json::array(), "x").status().message(),
            "x: must be an object, got array");
}

TEST(ObjectReaderTest, StringAndArrayLimits) {
  Json j = ParseJson(R"({"s": "abcd", "a": [1, 2, 3]})").value();
  auto r = ObjectReader::Make(j, "").value();
  EXPECT_TRUE(r.String("s", 4).ok());
  EXPECT_EQ(r.String("s", 3).status().message(), "s: is 4 bytes, limit 3");
  EXPECT_TRUE(r.Array("a", 3).ok());
  EXPECT_EQ(r.Array("a", 2).status().message(), "a: has 3 entries, limit 2");
}

}  // namespace
}  // namespace grid::router::table

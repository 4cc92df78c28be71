#include "sim/linearizability/history_json.h"

#include <gtest/gtest.h>

#include <sstream>

namespace grid::lin {
namespace {

TEST(HistoryJsonTest, ParsesEachOperationKind) {
  Result<Operation> put = ParseOperationJson(
      R"({"client":3,"op":"put","key":"k","value":"v","invoke":1,"return":4,"ok":true,"result":null})");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->client, "3");
  EXPECT_EQ(put->type, OpType::kPut);
  EXPECT_EQ(put->value, "v");
  EXPECT_EQ(put->invoke_time, 1);
  EXPECT_EQ(put->return_time, 4);
  EXPECT_EQ(put->outcome, Outcome::kOk);

  Result<Operation> get = ParseOperationJson(
      R"({"client":"c1","op":"get","key":"k","invoke":1,"return":2,"ok":true,"result":null})");
  ASSERT_TRUE(get.ok());
  EXPECT_FALSE(get->got.has_value());
  get = ParseOperationJson(
      R"({"client":"c1","op":"get","key":"k","invoke":1,"return":2,"ok":true,"result":"x"})");
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->got, "x");

  Result<Operation> del = ParseOperationJson(
      R"({"client":1,"op":"delete","key":"k","invoke":1,"return":2,"ok":true,"result":true})");
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->deleted_existing, true);

  Result<Operation> cas = ParseOperationJson(
      R"({"client":1,"op":"cas","key":"k","expected":null,"value":"n","invoke":1,"return":2,"ok":true,"result":false})");
  ASSERT_TRUE(cas.ok());
  EXPECT_FALSE(cas->expected.has_value());
  EXPECT_FALSE(cas->swapped);
}

TEST(HistoryJsonTest, OutcomeFromReturnAndOk) {
  auto outcome = [](const std::string& tail) {
    Result<Operation> op = ParseOperationJson(
        R"({"client":1,"op":"put","key":"k","value":"v","invoke":1)" + tail + "}");
    EXPECT_TRUE(op.ok()) << tail << ": " << op.status().ToString();
    return op.ok() ? op->outcome : Outcome::kOk;
  };
  EXPECT_EQ(outcome(R"(,"return":null,"ok":null)"), Outcome::kIndeterminate);
  EXPECT_EQ(outcome(""), Outcome::kIndeterminate);
  EXPECT_EQ(outcome(R"(,"return":5,"ok":null)"), Outcome::kIndeterminate);
  EXPECT_EQ(outcome(R"(,"return":5,"ok":false)"), Outcome::kFailed);
  EXPECT_EQ(outcome(R"(,"return":5,"ok":true)"), Outcome::kOk);
}

TEST(HistoryJsonTest, RejectsMalformedLines) {
  for (const char* line : {
           "not json", "[1,2]",
           R"({"op":"put","key":"k","value":"v","invoke":1})",                         // no client
           R"({"client":1,"op":"inc","key":"k","invoke":1})",                          // bad op
           R"({"client":1,"op":"put","key":"k","invoke":1})",                          // no value
           R"({"client":1,"op":"get","key":"k","invoke":"1"})",                        // bad invoke
           R"({"client":1,"op":"get","key":"k","invoke":1,"return":null,"ok":true})",  // ok w/o
                                                                                       // return
           R"({"client":1,"op":"get","key":"k","invoke":5,"return":4,"ok":false})",    // backwards
           R"({"client":1,"op":"get","key":"k","invoke":1,"return":2,"ok":true})",     // no result
           R"({"client":1,"op":"cas","key":"k","value":"v","invoke":1})",  // no expected
       }) {
    EXPECT_EQ(ParseOperationJson(line).status().code(), Code::kInvalidArgument) << line;
  }
}

TEST(HistoryJsonTest, ReadHistoryNamesTheBadLine) {
  std::istringstream in(
      "{\"client\":1,\"op\":\"put\",\"key\":\"k\",\"value\":\"v\",\"invoke\":1,\"return\":2,"
      "\"ok\":true}\n\n{\"client\":1}\n");
  Result<std::vector<Operation>> h = ReadHistoryJson(in);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("line 3"), std::string::npos) << h.status().ToString();
}

TEST(HistoryJsonTest, LineAtTheLengthLimit) {
  const std::string prefix = R"({"client":1,"op":"put","key":"k","value":")";
  const std::string suffix = R"(","invoke":1,"return":2,"ok":true})";
  std::string line =
      prefix + std::string(kMaxHistoryLineBytes - prefix.size() - suffix.size(), 'x') + suffix;
  ASSERT_EQ(line.size(), kMaxHistoryLineBytes);
  std::istringstream at(line + "\n");
  EXPECT_TRUE(ReadHistoryJson(at).ok());
  std::istringstream over(prefix + "y" + line.substr(prefix.size()) + "\n");
  EXPECT_EQ(ReadHistoryJson(over).status().code(), Code::kInvalidArgument);
}

TEST(HistoryJsonTest, RoundTrip) {
  Operation op;
  op.client = "7";
  op.type = OpType::kCas;
  op.key = "k";
  op.expected = "a";
  op.value = "b";
  op.invoke_time = 3;
  op.return_time = 9;
  op.outcome = Outcome::kOk;
  op.swapped = true;
  Result<Operation> back = ParseOperationJson(OperationToJson(op));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(OperationToJson(back.value()), OperationToJson(op));

  Operation get;
  get.client = "1";
  get.type = OpType::kGet;
  get.key = "k";
  get.invoke_time = 1;
  get.outcome = Outcome::kIndeterminate;
  back = ParseOperationJson(OperationToJson(get));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->outcome, Outcome::kIndeterminate);
  EXPECT_FALSE(back->return_time.has_value());
}

}  // namespace
}  // namespace grid::lin

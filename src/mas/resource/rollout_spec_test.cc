// RouterFleet spec.rollout: strict decoding, defaults, validation at every limit, JSON round
// trip.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mas/resource/resource.h"

namespace grid::mas {
namespace {

std::string Fleet(const std::string& rollout) {
  return "apiVersion: grid.dev/v1\nkind: RouterFleet\nmetadata: {name: f}\n"
         "spec:\n  version: v1\n  routesPrefix: /r/\n  rollout: " +
         rollout + "\n";
}

// The parse or validation message of `yaml` after Defaults; "" when valid.
std::string Problems(const std::string& yaml) {
  auto r = ParseResource(yaml);
  if (!r.ok()) return r.status().message();
  Defaults(&r.value());
  return Validate(*r).message();
}

RouterFleetSpec MustParseSpec(const std::string& yaml) {
  auto r = ParseResource(yaml);
  GRID_CHECK(r.ok()) << r.status().ToString();
  return std::get<RouterFleetSpec>(r->spec);
}

// "[1, 2, ..., n]" shifted so the list ends at 100.
std::string StepsUpTo100(size_t n) {
  std::string out = "[";
  for (size_t i = 0; i < n; ++i) {
    out += (i ? ", " : "") + std::to_string(100 - static_cast<int64_t>(n - 1 - i));
  }
  return out + "]";
}

TEST(RolloutSpec, DecodesEveryField) {
  const RouterFleetSpec spec =
      MustParseSpec(Fleet("{steps: [5, 25, 100], holdSeconds: 30, readyTimeoutSeconds: 120}"));
  ASSERT_TRUE(spec.rollout);
  EXPECT_EQ(spec.rollout->steps, (std::vector<int64_t>{5, 25, 100}));
  EXPECT_EQ(spec.rollout->hold_seconds, 30);
  EXPECT_EQ(spec.rollout->ready_timeout_seconds, 120);
}

TEST(RolloutSpec, StrictDecoding) {
  EXPECT_EQ(Problems(Fleet("{steps: [10, 100], pauseSeconds: 3}")),
            "spec.rollout.pauseSeconds: unknown field");
  EXPECT_EQ(Problems(Fleet("{steps: [10, \"50\", 100.5, 100]}")),
            "spec.rollout.steps[1]: must be an integer, got string; "
            "spec.rollout.steps[2]: must be an integer, got number");
  // JSON text keeps integers above INT64_MAX unsigned (YAML would make them floats).
  EXPECT_EQ(Problems(R"({"apiVersion": "grid.dev/v1", "kind": "RouterFleet",
                         "metadata": {"name": "f"}, "spec": {"version": "v1",
                         "routesPrefix": "/r/", "rollout": {"steps": [9223372036854775808]}}})"),
            "spec.rollout.steps[0]: integer out of range");
  EXPECT_EQ(Problems(Fleet("{steps: 100}")), "spec.rollout.steps: must be a list, got number");
  EXPECT_EQ(Problems(Fleet("{holdSeconds: \"10s\"}")),
            "spec.rollout.holdSeconds: must be an integer, got string");
  EXPECT_EQ(Problems(Fleet("{readyTimeoutSeconds: 1.5}")),
            "spec.rollout.readyTimeoutSeconds: must be an integer, got number");
  EXPECT_EQ(Problems(Fleet("[10, 100]")), "spec.rollout: must be an object, got array");
}

TEST(RolloutSpec, DefaultsFillOnlyUnsetFieldsOfAPresentRollout) {
  auto r = ParseResource(Fleet("{holdSeconds: 0}"));
  ASSERT_TRUE(r.ok());
  Defaults(&r.value());
  const Rollout& rollout = *std::get<RouterFleetSpec>(r->spec).rollout;
  EXPECT_EQ(rollout.steps, (std::vector<int64_t>{10, 50, 100}));
  EXPECT_EQ(rollout.hold_seconds, 0);
  EXPECT_EQ(rollout.ready_timeout_seconds, kDefaultRolloutReadyTimeoutSeconds);

  // Absent stays absent (a stored spec without it keeps its generation); the effective
  // rollout is then the default one, today's 10/50/100 % with 10 s holds and a 60 s gate.
  auto plain = ParseResource(
      "apiVersion: grid.dev/v1\nkind: RouterFleet\nmetadata: {name: f}\n"
      "spec: {version: v1, routesPrefix: /r/}\n");
  ASSERT_TRUE(plain.ok());
  Defaults(&plain.value());
  EXPECT_FALSE(std::get<RouterFleetSpec>(plain->spec).rollout);
  const Rollout effective = EffectiveRollout(std::nullopt);
  EXPECT_EQ(effective.steps, (std::vector<int64_t>{10, 50, 100}));
  EXPECT_EQ(effective.hold_seconds, 10);
  EXPECT_EQ(effective.ready_timeout_seconds, 60);
  EXPECT_EQ(EffectiveRollout(Rollout{std::vector<int64_t>{100}, 3, std::nullopt}),
            (Rollout{std::vector<int64_t>{100}, 3, 60}));
}

TEST(RolloutSpec, StepsLimits) {
  EXPECT_EQ(Problems(Fleet("{steps: [100]}")), "");
  EXPECT_EQ(Problems(Fleet("{steps: [1, 100]}")), "");
  EXPECT_EQ(Problems(Fleet("{steps: []}")), "spec.rollout.steps: must have 1..16 entries, got 0");
  ASSERT_EQ(kMaxRolloutSteps, 16u);
  EXPECT_EQ(Problems(Fleet("{steps: " + StepsUpTo100(kMaxRolloutSteps) + "}")), "");
  EXPECT_EQ(Problems(Fleet("{steps: " + StepsUpTo100(kMaxRolloutSteps + 1) + "}")),
            "spec.rollout.steps: must have 1..16 entries, got 17");
  EXPECT_EQ(Problems(Fleet("{steps: [0, 100]}")), "spec.rollout.steps[0]: must be 1..100, got 0");
  EXPECT_EQ(Problems(Fleet("{steps: [10, 101]}")),
            "spec.rollout.steps[1]: must be 1..100, got 101");
  EXPECT_EQ(Problems(Fleet("{steps: [-5, 100]}")),
            "spec.rollout.steps[0]: must be 1..100, got -5");
  EXPECT_EQ(Problems(Fleet("{steps: [10, 50, 40, 100]}")),
            "spec.rollout.steps[2]: must be greater than 50, got 40");
  EXPECT_EQ(Problems(Fleet("{steps: [10, 10, 100]}")),
            "spec.rollout.steps[1]: must be greater than 10, got 10");
  EXPECT_EQ(Problems(Fleet("{steps: [10, 50]}")),
            "spec.rollout.steps[1]: the last step must be 100, got 50");
  EXPECT_EQ(Problems(Fleet("{steps: [100, 100]}")),
            "spec.rollout.steps[1]: must be greater than 100, got 100");
}

TEST(RolloutSpec, HoldAndReadyTimeoutLimits) {
  EXPECT_EQ(Problems(Fleet("{holdSeconds: 0}")), "");
  EXPECT_EQ(Problems(Fleet("{holdSeconds: 3600}")), "");
  EXPECT_EQ(Problems(Fleet("{holdSeconds: -1}")),
            "spec.rollout.holdSeconds: must be 0..3600, got -1");
  EXPECT_EQ(Problems(Fleet("{holdSeconds: 3601}")),
            "spec.rollout.holdSeconds: must be 0..3600, got 3601");
  EXPECT_EQ(Problems(Fleet("{readyTimeoutSeconds: 1}")), "");
  EXPECT_EQ(Problems(Fleet("{readyTimeoutSeconds: 3600}")), "");
  EXPECT_EQ(Problems(Fleet("{readyTimeoutSeconds: 0}")),
            "spec.rollout.readyTimeoutSeconds: must be 1..3600, got 0");
  EXPECT_EQ(Problems(Fleet("{readyTimeoutSeconds: 3601}")),
            "spec.rollout.readyTimeoutSeconds: must be 1..3600, got 3601");
  // Every problem of the object at once, in field order.
  EXPECT_EQ(Problems(Fleet("{steps: [50], holdSeconds: 4000, readyTimeoutSeconds: 0}")),
            "spec.rollout.steps[0]: the last step must be 100, got 50; "
            "spec.rollout.holdSeconds: must be 0..3600, got 4000; "
            "spec.rollout.readyTimeoutSeconds: must be 1..3600, got 0");
}

TEST(RolloutSpec, JsonRoundTrip) {
  for (const char* rollout :
       {"{steps: [20, 60, 100], holdSeconds: 0, readyTimeoutSeconds: 3600}", "{holdSeconds: 5}",
        "{}"}) {
    SCOPED_TRACE(rollout);
    const RouterFleetSpec spec = MustParseSpec(Fleet(rollout));
    FieldErrors errors;
    const RouterFleetSpec back = DecodeRouterFleetSpec(ToJson(spec), "spec", &errors);
    EXPECT_TRUE(errors.empty()) << errors.ToStatus().ToString();
    EXPECT_EQ(back, spec);
  }
  const RouterFleetSpec spec =
      MustParseSpec(Fleet("{steps: [20, 60, 100], holdSeconds: 0, readyTimeoutSeconds: 7}"));
  EXPECT_EQ(ToJson(spec)["rollout"],
            (nlohmann::json{{"steps", {20, 60, 100}}, {"holdSeconds", 0},
                            {"readyTimeoutSeconds", 7}}));
  RouterFleetSpec none = spec;
  none.rollout.reset();
  EXPECT_FALSE(ToJson(none).contains("rollout"));
}

}  // namespace
}  // namespace grid::mas

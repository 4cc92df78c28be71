// KVCluster spec.standby (mirroring and promotion), spec.backup.autoRestoreAfterSeconds and
// RouterFleet spec.storeCluster: strict decoding, validation naming the field at each limit,
// JSON round trips, absent fields omitted.
#include <string>

#include <gtest/gtest.h>

#include "mas/resource/resource.h"

namespace grid::mas {
namespace {

std::string Cluster(const std::string& extra) {
  return "apiVersion: grid.dev/v1\nkind: KVCluster\nmetadata: {name: main}\n"
         "spec:\n  version: v1\n  members: 3\n" + extra;
}
std::string Fleet(const std::string& extra) {
  return "apiVersion: grid.dev/v1\nkind: RouterFleet\nmetadata: {name: edge}\n"
         "spec:\n  version: v1\n  routesPrefix: /routes\n" + extra;
}

// The parse or validation message of `yaml` after Defaults; "" when valid.
std::string Problems(const std::string& yaml) {
  auto r = ParseResource(yaml);
  if (!r.ok()) return r.status().message();
  Defaults(&r.value());
  return Validate(*r).message();
}

bool Names(const std::string& problems, const std::string& field) {
  return problems.find(field) != std::string::npos;
}

TEST(StandbySpec, DecodesAndRoundTrips) {
  auto r = ParseResource(Cluster(
      "  standby:\n    cluster: main-dr\n    prefixes: [/routes/, /cfg/]\n"
      "    promote: {mode: switchover, requested: '2026-01-02T03:04:05Z'}\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& spec = std::get<KVClusterSpec>(r->spec);
  ASSERT_TRUE(spec.standby);
  EXPECT_EQ(spec.standby->cluster, "main-dr");
  EXPECT_EQ(spec.standby->prefixes, (std::vector<std::string>{"/routes/", "/cfg/"}));
  ASSERT_TRUE(spec.standby->promote);
  EXPECT_EQ(spec.standby->promote->mode, "switchover");
  EXPECT_EQ(spec.standby->promote->requested, "2026-01-02T03:04:05Z");
  FieldErrors errors;
  EXPECT_EQ(DecodeKVClusterSpec(ToJson(spec), "spec", &errors), spec);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(Problems(Cluster("  standby: {cluster: main-dr}\n")), "");
  EXPECT_EQ(Problems(Cluster("  standby: {cluster: dr, promote: {mode: failover}}\n")), "");
}

TEST(StandbySpec, AbsentIsOmitted) {
  auto r = ParseResource(Cluster(""));
  ASSERT_TRUE(r.ok());
  const auto& spec = std::get<KVClusterSpec>(r->spec);
  EXPECT_FALSE(spec.standby);
  EXPECT_FALSE(ToJson(spec).contains("standby"));
  const auto j = ToJson(*r);
  EXPECT_FALSE(j["status"].contains("mirror"));
}

TEST(StandbySpec, StrictDecodingAndValidation) {
  EXPECT_TRUE(Names(Problems(Cluster("  standby: {}\n")), "spec.standby.cluster"));
  EXPECT_TRUE(Names(Problems(Cluster("  standby: {cluster: dr, x: 1}\n")), "spec.standby.x"));
  EXPECT_TRUE(Names(Problems(Cluster("  standby: {cluster: Not_A_Label}\n")),
                    "spec.standby.cluster"));
  const std::string self = Problems(Cluster("  standby: {cluster: main}\n"));
  EXPECT_TRUE(Names(self, "spec.standby.cluster: must name another KVCluster")) << self;
  EXPECT_TRUE(Names(Problems(Cluster("  standby: {cluster: dr, prefixes: [1]}\n")),
                    "spec.standby.prefixes[0]"));
  EXPECT_TRUE(Names(Problems(Cluster("  standby: {cluster: dr, promote: {}}\n")),
                    "spec.standby.promote.mode"));
  EXPECT_TRUE(Names(Problems(Cluster("  standby: {cluster: dr, promote: {mode: later}}\n")),
                    "spec.standby.promote.mode"));
}

TEST(StandbySpec, LimitsAtAndBeyond) {
  std::string at = "[";
  for (size_t i = 0; i < kMaxStandbyPrefixes; ++i) at += (i ? ", /p" : "/p") + std::to_string(i);
  EXPECT_EQ(Problems(Cluster("  standby: {cluster: dr, prefixes: " + at + "]}\n")), "");
  EXPECT_TRUE(Names(Problems(Cluster("  standby: {cluster: dr, prefixes: " + at + ", /x]}\n")),
                    "spec.standby.prefixes: must have at most 16"));
  const std::string long_prefix(kMaxKeyPrefixBytes, 'p');
  EXPECT_EQ(Problems(Cluster("  standby: {cluster: dr, prefixes: [" + long_prefix + "]}\n")), "");
  EXPECT_TRUE(Names(Problems(Cluster("  standby: {cluster: dr, prefixes: [" + long_prefix +
                                     "p]}\n")),
                    "spec.standby.prefixes[0]"));
  const std::string requested(kMaxPromoteRequestedBytes, 'r');
  EXPECT_EQ(Problems(Cluster("  standby: {cluster: dr, promote: {mode: failover, requested: " +
                             requested + "}}\n")),
            "");
  EXPECT_TRUE(Names(Problems(Cluster("  standby: {cluster: dr, promote: {mode: failover, "
                                     "requested: " + requested + "r}}\n")),
                    "spec.standby.promote.requested"));
}

TEST(StandbySpec, StatusMirrorRoundTripsAndMustBeAnObject) {
  auto r = ParseResource(Cluster("status:\n  mirror: {state: Watching, lagRevisions: 3}\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status.mirror["lagRevisions"], 3);
  EXPECT_EQ(ToJson(*r)["status"]["mirror"]["state"], "Watching");
  auto bad = ParseResource(Cluster("status:\n  mirror: [1]\n"));
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(Names(bad.status().message(), "status.mirror"));
}

TEST(AutoRestoreSpec, RangeAndRoundTrip) {
  const std::string base = "  backup: {bucket: /b, autoRestoreAfterSeconds: ";
  EXPECT_EQ(Problems(Cluster(base + std::to_string(kMinAutoRestoreAfterSeconds) + "}\n")), "");
  EXPECT_EQ(Problems(Cluster(base + std::to_string(kMaxAutoRestoreAfterSeconds) + "}\n")), "");
  EXPECT_TRUE(Names(Problems(Cluster(base + std::to_string(kMinAutoRestoreAfterSeconds - 1) +
                                     "}\n")),
                    "spec.backup.autoRestoreAfterSeconds"));
  EXPECT_TRUE(Names(Problems(Cluster(base + std::to_string(kMaxAutoRestoreAfterSeconds + 1) +
                                     "}\n")),
                    "spec.backup.autoRestoreAfterSeconds"));
  auto r = ParseResource(Cluster(base + "60}\n"));
  ASSERT_TRUE(r.ok());
  const auto& spec = std::get<KVClusterSpec>(r->spec);
  EXPECT_EQ(ToJson(spec)["backup"]["autoRestoreAfterSeconds"], 60);
  EXPECT_FALSE(ToJson(std::get<KVClusterSpec>(ParseResource(Cluster("  backup: {bucket: /b}\n"))
                                                  ->spec))["backup"]
                   .contains("autoRestoreAfterSeconds"));
}

TEST(StoreClusterSpec, NamesAKVClusterAndExcludesStore) {
  auto r = ParseResource(Fleet("  storeCluster: main\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& spec = std::get<RouterFleetSpec>(r->spec);
  EXPECT_EQ(spec.store_cluster, "main");
  EXPECT_EQ(ToJson(spec)["storeCluster"], "main");
  EXPECT_EQ(Problems(Fleet("  storeCluster: main\n")), "");
  EXPECT_TRUE(Names(Problems(Fleet("  storeCluster: Main_1\n")), "spec.storeCluster"));
  EXPECT_TRUE(Names(Problems(Fleet("  storeCluster: main\n  store: ['127.0.0.1:2379']\n")),
                    "spec.storeCluster: must not be set together with spec.store"));
  EXPECT_FALSE(ToJson(std::get<RouterFleetSpec>(ParseResource(Fleet(""))->spec))
                   .contains("storeCluster"));
}

}  // namespace
}  // namespace grid::mas

// KVCluster spec.restoreFrom: strict decoding, validation naming the field (bucket required,
// backup name and request at their limits), JSON round trip, a spec without it unchanged.
#include <string>

#include <gtest/gtest.h>

#include "common/check.h"
#include "mas/resource/resource.h"

namespace grid::mas {
namespace {

std::string Cluster(const std::string& extra) {
  return "apiVersion: grid.dev/v1\nkind: KVCluster\nmetadata: {name: c}\n"
         "spec:\n  version: v1\n  members: 3\n" + extra;
}
const std::string kBucket = "  backup: {bucket: /backups}\n";

// The parse or validation message of `yaml` after Defaults; "" when valid.
std::string Problems(const std::string& yaml) {
  auto r = ParseResource(yaml);
  if (!r.ok()) return r.status().message();
  Defaults(&r.value());
  return Validate(*r).message();
}

TEST(RestoreFromSpec, DecodesAndRoundTrips) {
  auto r = ParseResource(Cluster(kBucket + "  restoreFrom: {backup: latest, requested: "
                                           "'2026-01-02T03:04:05Z'}\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& spec = std::get<KVClusterSpec>(r->spec);
  ASSERT_TRUE(spec.restore_from);
  EXPECT_EQ(spec.restore_from->backup, "latest");
  EXPECT_EQ(spec.restore_from->requested, "2026-01-02T03:04:05Z");
  const nlohmann::json j = ToJson(spec);
  EXPECT_EQ(j["restoreFrom"], (nlohmann::json{{"backup", "latest"},
                                               {"requested", "2026-01-02T03:04:05Z"}}));
  FieldErrors errors;
  EXPECT_EQ(DecodeKVClusterSpec(j, "spec", &errors), spec);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(Problems(Cluster(kBucket + "  restoreFrom: {backup: c-20260102T030405Z}\n")), "");
}

TEST(RestoreFromSpec, AbsentIsOmitted) {
  auto r = ParseResource(Cluster(""));
  ASSERT_TRUE(r.ok());
  const auto& spec = std::get<KVClusterSpec>(r->spec);
  EXPECT_FALSE(spec.restore_from);
  EXPECT_FALSE(ToJson(spec).contains("restoreFrom"));
}

TEST(RestoreFromSpec, StrictDecoding) {
  EXPECT_NE(Problems(Cluster(kBucket + "  restoreFrom: {backup: latest, x: 1}\n"))
                .find("spec.restoreFrom.x"),
            std::string::npos);
  EXPECT_NE(Problems(Cluster(kBucket + "  restoreFrom: {}\n")).find("spec.restoreFrom.backup"),
            std::string::npos);
  EXPECT_NE(Problems(Cluster(kBucket + "  restoreFrom: {backup: 3}\n"))
                .find("spec.restoreFrom.backup"),
            std::string::npos);
}

TEST(RestoreFromSpec, RequiresTheBackupBucket) {
  const std::string p = Problems(Cluster("  restoreFrom: {backup: latest}\n"));
  EXPECT_NE(p.find("spec.restoreFrom: requires spec.backup.bucket"), std::string::npos) << p;
}

TEST(RestoreFromSpec, BackupNameAtItsLimit) {
  const std::string at(kMaxRestoreBackupBytes, 'a');
  EXPECT_EQ(Problems(Cluster(kBucket + "  restoreFrom: {backup: " + at + "}\n")), "");
  const std::string p = Problems(Cluster(kBucket + "  restoreFrom: {backup: " + at + "a}\n"));
  EXPECT_NE(p.find("spec.restoreFrom.backup: must be at most 128 bytes, got 129"),
            std::string::npos)
      << p;
  EXPECT_NE(Problems(Cluster(kBucket + "  restoreFrom: {backup: 'a/b'}\n"))
                .find("spec.restoreFrom.backup: must be \"latest\" or a backup name"),
            std::string::npos);
  EXPECT_NE(Problems(Cluster(kBucket + "  restoreFrom: {backup: ''}\n"))
                .find("spec.restoreFrom.backup"),
            std::string::npos);
}

TEST(RestoreFromSpec, RequestedAtItsLimit) {
  const std::string at(kMaxRestoreRequestedBytes, 'r');
  EXPECT_EQ(Problems(Cluster(kBucket + "  restoreFrom: {backup: latest, requested: " + at +
                             "}\n")),
            "");
  const std::string p = Problems(
      Cluster(kBucket + "  restoreFrom: {backup: latest, requested: " + at + "r}\n"));
  EXPECT_NE(p.find("spec.restoreFrom.requested: must be at most 64 bytes, got 65"),
            std::string::npos)
      << p;
  EXPECT_NE(Problems(Cluster(kBucket + "  restoreFrom: {backup: latest, requested: \"a\\tb\"}\n"))
                .find("spec.restoreFrom.requested: must not contain control characters"),
            std::string::npos);
}

}  // namespace
}  // namespace grid::mas

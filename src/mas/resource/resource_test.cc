#include "mas/resource/resource.h"

#include <string>

#include <gtest/gtest.h>

#include "mas/resource/store.h"

namespace grid::mas {
namespace {

constexpr char kClusterYaml[] = R"(
apiVersion: grid.dev/v1
kind: KVCluster
metadata:
  name: orders
  labels:
    team: payments
spec:
  engine: etcd
  version: "3.4.23"
  members: 5
  placement:
    zones: [z1, z2, z3]
  quotaBackendBytes: 4294967296
  inspection:
    intervalSeconds: 600
  provisionTimeoutSeconds: 120
)";

Resource MustParse(const std::string& text) {
  auto r = ParseResource(text);
  GRID_CHECK(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

// The validation message of `yaml` after Defaults; "" when valid.
std::string Problems(const std::string& yaml) {
  auto r = ParseResource(yaml);
  if (!r.ok()) return r.status().message();
  Defaults(&r.value());
  return Validate(*r).message();
}

std::string Cluster(const std::string& spec_lines) {
  return "apiVersion: grid.dev/v1\nkind: KVCluster\nmetadata: {name: a}\nspec:\n" + spec_lines;
}

std::string Fleet(const std::string& spec_lines) {
  return "apiVersion: grid.dev/v1\nkind: RouterFleet\nmetadata: {name: f}\nspec:\n" + spec_lines;
}

TEST(ResourceParse, YamlKVCluster) {
  Resource r = MustParse(kClusterYaml);
  EXPECT_EQ(r.kind(), Kind::kKVCluster);
  EXPECT_EQ(r.metadata.name, "orders");
  EXPECT_EQ(r.metadata.labels.at("team"), "payments");
  const auto& spec = std::get<KVClusterSpec>(r.spec);
  EXPECT_EQ(spec.engine, "etcd");
  EXPECT_EQ(spec.version, "3.4.23");
  EXPECT_EQ(spec.members, 5);
  ASSERT_TRUE(spec.placement);
  EXPECT_EQ(spec.placement->zones, (std::vector<std::string>{"z1", "z2", "z3"}));
  EXPECT_EQ(spec.quota_backend_bytes, int64_t{4} << 30);
  EXPECT_EQ(spec.inspection->interval_seconds, 600);
  EXPECT_EQ(spec.provision_timeout_seconds, 120);
  EXPECT_TRUE(Validate(r).ok()) << Validate(r).ToString();
  EXPECT_EQ(r.Describe(), "KVCluster \"orders\"");
}

TEST(ResourceParse, JsonRoundTripKeepsEverything) {
  Resource r = MustParse(kClusterYaml);
  r.metadata.generation = 3;
  r.metadata.resource_version = "17";
  r.metadata.uid = "u-1";
  r.metadata.creation_timestamp = "2026-01-02T03:04:05Z";
  r.status.phase = Phase::kRun;
  r.status.observed_generation = 3;
  r.status.conditions.push_back({"Available", ConditionStatus::kTrue, "Quorum", "3/3 healthy",
                                 "2026-01-02T03:04:06Z"});
  r.status.members.push_back({"orders-0", "8e9e05c52164694d", "http://127.0.0.1:1", "", "3.4.23",
                              true});
  r.status.members.push_back({"orders-1", "", "", "", "", false, "z2", "2026-01-02T03:04:05Z"});
  r.status.operation = {{"name", "RollingUpgrade"}, {"step", 2}};
  r.status.history.push_back({"Provision", OperationResult::kSucceeded, "2026-01-02T03:04:05Z",
                              "2026-01-02T03:04:09Z",
                              {{"ProvisionMembers", "2026-01-02T03:04:05Z", "ok"}}});
  r.status.history.push_back({"RollingUpgrade", OperationResult::kRolledBack,
                              "2026-01-02T04:00:00Z", "2026-01-02T04:05:00Z",
                              {{"StopMember orders-1", "2026-01-02T04:00:00Z", "ok"},
                               {"StartMember orders-1", "2026-01-02T04:00:01Z",
                                "Unavailable: exec failed"}}});
  r.status.history.push_back({"Scale", OperationResult::kSuperseded, "", "", {}});
  r.status.history.push_back({"Rollback", OperationResult::kFailed, "", "", {{"x", "", ""}}});
  const std::string api = ToJson(r).dump();
  EXPECT_EQ(MustParse(api), r);
  const nlohmann::json members = ToJson(r)["status"]["members"];
  EXPECT_FALSE(members[0].contains("zone"));  // omitted when empty
  EXPECT_FALSE(members[0].contains("downSince"));
  EXPECT_EQ(members[1]["zone"], "z2");
  EXPECT_EQ(members[1]["downSince"], "2026-01-02T03:04:05Z");
  // The stored form leaves out resourceVersion; DecodeStored sets it from the mod revision.
  const std::string stored = StoredValue(r);
  EXPECT_EQ(stored.find("resourceVersion"), std::string::npos);
  auto back = DecodeStored(stored, 17);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, r);
}

TEST(ResourceParse, HistoryIsDecodedStrictly) {
  const std::string head =
      "apiVersion: grid.dev/v1\nkind: KVCluster\nmetadata: {name: a}\nspec: {version: v1}\n";
  auto ok = ParseResource(head +
                          "status:\n  history:\n  - name: ScaleOut\n    result: Succeeded\n"
                          "    started: \"2026-01-02T03:04:05Z\"\n"
                          "    finished: \"2026-01-02T03:04:07Z\"\n"
                          "    steps: [{step: AddLearner a-3, time: \"2026-01-02T03:04:05Z\", "
                          "result: ok}]\n");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_EQ(ok->status.history.size(), 1u);
  EXPECT_EQ(ok->status.history[0],
            (OperationRecord{"ScaleOut", OperationResult::kSucceeded, "2026-01-02T03:04:05Z",
                             "2026-01-02T03:04:07Z",
                             {{"AddLearner a-3", "2026-01-02T03:04:05Z", "ok"}}}));
  EXPECT_EQ(Problems(head + "status:\n  history:\n  - {result: Done, steps: [{time: t, x: 1}], "
                            "extra: 2}\n  - 5\n"),
            "status.history[0].name: required; status.history[0].result: unknown result "
            "\"Done\" (known: Succeeded, RolledBack, Failed, Superseded); "
            "status.history[0].steps[0].step: required; "
            "status.history[0].steps[0].x: unknown field; status.history[0].extra: unknown field; "
            "status.history[1]: must be an object, got number");
  EXPECT_EQ(Problems(head + "status: {history: {name: a}}\n"),
            "status.history: must be a list, got object");
  // A stored value with a bad history entry does not decode.
  Resource r = MustParse(head);
  nlohmann::json stored = nlohmann::json::parse(StoredValue(r));
  stored["status"]["history"] = {{{"name", "X"}, {"result", "Maybe"}}};
  auto back = DecodeStored(stored.dump(), 3);
  EXPECT_EQ(back.status().code(), Code::kCorruption);
  EXPECT_NE(back.status().message().find("status.history[0].result"), std::string::npos)
      << back.status().message();
}

TEST(ResourceHistory, AppendKeepsTheLastEntriesAndSteps) {
  ResourceStatus st;
  for (size_t i = 0; i < kMaxOperationHistory; ++i) {
    AppendHistory(&st, {"Op" + std::to_string(i), OperationResult::kSucceeded, "", "", {}});
  }
  ASSERT_EQ(st.history.size(), kMaxOperationHistory);  // at the limit nothing is dropped
  EXPECT_EQ(st.history.front().name, "Op0");
  EXPECT_TRUE(ValidateStatus(st).ok());
  AppendHistory(&st, {"OpNew", OperationResult::kFailed, "", "", {}});
  ASSERT_EQ(st.history.size(), kMaxOperationHistory);  // past it the oldest goes
  EXPECT_EQ(st.history.front().name, "Op1");
  EXPECT_EQ(st.history.back().name, "OpNew");

  OperationRecord long_op{"Long", OperationResult::kSucceeded, "", "", {}};
  for (size_t i = 0; i < kMaxHistorySteps + 3; ++i) {
    long_op.steps.push_back({"s" + std::to_string(i), "", "ok"});
  }
  AppendHistory(&st, long_op);
  ASSERT_EQ(st.history.back().steps.size(), kMaxHistorySteps);
  EXPECT_EQ(st.history.back().steps.front().step, "s3");
  EXPECT_EQ(st.history.back().steps.back().step, "s" + std::to_string(kMaxHistorySteps + 2));
}

TEST(ResourceHistory, ResultNames) {
  for (OperationResult r : {OperationResult::kSucceeded, OperationResult::kRolledBack,
                            OperationResult::kFailed, OperationResult::kSuperseded}) {
    auto parsed = ParseOperationResult(OperationResultName(r));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, r);
  }
  EXPECT_STREQ(OperationResultName(OperationResult::kRolledBack), "RolledBack");
  EXPECT_FALSE(ParseOperationResult("succeeded").ok());
}

TEST(ResourceParse, RouterFleet) {
  Resource r = MustParse(Fleet(
      "  replicas: 3\n  version: 0.1.0\n  routesPrefix: /grid/routes/\n"
      "  l4Front: {name: edge, listen: \"0.0.0.0:443\"}\n"));
  EXPECT_EQ(r.kind(), Kind::kRouterFleet);
  const auto& spec = std::get<RouterFleetSpec>(r.spec);
  EXPECT_EQ(spec.replicas, 3);
  EXPECT_EQ(spec.routes_prefix, "/grid/routes/");
  EXPECT_EQ(spec.l4_front->listen, "0.0.0.0:443");
  EXPECT_TRUE(Validate(r).ok()) << Validate(r).ToString();
}

TEST(ResourceParse, StructuralErrorsNameTheFieldPath) {
  EXPECT_EQ(Problems(Cluster("  version: 1\n  memberz: 3\n")),
            "spec.version: must be a string, got number; spec.memberz: unknown field");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  placement: {zones: [z1, 7], rack: x}\n")),
            "spec.placement.zones[1]: must be a string, got number; "
            "spec.placement.rack: unknown field");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  inspection: {intervalSeconds: soon}\n")),
            "spec.inspection.intervalSeconds: must be an integer, got string");
  EXPECT_EQ(Problems("apiVersion: grid.dev/v2\nkind: Pod\nmetadata: {name: a}\nspec: {}\nx: 1\n"),
            "apiVersion: must be grid.dev/v1, got \"grid.dev/v2\"; "
            "kind: unknown kind \"Pod\" (known: KVCluster, RouterFleet); x: unknown field");
  EXPECT_EQ(Problems("kind: KVCluster\nspec: {version: v1}\n"),
            "apiVersion: required; metadata: required");
  EXPECT_EQ(Problems("apiVersion: grid.dev/v1\nkind: KVCluster\nmetadata: {name: a, owner: b}\n"
                     "spec: {version: v1}\nstatus: {phase: Running}\n"),
            "metadata.owner: unknown field; status.phase: unknown phase \"Running\" (known: "
            "Provision, Ready, Run, Update, Rollback, Scale, Destroy, Failed)");
  EXPECT_EQ(Problems(Fleet("  version: v1\n  routesPrefix: /r/\n  l4Front: {name: e}\n")),
            "spec.l4Front.listen: required");
  EXPECT_EQ(Problems("- a\n- b\n"), "<root>: must be an object, got array");
}

TEST(ResourceParse, YamlScalarTypes) {
  // Quoted, block and !!str scalars are strings; plain ones are typed.
  EXPECT_EQ(Problems(Cluster("  version: !!str 3.4\n  members: 3\n")), "");
  EXPECT_EQ(Problems(Cluster("  version: |-\n    3.4\n")), "");
  EXPECT_EQ(Problems(Cluster("  version: 3.4\n")), "spec.version: must be a string, got number");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  members: \"3\"\n")),
            "spec.members: must be an integer, got string");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  members: 3.0\n")),
            "spec.members: must be an integer, got number");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  members: ~\n  placement: {zones: [z1]}\n")), "");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  version: v2\n")), "spec.version: duplicate key");
}

TEST(ResourceParse, SyntaxErrors) {
  auto y = ParseResource("a: [1, 2\n");
  EXPECT_EQ(y.status().code(), Code::kInvalidArgument);
  EXPECT_NE(y.status().message().find("invalid YAML"), std::string::npos);
  auto j = ParseResource("{\"a\": ");
  EXPECT_EQ(j.status().code(), Code::kInvalidArgument);
  EXPECT_NE(j.status().message().find("invalid JSON"), std::string::npos);
}

TEST(ResourceParse, InputSizeLimit) {
  // A YAML comment pads the input to exactly the limit: accepted; one byte more: refused.
  std::string text = Cluster("  version: v1\n");
  text += "#";
  text += std::string(kMaxResourceBytes - text.size() - 1, 'x');
  text += "\n";
  ASSERT_EQ(text.size(), kMaxResourceBytes);
  EXPECT_TRUE(ParseResource(text).ok());
  text += "\n";
  auto r = ParseResource(text);
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
  EXPECT_EQ(r.status().message(), "resource is 1048577 bytes, limit 1048576");
}

TEST(ResourceValidate, KVClusterRanges) {
  EXPECT_EQ(Problems(Cluster("  version: v1\n  members: 0\n")),
            "spec.members: must be 1..7 (odd recommended), got 0");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  members: 8\n")),
            "spec.members: must be 1..7 (odd recommended), got 8");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  members: 7\n")), "");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  members: 1\n")), "");
  EXPECT_EQ(Problems(Cluster("  engine: zookeeper\n")),
            "spec.engine: must be one of gridkv, etcd, got \"zookeeper\"; spec.version: required");
  EXPECT_EQ(Problems(Cluster("  version: \"3.4 beta\"\n")),
            "spec.version: must contain only [0-9A-Za-z.+_-], got \"3.4 beta\"");
  EXPECT_EQ(Problems(Cluster("  version: " + std::string(kMaxVersionBytes, 'v') + "\n")), "");
  EXPECT_EQ(Problems(Cluster("  version: " + std::string(kMaxVersionBytes + 1, 'v') + "\n")),
            "spec.version: must be at most 64 bytes, got 65");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  quotaBackendBytes: 8589934592\n")), "");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  quotaBackendBytes: 8589934593\n")),
            "spec.quotaBackendBytes: must be 16777216..8589934592, got 8589934593");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  inspection: {intervalSeconds: 9}\n")),
            "spec.inspection.intervalSeconds: must be 10..604800, got 9");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  placement: {zones: [z1, Z2, z1]}\n")),
            "spec.placement.zones[1]: must consist of lower case alphanumeric characters or "
            "'-', got \"Z2\"; spec.placement.zones[2]: duplicate zone \"z1\"");
  std::string zones = "[z0";
  for (size_t i = 1; i < kMaxZones; ++i) zones += ", z" + std::to_string(i);
  EXPECT_EQ(Problems(Cluster("  version: v1\n  placement: {zones: " + zones + "]}\n")), "");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  placement: {zones: " + zones + ", zz]}\n")),
            "spec.placement.zones: must have 1..16 entries, got 17");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  placement: {zones: []}\n")),
            "spec.placement.zones: must have 1..16 entries, got 0");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  placement: {}\n")),
            "spec.placement.zones: must have 1..16 entries, got 0");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  provisionTimeoutSeconds: 10\n")), "");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  provisionTimeoutSeconds: 3600\n")), "");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  provisionTimeoutSeconds: 9\n")),
            "spec.provisionTimeoutSeconds: must be 10..3600, got 9");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  provisionTimeoutSeconds: 3601\n")),
            "spec.provisionTimeoutSeconds: must be 10..3600, got 3601");
  EXPECT_EQ(Problems(Cluster("  version: v1\n  provisionTimeoutSeconds: soon\n")),
            "spec.provisionTimeoutSeconds: must be an integer, got string");
}

TEST(ResourceValidate, RouterFleetRanges) {
  EXPECT_EQ(Problems(Fleet("  replicas: 0\n  version: v1\n")),
            "spec.replicas: must be 1..64, got 0; spec.routesPrefix: required");
  EXPECT_EQ(Problems(Fleet("  replicas: 64\n  version: v1\n  routesPrefix: /r/\n")), "");
  EXPECT_EQ(Problems(Fleet("  replicas: 65\n  version: v1\n  routesPrefix: /r/\n")),
            "spec.replicas: must be 1..64, got 65");
  EXPECT_EQ(Problems(Fleet("  version: v1\n  routesPrefix: \"/r /\"\n")),
            "spec.routesPrefix: must not contain spaces or control characters");
  EXPECT_EQ(Problems(Fleet("  version: v1\n  routesPrefix: " + std::string(kMaxKeyPrefixBytes, 'p') +
                           "\n")),
            "");
  EXPECT_EQ(Problems(Fleet("  version: v1\n  routesPrefix: " +
                           std::string(kMaxKeyPrefixBytes + 1, 'p') + "\n")),
            "spec.routesPrefix: must be at most 256 bytes, got 257");
  EXPECT_EQ(Problems(Fleet("  version: v1\n  routesPrefix: /r/\n"
                           "  l4Front: {name: Edge, listen: \"h:70000\"}\n")),
            "spec.l4Front.name: must consist of lower case alphanumeric characters or '-', got "
            "\"Edge\"; spec.l4Front.listen: port must be 1..65535");
}

TEST(ResourceValidate, RouterFleetStore) {
  Resource r = MustParse(Fleet("  version: v1\n  routesPrefix: /r/\n"
                               "  store: [\"127.0.0.1:2379\", \"10.0.0.2:2379\"]\n"));
  EXPECT_EQ(std::get<RouterFleetSpec>(r.spec).store,
            (std::vector<std::string>{"127.0.0.1:2379", "10.0.0.2:2379"}));
  EXPECT_EQ(ToJson(std::get<RouterFleetSpec>(r.spec))["store"][1], "10.0.0.2:2379");
  EXPECT_EQ(Problems(Fleet("  version: v1\n  routesPrefix: /r/\n  store: [h, 7, \"h:0\"]\n")),
            "spec.store[1]: must be a string, got number");
  EXPECT_EQ(Problems(Fleet("  version: v1\n  routesPrefix: /r/\n  store: [h, \"h:0\"]\n")),
            "spec.store[0]: must be host:port; spec.store[1]: port must be 1..65535");
  std::string at_limit = "  version: v1\n  routesPrefix: /r/\n  store: [";
  for (size_t i = 0; i < kMaxStoreEndpoints; ++i) {
    at_limit += std::string(i ? ", " : "") + "\"h:1\"";
  }
  EXPECT_EQ(Problems(Fleet(at_limit + "]\n")), "");
  EXPECT_EQ(Problems(Fleet(at_limit + ", \"h:2\"]\n")),
            "spec.store: must have at most 16 entries, got 17");
}

TEST(ResourceValidate, NameIsADnsLabel) {
  auto named = [](const std::string& name) {
    return Problems("apiVersion: grid.dev/v1\nkind: KVCluster\nmetadata: {name: \"" + name +
                    "\"}\nspec: {version: v1}\n");
  };
  EXPECT_EQ(named("a-1"), "");
  EXPECT_EQ(named(std::string(kMaxNameBytes, 'a')), "");
  EXPECT_EQ(named(std::string(kMaxNameBytes + 1, 'a')),
            "metadata.name: must be at most 63 characters, got 64");
  EXPECT_EQ(named("-a"), "metadata.name: must start and end with an alphanumeric character, "
                         "got \"-a\"");
  EXPECT_EQ(named("a/b"), "metadata.name: must consist of lower case alphanumeric characters or "
                          "'-', got \"a/b\"");
  EXPECT_EQ(named(""), "metadata.name: required");
}

TEST(ResourceValidate, LabelLimits) {
  Resource r = MustParse(Cluster("  version: v1\n"));
  for (size_t i = 0; i < kMaxLabels; ++i) r.metadata.labels["k" + std::to_string(i)] = "v";
  EXPECT_TRUE(Validate(r).ok());
  r.metadata.labels["one-more"] = "v";
  EXPECT_EQ(Validate(r).message(), "metadata.labels: must have at most 32 entries, got 33");
  r.metadata.labels.clear();
  r.metadata.labels[std::string(kMaxLabelKeyBytes, 'k')] = std::string(kMaxLabelValueBytes, 'v');
  EXPECT_TRUE(Validate(r).ok());
  r.metadata.labels.clear();
  r.metadata.labels["k"] = std::string(kMaxLabelValueBytes + 1, 'v');
  EXPECT_EQ(Validate(r).message(), "metadata.labels.k: value must be at most 63 bytes, got 64");
  r.metadata.labels.clear();
  r.metadata.labels[std::string(kMaxLabelKeyBytes + 1, 'k')] = "v";
  EXPECT_EQ(Validate(r).message(),
            "metadata.labels." + std::string(64, 'k') + ": key must be 1..63 bytes");
  r.metadata.labels.clear();
  r.metadata.labels["k"] = "a b";
  EXPECT_EQ(Validate(r).message(), "metadata.labels.k: value must contain only [A-Za-z0-9._-]");
}

TEST(ResourceValidate, StatusLimits) {
  ResourceStatus st;
  for (size_t i = 0; i < kMaxConditions; ++i) {
    st.conditions.push_back({"T" + std::to_string(i), ConditionStatus::kTrue, "", "", ""});
  }
  EXPECT_TRUE(ValidateStatus(st).ok());
  st.conditions.push_back({"Extra", ConditionStatus::kTrue, "", "", ""});
  EXPECT_EQ(ValidateStatus(st).message(),
            "status.conditions: must have at most 16 entries, got 17");
  st.conditions.clear();
  st.conditions.push_back({"A", ConditionStatus::kTrue, "", std::string(1025, 'm'), ""});
  st.conditions.push_back({"A", ConditionStatus::kFalse, "", "", ""});
  EXPECT_EQ(ValidateStatus(st).message(),
            "status.conditions[0].message: must be at most 1024 bytes, got 1025; "
            "status.conditions[1].type: duplicate condition type \"A\"");
  st.conditions.clear();
  st.members.resize(kMaxStatusMembers);
  EXPECT_TRUE(ValidateStatus(st).ok());
  st.members.resize(kMaxStatusMembers + 1);
  EXPECT_EQ(ValidateStatus(st).message(), "status.members: must have at most 7 entries, got 8");
  st.members.clear();
  st.members.push_back({"a-0", "", "", "", "", false, "z1", ""});
  st.members.push_back({"a-1", "", "", "", "", false, "Z-2", ""});
  EXPECT_EQ(ValidateStatus(st).message(),
            "status.members[1].zone: must consist of lower case alphanumeric characters or "
            "'-', got \"Z-2\"");
  st.members.clear();
  st.operation = 5;
  EXPECT_EQ(ValidateStatus(st).message(), "status.operation: must be an object, got number");
  st.operation = nullptr;
  st.history.resize(kMaxOperationHistory, OperationRecord{"Op", OperationResult::kSucceeded, "",
                                                          "", {}});
  EXPECT_TRUE(ValidateStatus(st).ok());
  st.history.push_back(st.history.back());
  EXPECT_EQ(ValidateStatus(st).message(), "status.history: must have at most 8 entries, got 9");
  st.history.resize(1);
  st.history[0].steps.resize(kMaxHistorySteps, HistoryStep{"s", "", ""});
  EXPECT_TRUE(ValidateStatus(st).ok());
  st.history[0].steps.push_back(HistoryStep{"s", "", ""});
  st.history[0].name.clear();
  EXPECT_EQ(ValidateStatus(st).message(),
            "status.history[0].name: required; "
            "status.history[0].steps: must have at most 32 entries, got 33");
}

TEST(ResourceDefaults, FillOnlyUnsetFields) {
  Resource r = MustParse(Cluster("  version: v1\n  inspection: {}\n"));
  Defaults(&r);
  const auto& spec = std::get<KVClusterSpec>(r.spec);
  EXPECT_EQ(spec.engine, "gridkv");
  EXPECT_EQ(spec.members, kDefaultMembers);
  EXPECT_EQ(spec.quota_backend_bytes, kDefaultQuotaBackendBytes);
  EXPECT_EQ(spec.inspection->interval_seconds, kDefaultInspectionIntervalSeconds);
  EXPECT_EQ(spec.provision_timeout_seconds, kDefaultProvisionTimeoutSeconds);
  EXPECT_FALSE(spec.placement);

  Resource set = MustParse(kClusterYaml);
  Resource defaulted = set;
  Defaults(&defaulted);
  EXPECT_EQ(defaulted, set);  // every field was set: nothing changes

  Resource fleet = MustParse(Fleet("  version: v1\n  routesPrefix: /r/\n"));
  Defaults(&fleet);
  EXPECT_EQ(std::get<RouterFleetSpec>(fleet.spec).replicas, kDefaultRouterReplicas);
  EXPECT_FALSE(std::get<RouterFleetSpec>(fleet.spec).l4_front);
}

TEST(ResourceGeneration, CreateStartsAtOneWithEmptyStatus) {
  Resource r = MustParse(kClusterYaml);
  r.status.phase = Phase::kRun;
  r.metadata.generation = 9;
  auto created = PrepareCreate(r, "2026-01-02T03:04:05Z", "uid-1");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->metadata.generation, 1);
  EXPECT_EQ(created->metadata.uid, "uid-1");
  EXPECT_EQ(created->metadata.creation_timestamp, "2026-01-02T03:04:05Z");
  EXPECT_EQ(created->status, ResourceStatus{});

  Resource bad = MustParse(Cluster("  version: v1\n  members: 0\n"));
  EXPECT_EQ(PrepareCreate(bad, "t", "u").status().message(),
            "KVCluster \"a\": spec.members: must be 1..7 (odd recommended), got 0");
}

TEST(ResourceGeneration, BumpedOnlyWhenTheSpecChanges) {
  auto current = PrepareCreate(MustParse(Cluster("  version: v1\n")), "t", "u");
  ASSERT_TRUE(current.ok());
  current->status.phase = Phase::kReady;

  // Labels only: generation stays, status kept.
  Resource desired = *current;
  desired.metadata.labels["x"] = "y";
  desired.status = ResourceStatus{};
  auto labels = PrepareUpdate(*current, desired);
  ASSERT_TRUE(labels.ok());
  EXPECT_EQ(labels->metadata.generation, 1);
  EXPECT_EQ(labels->metadata.labels.at("x"), "y");
  EXPECT_EQ(labels->status.phase, Phase::kReady);

  // Writing a default explicitly is not a change.
  Resource explicit_default = MustParse(Cluster("  version: v1\n  members: 3\n  engine: gridkv\n"));
  auto same = PrepareUpdate(*current, explicit_default);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->metadata.generation, 1);
  EXPECT_FALSE(SpecChanged(current->spec, same->spec));

  // A spec change bumps by one and keeps identity.
  Resource scaled = MustParse(Cluster("  version: v1\n  members: 5\n"));
  auto bumped = PrepareUpdate(*current, scaled);
  ASSERT_TRUE(bumped.ok());
  EXPECT_EQ(bumped->metadata.generation, 2);
  EXPECT_EQ(bumped->metadata.uid, "u");
  EXPECT_EQ(std::get<KVClusterSpec>(bumped->spec).members, 5);

  // Another kind or name is refused.
  Resource other = MustParse(Cluster("  version: v1\n"));
  other.metadata.name = "b";
  EXPECT_EQ(PrepareUpdate(*current, other).status().code(), Code::kInvalidArgument);
}

TEST(ResourceGeneration, StatusUpdateNeverTouchesSpecOrGeneration) {
  auto current = PrepareCreate(MustParse(Cluster("  version: v1\n")), "t", "u");
  ASSERT_TRUE(current.ok());
  ResourceStatus st;
  st.phase = Phase::kProvision;
  st.observed_generation = 1;
  auto next = PrepareStatusUpdate(*current, st);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->metadata, current->metadata);
  EXPECT_EQ(next->spec, current->spec);
  EXPECT_EQ(next->status, st);
  st.operation = "not an object";
  EXPECT_EQ(PrepareStatusUpdate(*current, st).status().message(),
            "KVCluster \"a\": status.operation: must be an object, got string");
}

TEST(ResourceConditions, TransitionTimeMovesOnlyOnStatusChange) {
  ResourceStatus st;
  SetCondition(&st, {"Available", ConditionStatus::kFalse, "Starting", "", ""}, "t1");
  SetCondition(&st, {"Available", ConditionStatus::kFalse, "StillStarting", "m", ""}, "t2");
  ASSERT_EQ(st.conditions.size(), 1u);
  EXPECT_EQ(st.conditions[0].last_transition_time, "t1");
  EXPECT_EQ(st.conditions[0].reason, "StillStarting");
  SetCondition(&st, {"Available", ConditionStatus::kTrue, "Quorum", "", ""}, "t3");
  EXPECT_EQ(FindCondition(st, "Available")->last_transition_time, "t3");
  EXPECT_EQ(FindCondition(st, "Degraded"), nullptr);
}

TEST(ResourceStoreErrors, ConflictIsRecognised) {
  Status c = ConflictError("KVCluster \"a\"", "5", "7");
  EXPECT_TRUE(IsConflict(c));
  EXPECT_EQ(c.message(),
            "KVCluster \"a\": the object has been modified; please apply your changes to the "
            "latest version and try again (resourceVersion 5 is stale, current 7)");
  EXPECT_FALSE(IsConflict(FailedPrecondition("other")));
  EXPECT_FALSE(IsConflict(NotFound("the object has been modified")));
}

TEST(ResourceTime, FormatsRfc3339Utc) {
  EXPECT_EQ(FormatTimestamp(std::chrono::system_clock::time_point(std::chrono::seconds(0))),
            "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(std::chrono::system_clock::time_point(
                std::chrono::seconds(1767323045))),
            "2026-01-02T03:04:05Z");
}

}  // namespace
}  // namespace grid::mas

// The world of the Decide table tests: a cluster "c" with healthy members, built up and
// changed by each case, and the table's case type. Shared by the plan test files.
#pragma once

#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "mas/kvcluster/plan.h"

namespace grid::mas::kvcluster::testing {

using std::chrono::seconds;

inline const TimePoint kNow = std::chrono::system_clock::from_time_t(1'800'000'000);

// A member with no instance and no data.
inline MemberObservation Fresh(const std::string& name) {
  MemberObservation o;
  o.name = name;
  return o;
}

// A cluster "c" of `n` healthy members on `version`; c-0 (id 100) leads.
struct World {
  KVClusterSpec spec;
  ResourceStatus status;
  Observed obs;
  PlanOptions options;

  explicit World(int n = 3, const std::string& version = "3.4.0") {
    spec.engine = "gridkv";
    spec.version = version;
    spec.members = n;
    obs.cluster = "c";
    obs.member_list_ok = true;
    obs.leader_id = 100;
    obs.leader_applied_index = 50;
    for (int i = 0; i < n; ++i) AddMember(i, version, /*learner=*/false);
    status.phase = Phase::kRun;
  }

  void AddMember(int i, const std::string& version, bool learner) {
    MemberStatus m;
    m.name = "c-" + std::to_string(i);
    m.peer_url = "http://127.0.0.1:" + std::to_string(2380 + i * 10);
    m.client_url = "http://127.0.0.1:" + std::to_string(2379 + i * 10);
    m.version = version;
    status.members.push_back(m);
    MemberObservation o;
    o.name = m.name;
    o.instance = InstanceState::kRunning;
    o.instance_version = version;
    o.data_empty = false;
    o.reachable = true;
    o.applied_index = 50;
    obs.members.push_back(o);
    obs.store_members.push_back({static_cast<uint64_t>(100 + i), m.name, learner, {m.peer_url}});
  }
  // Planned only: not in the store, no instance.
  void PlanOnly(int i) {
    AddMember(i, spec.version, false);
    obs.store_members.pop_back();
    obs.members.back() = Fresh("c-" + std::to_string(i));
  }
  StoreMember* Store(int i) {
    for (auto& sm : obs.store_members) {
      if (sm.peer_urls[0] == status.members[static_cast<size_t>(i)].peer_url) return &sm;
    }
    return nullptr;
  }
  void RemoveFromStore(int i) {
    std::erase_if(obs.store_members, [&](const StoreMember& sm) {
      return sm.peer_urls[0] == status.members[static_cast<size_t>(i)].peer_url;
    });
  }
  MemberObservation& M(int i) { return obs.members[static_cast<size_t>(i)]; }
  void SetOp(const Operation& op) { status.operation = OperationToJson(op); }
  Step Decide() const { return kvcluster::Decide(spec, status, obs, kNow, options); }
};

inline Operation Op(const char* name, const std::string& target) {
  Operation op;
  op.name = name;
  op.target = target;
  op.started = FormatTimestamp(kNow - seconds(5));
  return op;
}

inline const ConditionUpdate* Cond(const Step& s, const std::string& type) {
  for (const auto& c : s.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

struct Case {
  std::string name;
  std::function<void(World*)> setup;
  StepKind kind;
  std::string member;
  Phase phase;
  std::string op;  // the operation name after the step ("" = none)
  std::function<void(const World&, const Step&)> check = nullptr;
};

// Decides for the case's world and checks the step's kind, member, phase and operation.
inline void CheckCase(const Case& c) {
  World w;
  c.setup(&w);
  const Step s = w.Decide();
  EXPECT_EQ(StepKindName(s.kind), std::string(StepKindName(c.kind))) << s.why;
  EXPECT_EQ(s.member, c.member) << s.why;
  EXPECT_EQ(PhaseName(s.phase), std::string(PhaseName(c.phase))) << s.why;
  EXPECT_EQ(s.operation ? s.operation->name : "", c.op) << s.why;
  if (c.check) c.check(w, s);
}

}  // namespace grid::mas::kvcluster::testing

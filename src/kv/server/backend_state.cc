#include "kv/server/backend_state.h"

#include <spdlog/spdlog.h>

#include "kv/lease/lease_apply.h"
#include "kv/snapshot/etcd_backend.h"

namespace grid::kv {

Status LoadBackendState(const mvcc::Store& store, lease::Lessor& lessor, AlarmTable& alarms,
                        MemberTable& members) {
  GRID_ASSIGN_OR_RETURN(auto alarm_rows, store.ReadMeta(snapshot::kAlarmTable));
  std::vector<etcdserverpb::AlarmMember> alarm_list;
  for (const auto& [key, value] : alarm_rows) {
    kvpb::AlarmRecord record;
    if (!record.ParseFromString(value)) return Corruption("backend: undecodable alarm record");
    etcdserverpb::AlarmMember m;
    m.set_memberid(record.member_id());
    m.set_alarm(record.alarm());
    alarm_list.push_back(m);
  }
  GRID_ASSIGN_OR_RETURN(auto member_rows, store.ReadMeta("members"));
  std::vector<kvpb::MemberRecord> member_list;
  for (const auto& [key, value] : member_rows) {
    kvpb::MemberRecord record;
    if (!record.ParseFromString(value)) return Corruption("backend: undecodable member record");
    member_list.push_back(std::move(record));
  }
  GRID_ASSIGN_OR_RETURN(size_t orphans, lease::RecoverLessor(lessor, store));
  if (orphans > 0) spdlog::warn("{} keys name a lease that no longer exists", orphans);
  alarms.Replace(alarm_list);
  members.Load(member_list);
  return Status::Ok();
}

}  // namespace grid::kv

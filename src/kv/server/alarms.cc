#include "kv/server/alarms.h"

namespace grid::kv {

bool AlarmTable::Activate(uint64_t member_id, etcdserverpb::AlarmType type) {
  std::lock_guard lock(mu_);
  return active_.emplace(member_id, static_cast<int>(type)).second;
}

bool AlarmTable::Deactivate(uint64_t member_id, etcdserverpb::AlarmType type) {
  std::lock_guard lock(mu_);
  return active_.erase({member_id, static_cast<int>(type)}) > 0;
}

bool AlarmTable::Has(etcdserverpb::AlarmType type) const {
  std::lock_guard lock(mu_);
  for (const auto& [member, t] : active_) {
    if (t == static_cast<int>(type)) return true;
  }
  return false;
}

std::vector<etcdserverpb::AlarmMember> AlarmTable::List() const {
  std::lock_guard lock(mu_);
  std::vector<etcdserverpb::AlarmMember> out;
  for (const auto& [member, type] : active_) {
    etcdserverpb::AlarmMember m;
    m.set_memberid(member);
    m.set_alarm(static_cast<etcdserverpb::AlarmType>(type));
    out.push_back(m);
  }
  return out;
}

void AlarmTable::Replace(const std::vector<etcdserverpb::AlarmMember>& alarms) {
  std::set<std::pair<uint64_t, int>> next;
  for (const auto& a : alarms) next.emplace(a.memberid(), static_cast<int>(a.alarm()));
  std::lock_guard lock(mu_);
  active_ = std::move(next);
}

std::string AlarmTable::StorageKey(uint64_t member_id, etcdserverpb::AlarmType type) {
  std::string key(9, '\0');
  for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(member_id >> (56 - 8 * i));
  key[8] = static_cast<char>(type);
  return key;
}

}  // namespace grid::kv

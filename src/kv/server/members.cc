#include "kv/server/members.h"

#include <openssl/sha.h>

#include <algorithm>

#include "common/check.h"

namespace grid::kv {
namespace {

uint64_t Sha1Prefix(const std::string& data) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | digest[i];
  return v;
}

}  // namespace

uint64_t DeriveMemberId(std::vector<std::string> peer_urls, const std::string& token,
                        std::optional<int64_t> added_at_unix_seconds) {
  std::sort(peer_urls.begin(), peer_urls.end());
  std::string b;
  for (const auto& u : peer_urls) b += u;
  b += token;
  if (added_at_unix_seconds) b += std::to_string(*added_at_unix_seconds);
  return Sha1Prefix(b);
}

uint64_t DeriveClusterId(std::vector<uint64_t> member_ids) {
  std::sort(member_ids.begin(), member_ids.end());
  std::string b;
  for (uint64_t id : member_ids) {
    for (int i = 7; i >= 0; --i) b.push_back(static_cast<char>(id >> (8 * i)));
  }
  return Sha1Prefix(b);
}

etcdserverpb::Member ToWireMember(const kvpb::MemberRecord& m) {
  etcdserverpb::Member out;
  out.set_id(m.id());
  out.set_name(m.name());
  for (const auto& u : m.peer_urls()) out.add_peerurls(u);
  for (const auto& u : m.client_urls()) out.add_clienturls(u);
  out.set_islearner(m.is_learner());
  return out;
}

void MemberTable::Load(const std::vector<kvpb::MemberRecord>& members) {
  std::lock_guard lock(mu_);
  members_.clear();
  for (const auto& m : members) members_[m.id()] = m;
}

void MemberTable::ShowJoinedUntilSelfApplied(uint64_t self_id,
                                             std::vector<kvpb::MemberRecord> joined) {
  GRID_CHECK(joined.size() <= kMaxMembers)
      << "joined membership of " << joined.size() << " members exceeds " << kMaxMembers;
  std::lock_guard lock(mu_);
  joined_.clear();
  joined_self_ = self_id;
  for (auto& m : joined) {
    const uint64_t id = m.id();
    joined_[id] = std::move(m);
  }
}

const std::map<uint64_t, kvpb::MemberRecord>& MemberTable::ShownLocked() const {
  if (joined_.empty()) return members_;
  if (members_.count(joined_self_) != 0) {
    joined_.clear();  // the log caught up with this member's addition: for good
    return members_;
  }
  return joined_;
}

std::vector<kvpb::MemberRecord> MemberTable::List() const {
  std::lock_guard lock(mu_);
  std::vector<kvpb::MemberRecord> out;
  for (const auto& [id, m] : ShownLocked()) out.push_back(m);
  return out;
}

std::optional<kvpb::MemberRecord> MemberTable::Get(uint64_t id) const {
  std::lock_guard lock(mu_);
  const auto& shown = ShownLocked();
  auto it = shown.find(id);
  if (it == shown.end()) return std::nullopt;
  return it->second;
}

std::vector<kvpb::MemberRecord> MemberTable::Applied() const {
  std::lock_guard lock(mu_);
  std::vector<kvpb::MemberRecord> out;
  for (const auto& [id, m] : members_) out.push_back(m);
  return out;
}

bool MemberTable::PeerUrlTakenLocked(const std::string& url, uint64_t except_id) const {
  for (const auto& [id, m] : members_) {
    if (id == except_id) continue;
    for (const auto& u : m.peer_urls()) {
      if (u == url) return true;
    }
  }
  return false;
}

Result<kvpb::MemberRecord> MemberTable::Apply(const kvpb::MemberChange& change, uint64_t self_id) {
  std::lock_guard lock(mu_);
  const kvpb::MemberRecord& in = change.member();
  auto it = members_.find(in.id());
  switch (change.kind()) {
    case kvpb::MemberChange::ADD: {
      if (it != members_.end()) return ErrMemberExists();
      if (members_.size() >= kMaxMembers) {
        return ResourceExhausted("etcdserver: too many members (limit " +
                                 std::to_string(kMaxMembers) + ")");
      }
      for (const auto& u : in.peer_urls()) {
        if (PeerUrlTakenLocked(u, 0)) return ErrPeerUrlExists();
      }
      if (in.is_learner()) {
        size_t learners = 0;
        for (const auto& [id, m] : members_) learners += m.is_learner() ? 1 : 0;
        if (learners >= kMaxLearners) return ErrTooManyLearners();
      }
      members_[in.id()] = in;
      return in;
    }
    case kvpb::MemberChange::REMOVE: {
      if (it == members_.end()) return ErrMemberNotFound2();
      // Removing the last voter would leave nobody to commit (etcd: not enough started
      // members).
      size_t voters = 0;
      for (const auto& [id, m] : members_) voters += m.is_learner() ? 0 : 1;
      if (!it->second.is_learner() && voters <= 1) return ErrNotEnoughStartedMembers();
      kvpb::MemberRecord removed = it->second;
      members_.erase(it);
      return removed;
    }
    case kvpb::MemberChange::UPDATE: {
      if (it == members_.end()) return ErrMemberNotFound2();
      for (const auto& u : in.peer_urls()) {
        if (PeerUrlTakenLocked(u, in.id())) return ErrPeerUrlExists();
      }
      *it->second.mutable_peer_urls() = in.peer_urls();
      return it->second;
    }
    case kvpb::MemberChange::PROMOTE: {
      if (it == members_.end()) return ErrMemberNotFound2();
      if (!it->second.is_learner()) return ErrMemberNotLearner();
      // The leader checked that the learner caught up before proposing.
      it->second.set_is_learner(false);
      return it->second;
    }
    default:
      return InvalidArgument("unknown member change");
  }
}

Result<kvpb::MemberRecord> MemberTable::SetAttributes(const kvpb::MemberRecord& attributes) {
  std::lock_guard lock(mu_);
  auto it = members_.find(attributes.id());
  if (it == members_.end()) return ErrMemberNotFound2();
  it->second.set_name(attributes.name());
  *it->second.mutable_client_urls() = attributes.client_urls();
  return it->second;
}

std::string MemberTable::StorageKey(uint64_t id) {
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(id >> (56 - 8 * i));
  return key;
}

}  // namespace grid::kv

#include "raft/types.h"

#include <cstring>

namespace grid::raft {
namespace {

// ConfChange encoding, version 1 (little-endian):
//   u8 version (= 1) | u8 type | u64 member | u32 context length | context bytes
constexpr uint8_t kConfChangeVersion = 1;
constexpr size_t kConfChangeHeaderBytes = 1 + 1 + 8 + 4;

void PutFixed(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetFixed(const std::string& in, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(in[pos + i])) << (8 * i);
  }
  return v;
}

}  // namespace

std::string EncodeConfChange(const ConfChange& cc) {
  std::string out;
  out.reserve(kConfChangeHeaderBytes + cc.context.size());
  out.push_back(static_cast<char>(kConfChangeVersion));
  out.push_back(static_cast<char>(cc.type));
  PutFixed(&out, cc.member.value(), 8);
  PutFixed(&out, cc.context.size(), 4);
  out.append(cc.context);
  return out;
}

bool DecodeConfChange(const std::string& data, ConfChange* cc) {
  if (data.size() < kConfChangeHeaderBytes) return false;
  if (static_cast<uint8_t>(data[0]) != kConfChangeVersion) return false;
  const auto type = static_cast<uint8_t>(data[1]);
  if (type > static_cast<uint8_t>(ConfChangeType::kUpdate)) return false;
  const uint64_t context_bytes = GetFixed(data, 10, 4);
  if (data.size() != kConfChangeHeaderBytes + context_bytes) return false;
  cc->type = static_cast<ConfChangeType>(type);
  cc->member = MemberId(GetFixed(data, 2, 8));
  cc->context = data.substr(kConfChangeHeaderBytes);
  return true;
}

const char* MessageTypeName(MessageType t) {
  switch (t) {
    case MessageType::kHup: return "Hup";
    case MessageType::kBeat: return "Beat";
    case MessageType::kUnreachable: return "Unreachable";
    case MessageType::kSnapStatus: return "SnapStatus";
    case MessageType::kCheckQuorum: return "CheckQuorum";
    case MessageType::kProp: return "Prop";
    case MessageType::kApp: return "App";
    case MessageType::kAppResp: return "AppResp";
    case MessageType::kVote: return "Vote";
    case MessageType::kVoteResp: return "VoteResp";
    case MessageType::kPreVote: return "PreVote";
    case MessageType::kPreVoteResp: return "PreVoteResp";
    case MessageType::kSnap: return "Snap";
    case MessageType::kHeartbeat: return "Heartbeat";
    case MessageType::kHeartbeatResp: return "HeartbeatResp";
    case MessageType::kTransferLeader: return "TransferLeader";
    case MessageType::kTimeoutNow: return "TimeoutNow";
    case MessageType::kReadIndex: return "ReadIndex";
    case MessageType::kReadIndexResp: return "ReadIndexResp";
  }
  return "Unknown";
}

bool IsWireMessage(MessageType t) {
  const auto v = static_cast<uint8_t>(t);
  return v >= static_cast<uint8_t>(MessageType::kProp) &&
         v <= static_cast<uint8_t>(MessageType::kReadIndexResp);
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kFollower: return "Follower";
    case Role::kPreCandidate: return "PreCandidate";
    case Role::kCandidate: return "Candidate";
    case Role::kLeader: return "Leader";
  }
  return "Unknown";
}

}  // namespace grid::raft

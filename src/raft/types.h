// Value types of the consensus core: ids, log entries, messages, the Ready batch.
// Plain C++ (no protobuf): the core links only grid_common; the WAL and the peer transport
// translate these to their own encodings.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace grid::raft {

// A uint64 that only mixes with its own kind. Arithmetic with plain integers is allowed
// (index + 1, term + 1); the difference of two values is a plain count.
template <typename Tag>
class StrongU64 {
 public:
  constexpr StrongU64() = default;
  constexpr explicit StrongU64(uint64_t v) : v_(v) {}
  constexpr uint64_t value() const { return v_; }

  friend constexpr auto operator<=>(StrongU64, StrongU64) = default;
  friend constexpr StrongU64 operator+(StrongU64 a, uint64_t n) { return StrongU64(a.v_ + n); }
  friend constexpr StrongU64 operator-(StrongU64 a, uint64_t n) { return StrongU64(a.v_ - n); }
  friend constexpr uint64_t operator-(StrongU64 a, StrongU64 b) { return a.v_ - b.v_; }
  constexpr StrongU64& operator++() { ++v_; return *this; }
  constexpr StrongU64& operator+=(uint64_t n) { v_ += n; return *this; }

 private:
  uint64_t v_ = 0;
};

using Term = StrongU64<struct TermTag>;
using Index = StrongU64<struct IndexTag>;
using MemberId = StrongU64<struct MemberIdTag>;  // 0 is "none"

inline constexpr MemberId kNoMember{0};

enum class EntryType : uint8_t { kNormal = 0, kConfChange = 1 };

struct Entry {
  Term term;
  Index index;
  EntryType type = EntryType::kNormal;
  std::string data;  // opaque to the core; an empty kNormal entry is the leader's no-op
  friend bool operator==(const Entry&, const Entry&) = default;
};

struct HardState {
  Term term;
  MemberId vote;
  Index commit;
  friend bool operator==(const HardState&, const HardState&) = default;
};

// Voters decide elections and commits; learners receive the log but never vote.
struct ConfState {
  std::vector<MemberId> voters;    // sorted
  std::vector<MemberId> learners;  // sorted, disjoint from voters
  friend bool operator==(const ConfState&, const ConfState&) = default;
};

enum class ConfChangeType : uint8_t {
  kAddVoter = 0,    // also promotes a learner
  kAddLearner = 1,
  kRemove = 2,
  kUpdate = 3,      // no change to the configuration; carries new peer URLs in `context`
};

struct ConfChange {
  ConfChangeType type = ConfChangeType::kAddVoter;
  MemberId member;
  std::string context;  // opaque to the core (the server puts member attributes here)
  friend bool operator==(const ConfChange&, const ConfChange&) = default;
};

// Serialized form of a ConfChange inside an Entry of type kConfChange.
std::string EncodeConfChange(const ConfChange& cc);
// False when `data` is not a ConfChange encoding.
[[nodiscard]] bool DecodeConfChange(const std::string& data, ConfChange* cc);

struct SnapshotMeta {
  Index index;  // the last entry the snapshot covers
  Term term;    // that entry's term
  ConfState conf_state;
  friend bool operator==(const SnapshotMeta&, const SnapshotMeta&) = default;
};

// `data` is opaque to the core. The server keeps it small (a token naming the backend
// checkpoint); the transport streams the checkpoint itself in chunks.
struct Snapshot {
  SnapshotMeta meta;
  std::string data;
  bool empty() const { return meta.index == Index(0); }
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

enum class MessageType : uint8_t {
  // Local only: never sent on the wire, rejected by Step() when they come from outside.
  kHup = 0,           // start an election (also what an election timeout does)
  kBeat = 1,          // leader: send heartbeats
  kUnreachable = 2,   // the transport could not reach `from`
  kSnapStatus = 3,    // result of sending a snapshot to `from` (reject = failed)
  kCheckQuorum = 4,
  // Wire messages.
  kProp = 10,             // a follower forwards proposals to the leader
  kApp = 11,
  kAppResp = 12,
  kVote = 13,
  kVoteResp = 14,
  kPreVote = 15,
  kPreVoteResp = 16,
  kSnap = 17,
  kHeartbeat = 18,
  kHeartbeatResp = 19,
  kTransferLeader = 20,
  kTimeoutNow = 21,
  kReadIndex = 22,
  kReadIndexResp = 23,
};

const char* MessageTypeName(MessageType t);
// True for the types that travel between members.
bool IsWireMessage(MessageType t);

struct Message {
  MessageType type = MessageType::kHup;
  MemberId to;
  MemberId from;
  Term term;           // the sender's term (0 for local messages and forwarded proposals)
  Term log_term;       // kApp: term of `index`; kVote/kPreVote: term of the last entry;
                       // kReadIndex: the term the sender made it in (0: forwarded)
  Index index;         // kApp: index before `entries`; kAppResp: last matching index; ...
  std::vector<Entry> entries;
  Index commit;
  std::optional<Snapshot> snapshot;  // kSnap only
  bool reject = false;
  Index reject_hint;   // kAppResp with reject: the follower's hint for fast backtracking
  // kReadIndex(Resp): the request context; kHeartbeat(Resp): read round (8 bytes, or empty);
  // kVote: "transfer" when forced by a leadership transfer; kTransferLeader: the transferee
  // (8 bytes little-endian). Opaque to the transport: copy it as is.
  std::string context;
  friend bool operator==(const Message&, const Message&) = default;
};

enum class Role : uint8_t { kFollower = 0, kPreCandidate = 1, kCandidate = 2, kLeader = 3 };
const char* RoleName(Role r);

struct SoftState {
  MemberId leader;  // kNoMember when unknown
  Role role = Role::kFollower;
  friend bool operator==(const SoftState&, const SoftState&) = default;
};

// A linearizable read may be served once the state machine applied `index`.
struct ReadState {
  Index index;
  std::string request_ctx;
  friend bool operator==(const ReadState&, const ReadState&) = default;
};

// What the caller must do, in this order:
//  1. persist `snapshot` (if any), then `entries`, then `hard_state` (if any), durably;
//     `messages` may be sent before step 1 completes only when `messages_may_precede_persist`
//     is true (the node is the leader: Raft §10.2.1; the leader counts its own entries towards
//     a commit only after Advance() reports them durable), otherwise only after it;
//  2. apply `snapshot`, then `committed_entries`, in order (may be done asynchronously, but
//     entries must reach the state machine in this order across Readys);
//  3. call Advance() with this Ready.
struct Ready {
  std::optional<SoftState> soft_state;  // set when it changed since the last Ready
  std::optional<HardState> hard_state;  // set when it changed since the last Ready
  std::vector<ReadState> read_states;
  std::vector<Entry> entries;           // to append to stable storage
  std::optional<Snapshot> snapshot;     // to persist and install
  std::vector<Entry> committed_entries;  // to apply
  std::vector<Message> messages;
  // Set only for a leader whose term and vote in this Ready are already durable.
  bool messages_may_precede_persist = false;
  // True when entries or hard_state (term/vote) must be fsynced before messages go out
  // (a commit-only hard state change need not be synced at once).
  bool must_sync = false;
};

}  // namespace grid::raft

template <typename Tag>
struct std::hash<grid::raft::StrongU64<Tag>> {
  size_t operator()(grid::raft::StrongU64<Tag> v) const noexcept {
    return std::hash<uint64_t>{}(v.value());
  }
};

#include "transport/codec.h"

#include <string>

namespace grid::transport {
namespace {

// Upper bounds of the wire overhead: every varint field at its widest plus tags and lengths.
constexpr uint64_t kMessageOverheadBytes = 128;
constexpr uint64_t kEntryOverheadBytes = 40;
constexpr uint64_t kMemberIdBytes = 11;

bool KnownMessageType(int v) {
  return (v >= 0 && v <= 4) || (v >= 10 && v <= 23);
}

void EncodeConfState(const raft::ConfState& cs, peerpb::ConfState* out) {
  for (raft::MemberId id : cs.voters) out->add_voters(id.value());
  for (raft::MemberId id : cs.learners) out->add_learners(id.value());
}

void DecodeConfState(const peerpb::ConfState& in, raft::ConfState* out) {
  out->voters.clear();
  out->learners.clear();
  for (uint64_t id : in.voters()) out->voters.emplace_back(id);
  for (uint64_t id : in.learners()) out->learners.emplace_back(id);
}

}  // namespace

bool IsPeerMessageType(raft::MessageType t) {
  int v = static_cast<int>(t);
  return v >= 10 && v <= 23;
}

const char* MessageTypeLabel(raft::MessageType t) {
  switch (t) {
    case raft::MessageType::kHup: return "kHup";
    case raft::MessageType::kBeat: return "kBeat";
    case raft::MessageType::kUnreachable: return "kUnreachable";
    case raft::MessageType::kSnapStatus: return "kSnapStatus";
    case raft::MessageType::kCheckQuorum: return "kCheckQuorum";
    case raft::MessageType::kProp: return "kProp";
    case raft::MessageType::kApp: return "kApp";
    case raft::MessageType::kAppResp: return "kAppResp";
    case raft::MessageType::kVote: return "kVote";
    case raft::MessageType::kVoteResp: return "kVoteResp";
    case raft::MessageType::kPreVote: return "kPreVote";
    case raft::MessageType::kPreVoteResp: return "kPreVoteResp";
    case raft::MessageType::kSnap: return "kSnap";
    case raft::MessageType::kHeartbeat: return "kHeartbeat";
    case raft::MessageType::kHeartbeatResp: return "kHeartbeatResp";
    case raft::MessageType::kTransferLeader: return "kTransferLeader";
    case raft::MessageType::kTimeoutNow: return "kTimeoutNow";
    case raft::MessageType::kReadIndex: return "kReadIndex";
    case raft::MessageType::kReadIndexResp: return "kReadIndexResp";
  }
  return "unknown";
}

void EncodeMessage(const raft::Message& m, peerpb::Message* out) {
  out->Clear();
  out->set_type(static_cast<peerpb::MessageType>(m.type));
  out->set_to(m.to.value());
  out->set_from(m.from.value());
  out->set_term(m.term.value());
  out->set_log_term(m.log_term.value());
  out->set_index(m.index.value());
  out->mutable_entries()->Reserve(static_cast<int>(m.entries.size()));
  for (const raft::Entry& e : m.entries) {
    peerpb::Entry* pe = out->add_entries();
    pe->set_term(e.term.value());
    pe->set_index(e.index.value());
    pe->set_type(static_cast<peerpb::EntryType>(e.type));
    pe->set_data(e.data);
  }
  out->set_commit(m.commit.value());
  if (m.snapshot.has_value()) {
    peerpb::Snapshot* ps = out->mutable_snapshot();
    ps->mutable_meta()->set_index(m.snapshot->meta.index.value());
    ps->mutable_meta()->set_term(m.snapshot->meta.term.value());
    EncodeConfState(m.snapshot->meta.conf_state, ps->mutable_meta()->mutable_conf_state());
    ps->set_data(m.snapshot->data);
  }
  out->set_reject(m.reject);
  out->set_reject_hint(m.reject_hint.value());
  out->set_context(m.context);
}

Status DecodeMessage(const peerpb::Message& in, raft::Message* out) {
  if (!KnownMessageType(in.type())) {
    return InvalidArgument("unknown message type " + std::to_string(in.type()));
  }
  raft::Message m;
  m.type = static_cast<raft::MessageType>(in.type());
  m.to = raft::MemberId(in.to());
  m.from = raft::MemberId(in.from());
  m.term = raft::Term(in.term());
  m.log_term = raft::Term(in.log_term());
  m.index = raft::Index(in.index());
  m.entries.reserve(in.entries_size());
  for (const peerpb::Entry& pe : in.entries()) {
    if (pe.type() != peerpb::NORMAL && pe.type() != peerpb::CONF_CHANGE) {
      return InvalidArgument("unknown entry type " + std::to_string(pe.type()) + " at index " +
                             std::to_string(pe.index()));
    }
    raft::Entry e;
    e.term = raft::Term(pe.term());
    e.index = raft::Index(pe.index());
    e.type = static_cast<raft::EntryType>(pe.type());
    e.data = pe.data();
    m.entries.push_back(std::move(e));
  }
  m.commit = raft::Index(in.commit());
  if (in.has_snapshot()) {
    raft::Snapshot s;
    s.meta.index = raft::Index(in.snapshot().meta().index());
    s.meta.term = raft::Term(in.snapshot().meta().term());
    DecodeConfState(in.snapshot().meta().conf_state(), &s.meta.conf_state);
    s.data = in.snapshot().data();
    m.snapshot = std::move(s);
  }
  m.reject = in.reject();
  m.reject_hint = raft::Index(in.reject_hint());
  m.context = in.context();
  *out = std::move(m);
  return Status::Ok();
}

uint64_t ApproxMessageBytes(const raft::Message& m) {
  uint64_t n = kMessageOverheadBytes + m.context.size();
  for (const raft::Entry& e : m.entries) n += kEntryOverheadBytes + e.data.size();
  if (m.snapshot.has_value()) {
    n += kMessageOverheadBytes + m.snapshot->data.size() +
         kMemberIdBytes * (m.snapshot->meta.conf_state.voters.size() +
                           m.snapshot->meta.conf_state.learners.size());
  }
  return n;
}

}  // namespace grid::transport

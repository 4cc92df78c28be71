#include "sim/describe.h"

#include <sstream>

#include "sim/state_machine.h"

namespace grid::sim {

std::string DescribeEntry(const raft::Entry& e) {
  std::ostringstream s;
  s << e.index.value() << "@" << e.term.value() << " ";
  if (e.type == raft::EntryType::kConfChange) {
    raft::ConfChange cc;
    if (raft::DecodeConfChange(e.data, &cc)) {
      static const char* kNames[] = {"add-voter", "add-learner", "remove", "update"};
      s << "conf " << kNames[static_cast<int>(cc.type) & 3] << " " << cc.member.value();
    } else {
      s << "conf ?";
    }
  } else if (e.data.empty()) {
    s << "no-op";
  } else {
    Result<Command> c = DecodeCommand(e.data);
    s << (c.ok() ? DescribeCommand(c.value()) : std::string("?"));
  }
  return s.str();
}

std::string DescribeMessage(const raft::Message& m) {
  std::ostringstream s;
  s << raft::MessageTypeName(m.type) << " " << m.from.value() << "->" << m.to.value() << " t"
    << m.term.value();
  if (m.type == raft::MessageType::kApp || m.type == raft::MessageType::kVote ||
      m.type == raft::MessageType::kPreVote) {
    s << " log " << m.index.value() << "@" << m.log_term.value();
  } else if (m.index != raft::Index(0)) {
    s << " i" << m.index.value();
  }
  if (!m.entries.empty()) {
    s << " [" << m.entries.front().index.value() << ".." << m.entries.back().index.value() << "]";
  }
  if (m.commit != raft::Index(0)) s << " c" << m.commit.value();
  if (m.reject) s << " reject(hint " << m.reject_hint.value() << ")";
  if (m.snapshot)
    s << " snap " << m.snapshot->meta.index.value() << "@" << m.snapshot->meta.term.value();
  return s.str();
}

std::string DescribeConf(const raft::ConfState& cs) {
  std::string s = "voters {";
  for (size_t i = 0; i < cs.voters.size(); ++i) {
    s += (i ? "," : "") + std::to_string(cs.voters[i].value());
  }
  s += "} learners {";
  for (size_t i = 0; i < cs.learners.size(); ++i) {
    s += (i ? "," : "") + std::to_string(cs.learners[i].value());
  }
  return s + "}";
}

void MixMessage(Trace& t, const raft::Message& m) {
  t.Mix(static_cast<uint64_t>(m.type));
  t.Mix(m.from.value());
  t.Mix(m.to.value());
  t.Mix(m.term.value());
  t.Mix(m.log_term.value());
  t.Mix(m.index.value());
  t.Mix(m.commit.value());
  t.Mix(m.entries.size());
  if (!m.entries.empty()) t.Mix(m.entries.back().index.value());
  t.Mix(m.reject ? 1 : 0);
  t.Mix(m.reject_hint.value());
  t.Mix(m.context);
  t.Mix(m.snapshot ? m.snapshot->meta.index.value() : 0);
}

uint64_t HashBytes(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace grid::sim

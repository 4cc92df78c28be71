#include "sim/state_machine.h"

#include <cstring>

namespace grid::sim {

namespace {

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutBytes(std::string* out, const std::string& s) {
  PutU64(out, s.size());
  out->append(s);
}

class Reader {
 public:
  explicit Reader(const std::string& data) : data_(data) {}
  bool U64(uint64_t* v) {
    if (data_.size() - pos_ < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) {
      *v |= static_cast<uint64_t>(static_cast<unsigned char>(data_[pos_ + i])) << (8 * i);
    }
    pos_ += 8;
    return true;
  }
  bool Bytes(std::string* s) {
    uint64_t n = 0;
    if (!U64(&n) || data_.size() - pos_ < n) return false;
    s->assign(data_, pos_, n);
    pos_ += n;
    return true;
  }
  bool U8(uint8_t* v) {
    if (pos_ >= data_.size()) return false;
    *v = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool done() const { return pos_ == data_.size(); }

 private:
  const std::string& data_;
  size_t pos_ = 0;
};

constexpr char kCommandTag = 'C';
constexpr char kSnapshotTag = 'S';

}  // namespace

std::string EncodeCommand(const Command& c) {
  std::string out(1, kCommandTag);
  out.push_back(static_cast<char>(c.type));
  PutU64(&out, c.client);
  PutU64(&out, c.seq);
  PutBytes(&out, c.key);
  PutBytes(&out, c.value);
  out.push_back(c.expected ? 1 : 0);
  if (c.expected) PutBytes(&out, *c.expected);
  return out;
}

Result<Command> DecodeCommand(const std::string& data) {
  if (data.empty() || data[0] != kCommandTag) return InvalidArgument("not a command");
  Reader r(data);
  uint8_t tag = 0, type = 0, has_expected = 0;
  Command c;
  if (!r.U8(&tag) || !r.U8(&type) || !r.U64(&c.client) || !r.U64(&c.seq) || !r.Bytes(&c.key) ||
      !r.Bytes(&c.value) || !r.U8(&has_expected)) {
    return InvalidArgument("truncated command");
  }
  if (type < 1 || type > 3) return InvalidArgument("bad command type");
  c.type = static_cast<CommandType>(type);
  if (has_expected > 1) return InvalidArgument("bad command");
  if (has_expected) {
    std::string e;
    if (!r.Bytes(&e)) return InvalidArgument("truncated command");
    c.expected = std::move(e);
  }
  if (!r.done()) return InvalidArgument("trailing bytes after command");
  return c;
}

std::string DescribeCommand(const Command& c) {
  std::string s = "c" + std::to_string(c.client) + "#" + std::to_string(c.seq) + " ";
  switch (c.type) {
    case CommandType::kPut:
      return s + "put " + c.key + "=" + c.value;
    case CommandType::kDelete:
      return s + "delete " + c.key;
    case CommandType::kCas:
      return s + "cas " + c.key + " " + (c.expected ? *c.expected : "<absent>") + "->" + c.value;
  }
  return s + "?";
}

ApplyResult KvStateMachine::Apply(const Command& c) {
  ApplyResult r;
  uint64_t& last = last_seq_[c.client];
  if (c.seq <= last) return r;
  last = c.seq;
  r.took_effect = true;
  auto it = kv_.find(c.key);
  switch (c.type) {
    case CommandType::kPut:
      kv_[c.key] = c.value;
      break;
    case CommandType::kDelete:
      r.existed = it != kv_.end();
      if (r.existed) kv_.erase(it);
      break;
    case CommandType::kCas: {
      const std::optional<std::string> current =
          it == kv_.end() ? std::nullopt : std::optional<std::string>(it->second);
      r.swapped = current == c.expected;
      if (r.swapped) kv_[c.key] = c.value;
      break;
    }
  }
  return r;
}

std::optional<std::string> KvStateMachine::Get(const std::string& key) const {
  auto it = kv_.find(key);
  if (it == kv_.end()) return std::nullopt;
  return it->second;
}

std::string KvStateMachine::Encode() const {
  std::string out(1, kSnapshotTag);
  PutU64(&out, kv_.size());
  for (const auto& [k, v] : kv_) {
    PutBytes(&out, k);
    PutBytes(&out, v);
  }
  PutU64(&out, last_seq_.size());
  for (const auto& [client, seq] : last_seq_) {
    PutU64(&out, client);
    PutU64(&out, seq);
  }
  return out;
}

Result<KvStateMachine> KvStateMachine::Decode(const std::string& data) {
  KvStateMachine sm;
  if (data.empty()) return sm;  // the bootstrap snapshot carries no state
  Reader r(data);
  uint8_t tag = 0;
  uint64_t n = 0;
  if (!r.U8(&tag) || tag != kSnapshotTag || !r.U64(&n)) return InvalidArgument("not a snapshot");
  for (uint64_t i = 0; i < n; ++i) {
    std::string k, v;
    if (!r.Bytes(&k) || !r.Bytes(&v)) return InvalidArgument("truncated snapshot");
    sm.kv_[std::move(k)] = std::move(v);
  }
  if (!r.U64(&n)) return InvalidArgument("truncated snapshot");
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t client = 0, seq = 0;
    if (!r.U64(&client) || !r.U64(&seq)) return InvalidArgument("truncated snapshot");
    sm.last_seq_[client] = seq;
  }
  if (!r.done()) return InvalidArgument("trailing bytes after snapshot");
  return sm;
}

uint64_t KvStateMachine::Digest() const {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64
  for (unsigned char ch : Encode()) {
    h ^= ch;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace grid::sim

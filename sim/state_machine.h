// The replicated state machine of the simulation: a key -> value register map. Entries carry
// client commands (client id, sequence number, operation); a per-client session applies each
// command at most once, in sequence order (a duplicated or superseded proposal is skipped).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/status.h"

namespace grid::sim {

enum class CommandType : uint8_t { kPut = 1, kDelete = 2, kCas = 3 };

struct Command {
  uint64_t client = 0;
  uint64_t seq = 0;  // increasing per client
  CommandType type = CommandType::kPut;
  std::string key;
  std::string value;                    // kPut, kCas
  std::optional<std::string> expected;  // kCas: nullopt = the key must be absent
  friend bool operator==(const Command&, const Command&) = default;
};

std::string EncodeCommand(const Command& c);
// InvalidArgument when `data` is not a command encoding.
Result<Command> DecodeCommand(const std::string& data);
std::string DescribeCommand(const Command& c);

struct ApplyResult {
  bool took_effect = false;  // false: a duplicate or superseded command, skipped
  bool existed = false;      // kDelete: the key existed
  bool swapped = false;      // kCas: the comparison held
};

class KvStateMachine {
 public:
  ApplyResult Apply(const Command& c);
  std::optional<std::string> Get(const std::string& key) const;
  size_t size() const { return kv_.size(); }

  // The snapshot payload, and back.
  std::string Encode() const;
  static Result<KvStateMachine> Decode(const std::string& data);
  // A hash of the whole state (values and sessions): equal states, equal digests.
  uint64_t Digest() const;

 private:
  std::map<std::string, std::string> kv_;
  std::map<uint64_t, uint64_t> last_seq_;  // client -> last applied sequence number
};

}  // namespace grid::sim

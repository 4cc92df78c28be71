#include "mas/mirror/plan.h"

#include <algorithm>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "client/ops.h"

namespace grid::mas::mirror {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// End of the prefix range, with "" standing for the end of the key space (so that max()
// over ends works by comparison).
std::string End(std::string_view prefix) {
  std::string end = client::PrefixRangeEnd(prefix);
  return end == std::string(1, '\0') ? std::string() : end;
}

int64_t OpBytes(const KeyOp& op) {
  return static_cast<int64_t>(op.key.size() + (op.value ? op.value->size() : 0));
}

}  // namespace

Result<KeyFilter> KeyFilter::Make(std::vector<std::string> prefixes, std::string own_prefix) {
  if (prefixes.empty()) return InvalidArgument("mirror: no prefixes (use \"\" for every key)");
  if (own_prefix.empty()) return InvalidArgument("mirror: the own prefix is empty");
  std::sort(prefixes.begin(), prefixes.end());
  for (size_t i = 1; i < prefixes.size(); ++i) {
    if (StartsWith(prefixes[i], prefixes[i - 1])) {
      return InvalidArgument("mirror: prefix '" + prefixes[i] + "' is inside prefix '" +
                             prefixes[i - 1] + "'");
    }
  }
  KeyFilter f;
  f.prefixes_ = std::move(prefixes);
  f.own_prefix_ = std::move(own_prefix);
  return f;
}

bool KeyFilter::Mirrored(std::string_view key) const {
  if (StartsWith(key, own_prefix_)) return false;
  auto it = std::upper_bound(prefixes_.begin(), prefixes_.end(), key,
                             [](std::string_view k, const std::string& p) { return k < p; });
  // Prefixes do not nest, so the only candidate is the greatest prefix <= key.
  return it != prefixes_.begin() && StartsWith(key, *std::prev(it));
}

std::pair<std::string, std::string> KeyFilter::CoveringRange(bool with_own) const {
  std::string begin = prefixes_.front();
  std::string end;  // "" = end of key space
  bool end_open = false;
  auto extend = [&](const std::string& p) {
    begin = std::min(begin, p);
    std::string e = End(p);
    if (e.empty()) end_open = true;
    end = std::max(end, e);
  };
  for (const auto& p : prefixes_) extend(p);
  if (with_own) extend(own_prefix_);
  return {begin, end_open ? std::string(1, '\0') : end};
}

std::vector<Batch> PlanBatches(const std::vector<mvccpb::Event>& events, const KeyFilter& filter,
                               const BatchLimits& limits) {
  std::vector<Batch> out;
  Batch current;
  int64_t current_bytes = 0;
  std::unordered_map<std::string, size_t> current_index;  // key -> its op in current.ops
  auto flush = [&] {
    if (current.last_revision == 0) return;
    out.push_back(std::move(current));
    current = Batch();
    current_bytes = 0;
    current_index.clear();
  };
  size_t i = 0;
  while (i < events.size()) {
    const int64_t revision = events[i].kv().mod_revision();
    std::vector<KeyOp> ops;
    int64_t bytes = 0;
    for (; i < events.size() && events[i].kv().mod_revision() == revision; ++i) {
      const auto& e = events[i];
      if (!filter.Mirrored(e.kv().key())) continue;
      KeyOp op{e.kv().key(), std::nullopt};
      if (e.type() == mvccpb::Event::PUT) op.value = e.kv().value();
      bytes += OpBytes(op);
      ops.push_back(std::move(op));
    }
    const bool fits_alone =
        static_cast<int>(ops.size()) <= limits.max_ops && bytes <= limits.max_bytes;
    if (!fits_alone) {
      // One revision too large for a transaction: its own partial batches.
      flush();
      Batch part;
      int64_t part_bytes = 0;
      for (auto& op : ops) {
        const int64_t b = OpBytes(op);
        if (!part.ops.empty() && (static_cast<int>(part.ops.size()) >= limits.max_ops ||
                                  part_bytes + b > limits.max_bytes)) {
          part.first_revision = part.last_revision = revision;
          part.partial = true;
          out.push_back(std::move(part));
          part = Batch();
          part_bytes = 0;
        }
        part_bytes += b;
        part.ops.push_back(std::move(op));
      }
      part.first_revision = part.last_revision = revision;
      out.push_back(std::move(part));
      continue;
    }
    if (static_cast<int>(current.ops.size() + ops.size()) > limits.max_ops ||
        current_bytes + bytes > limits.max_bytes) {
      flush();
    }
    if (current.first_revision == 0) current.first_revision = revision;
    current.last_revision = revision;
    current_bytes += bytes;
    // A transaction may name a key once: a later revision's op replaces the earlier one
    // (the batch is applied atomically, so the earlier state is never visible anyway).
    for (auto& op : ops) {
      auto [it, added] = current_index.emplace(op.key, current.ops.size());
      if (added) {
        current.ops.push_back(std::move(op));
      } else {
        current.ops[it->second] = std::move(op);
      }
    }
  }
  flush();
  return out;
}

PageDiff DiffPage(const std::vector<mvccpb::KeyValue>& primary,
                  const std::vector<mvccpb::KeyValue>& standby, const KeyFilter& filter) {
  PageDiff d;
  size_t p = 0, s = 0;
  while (p < primary.size() || s < standby.size()) {
    if (p < primary.size() && !filter.Mirrored(primary[p].key())) {
      ++p;
      continue;
    }
    if (s < standby.size() && !filter.Mirrored(standby[s].key())) {
      ++s;
      continue;
    }
    if (s == standby.size() || (p < primary.size() && primary[p].key() < standby[s].key())) {
      d.ops.push_back({primary[p].key(), primary[p].value()});
      ++p;
    } else if (p == primary.size() || standby[s].key() < primary[p].key()) {
      d.ops.push_back({standby[s].key(), std::nullopt});
      ++s;
    } else {
      if (primary[p].value() == standby[s].value()) {
        ++d.unchanged;
      } else {
        d.ops.push_back({primary[p].key(), primary[p].value()});
      }
      ++p;
      ++s;
    }
  }
  return d;
}

std::string EncodeProgress(const Progress& p) {
  nlohmann::json j;
  if (p.copying) {
    j = {{"copying", true}, {"copyRevision", p.copy_revision}};
  } else {
    j = {{"revision", p.revision}};
  }
  return j.dump();
}

Result<Progress> DecodeProgress(std::string_view value) {
  auto j = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Corruption("mirror progress is not a JSON object: " + std::string(value));
  Progress p;
  if (j.contains("copying")) {
    if (!j["copying"].is_boolean() || !j.contains("copyRevision") ||
        !j["copyRevision"].is_number_integer()) {
      return Corruption("mirror progress: bad copying record: " + std::string(value));
    }
    p.copying = j["copying"].get<bool>();
    p.copy_revision = j["copyRevision"].get<int64_t>();
    if (p.copying) return p;
  }
  if (!j.contains("revision") || !j["revision"].is_number_integer() ||
      j["revision"].get<int64_t>() < 0) {
    return Corruption("mirror progress: no revision: " + std::string(value));
  }
  p.revision = j["revision"].get<int64_t>();
  return p;
}

}  // namespace grid::mas::mirror

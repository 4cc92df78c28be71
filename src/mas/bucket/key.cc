#include <string>

#include "mas/bucket/bucket.h"

namespace grid::mas::bucket {

Status ValidateKey(std::string_view key) {
  auto bad = [&](const std::string& why) {
    std::string shown(key.substr(0, 64));
    if (key.size() > 64) shown += "...";
    return InvalidArgument("object key \"" + shown + "\" " + why);
  };
  if (key.empty()) return bad("is empty");
  if (key.size() > kMaxObjectKeyBytes) {
    return bad("is " + std::to_string(key.size()) + " bytes, over the limit of " +
               std::to_string(kMaxObjectKeyBytes));
  }
  if (key.front() == '/') return bad("starts with '/'");
  for (unsigned char c : key) {
    if (c < 0x20 || c == 0x7f) return bad("holds a control byte");
  }
  size_t start = 0;
  while (true) {
    size_t end = key.find('/', start);
    std::string_view segment =
        key.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (segment.empty()) return bad("has an empty segment");
    if (segment == "." || segment == "..") return bad("has a \".\" or \"..\" segment");
    if (segment.substr(0, kReservedSegmentPrefix.size()) == kReservedSegmentPrefix) {
      return bad("has a segment starting with the reserved \"" +
                 std::string(kReservedSegmentPrefix) + "\"");
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return Status::Ok();
}

}  // namespace grid::mas::bucket

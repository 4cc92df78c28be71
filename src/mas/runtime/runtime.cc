#include "mas/runtime/runtime.h"

namespace grid::mas::runtime {

const char* InstanceStateName(InstanceState state) {
  switch (state) {
    case InstanceState::kRunning: return "Running";
    case InstanceState::kBackoff: return "Backoff";
    case InstanceState::kStopped: return "Stopped";
    case InstanceState::kFailed: return "Failed";
  }
  return "Unknown";
}

std::string InstanceNameError(const std::string& name) {
  if (name.empty()) return "instance name is empty";
  if (name.size() > kMaxInstanceNameBytes) {
    return "instance name is longer than " + std::to_string(kMaxInstanceNameBytes) + " bytes";
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                    c == '/';
    if (!ok) return "instance name \"" + name + "\" has a character outside [a-z0-9-./]";
  }
  if (name.front() == '/' || name.back() == '/') {
    return "instance name \"" + name + "\" starts or ends with '/'";
  }
  // Every '/'-separated part must be a plain name: not empty, not "." or "..".
  size_t begin = 0;
  while (begin <= name.size()) {
    size_t end = name.find('/', begin);
    if (end == std::string::npos) end = name.size();
    const std::string part = name.substr(begin, end - begin);
    if (part.empty() || part == "." || part == "..") {
      return "instance name \"" + name + "\" has an empty, \".\" or \"..\" part";
    }
    begin = end + 1;
  }
  return "";
}

}  // namespace grid::mas::runtime

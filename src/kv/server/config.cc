#include "kv/server/config.h"

namespace grid::kv {

Result<std::string> ListenAddressOf(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    if (url.rfind("https://", 0) == 0) {
      return InvalidArgument("URL " + url + ": TLS on client URLs is not supported yet");
    }
    return InvalidArgument("URL " + url + ": expected http://host:port");
  }
  std::string rest = url.substr(scheme.size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon + 1 == rest.size() ||
      rest.find('/') != std::string::npos) {
    return InvalidArgument("URL " + url + ": expected http://host:port");
  }
  return rest;
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace grid::kv

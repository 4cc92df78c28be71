#include "kv/server/initial_cluster.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>

#include "kv/server/members.h"

namespace grid::kv {

namespace {

// A peer URL: http:// or https:// (peers may use TLS), host, port.
Status CheckPeerUrl(const std::string& url) {
  std::string rest;
  for (const char* scheme : {"http://", "https://"}) {
    if (url.rfind(scheme, 0) == 0) rest = url.substr(std::string(scheme).size());
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const size_t colon = rest.rfind(':');
  if (rest.empty() || colon == std::string::npos || colon == 0 || colon + 1 == rest.size() ||
      rest.find('/') != std::string::npos) {
    return InvalidArgument("--initial-cluster: URL " + url + ": expected http(s)://host:port");
  }
  return Status::Ok();
}

}  // namespace

Result<InitialCluster> ParseInitialCluster(const ServerConfig& config) {
  std::map<std::string, std::vector<std::string>> urls_by_name;
  std::vector<std::string> order;
  std::set<std::string> seen_urls;
  std::vector<std::string> items = SplitList(config.initial_cluster);
  if (items.empty()) {
    for (const auto& u : config.initial_advertise_peer_urls) items.push_back(config.name + "=" + u);
  }
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      return InvalidArgument(fmt::format(
          "--initial-cluster: \"{}\" is not name=peerURL", item));
    }
    std::string name = item.substr(0, eq);
    std::string url = item.substr(eq + 1);
    GRID_RETURN_IF_ERROR(CheckPeerUrl(url));
    if (!seen_urls.insert(url).second) {
      return InvalidArgument(fmt::format("--initial-cluster: peer URL {} is given twice", url));
    }
    if (!urls_by_name.count(name)) order.push_back(name);
    urls_by_name[name].push_back(url);
  }
  if (urls_by_name.size() > MemberTable::kMaxMembers) {
    return InvalidArgument(fmt::format("--initial-cluster names {} members; at most {}",
                                       urls_by_name.size(), MemberTable::kMaxMembers));
  }
  auto self = urls_by_name.find(config.name);
  if (self == urls_by_name.end()) {
    return InvalidArgument(fmt::format(
        "couldn't find local name \"{}\" in the initial cluster configuration", config.name));
  }
  std::vector<std::string> advertised = config.initial_advertise_peer_urls;
  std::sort(advertised.begin(), advertised.end());
  std::vector<std::string> listed = self->second;
  std::sort(listed.begin(), listed.end());
  if (listed != advertised) {
    return InvalidArgument(fmt::format(
        "--initial-cluster has {}={} but missing from --initial-advertise-peer-urls={}",
        config.name, fmt::join(listed, ","), fmt::join(advertised, ",")));
  }
  InitialCluster out;
  std::set<uint64_t> ids;
  std::vector<uint64_t> id_list;
  for (const std::string& name : order) {
    InitialMember m;
    m.name = name;
    m.peer_urls = urls_by_name[name];
    std::sort(m.peer_urls.begin(), m.peer_urls.end());
    m.id = DeriveMemberId(m.peer_urls, config.initial_cluster_token);
    if (!ids.insert(m.id).second) {
      return InvalidArgument(fmt::format("--initial-cluster: member {} has a duplicate id {:x}",
                                         name, m.id));
    }
    if (name == config.name) out.self_id = m.id;
    id_list.push_back(m.id);
    out.members.push_back(std::move(m));
  }
  std::sort(out.members.begin(), out.members.end(),
            [](const InitialMember& a, const InitialMember& b) { return a.id < b.id; });
  out.cluster_id = DeriveClusterId(id_list);
  return out;
}

}  // namespace grid::kv

// spec.standby of a KVCluster: decoding, JSON form and range checks (see spec.h).
#include <string>

#include "mas/resource/spec.h"

namespace grid::mas {
namespace {

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

bool HasControl(const std::string& s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

StandbySpec DecodeStandby(const nlohmann::json& j, const std::string& path, FieldErrors* errors) {
  StandbySpec standby;
  ObjectReader r(j, path, errors);
  standby.cluster = r.String("cluster", /*required=*/true).value_or("");
  if (const nlohmann::json* prefixes = r.Array("prefixes")) {
    const std::string prefixes_path = r.PathOf("prefixes");
    for (size_t i = 0; i < prefixes->size(); ++i) {
      const auto& p = (*prefixes)[i];
      if (!p.is_string()) {
        errors->Add(IndexPath(prefixes_path, i),
                    std::string("must be a string, got ") + p.type_name());
        continue;
      }
      standby.prefixes.push_back(p.get<std::string>());
    }
  }
  if (const nlohmann::json* promote = r.Object("promote")) {
    PromoteRequest request;
    ObjectReader pr(*promote, r.PathOf("promote"), errors);
    request.mode = pr.String("mode", /*required=*/true).value_or("");
    request.requested = pr.String("requested").value_or("");
    pr.Finish();
    standby.promote = std::move(request);
  }
  r.Finish();
  return standby;
}

nlohmann::json ToJson(const StandbySpec& standby) {
  nlohmann::json j = {{"cluster", standby.cluster}};
  if (!standby.prefixes.empty()) j["prefixes"] = standby.prefixes;
  if (standby.promote) {
    nlohmann::json p = {{"mode", standby.promote->mode}};
    if (!standby.promote->requested.empty()) p["requested"] = standby.promote->requested;
    j["promote"] = std::move(p);
  }
  return j;
}

void Validate(const StandbySpec& standby, const std::string& cluster_name,
              const std::string& path, FieldErrors* errors) {
  const std::string cluster_path = JoinPath(path, "cluster");
  if (standby.cluster.empty()) {
    errors->Add(cluster_path, "required: the name of the standby KVCluster");
  } else if (std::string e = DnsLabelError(standby.cluster); !e.empty()) {
    errors->Add(cluster_path, e);
  } else if (standby.cluster == cluster_name) {
    errors->Add(cluster_path, "must name another KVCluster, not this one");
  }
  const std::string prefixes_path = JoinPath(path, "prefixes");
  if (standby.prefixes.size() > kMaxStandbyPrefixes) {
    errors->Add(prefixes_path, "must have at most " + std::to_string(kMaxStandbyPrefixes) +
                                   " entries, got " + std::to_string(standby.prefixes.size()));
  } else {
    for (size_t i = 0; i < standby.prefixes.size(); ++i) {
      const std::string& p = standby.prefixes[i];
      if (p.size() > kMaxKeyPrefixBytes) {
        errors->Add(IndexPath(prefixes_path, i),
                    "must be at most " + std::to_string(kMaxKeyPrefixBytes) + " bytes, got " +
                        std::to_string(p.size()));
      }
    }
  }
  if (!standby.promote) return;
  const std::string promote_path = JoinPath(path, "promote");
  const std::string& mode = standby.promote->mode;
  if (mode != kPromoteSwitchover && mode != kPromoteFailover) {
    errors->Add(JoinPath(promote_path, "mode"),
                std::string("must be \"") + kPromoteSwitchover + "\" or \"" + kPromoteFailover +
                    "\", got " + Quote(mode));
  }
  const std::string& requested = standby.promote->requested;
  const std::string requested_path = JoinPath(promote_path, "requested");
  if (requested.size() > kMaxPromoteRequestedBytes) {
    errors->Add(requested_path, "must be at most " + std::to_string(kMaxPromoteRequestedBytes) +
                                    " bytes, got " + std::to_string(requested.size()));
  } else if (HasControl(requested)) {
    errors->Add(requested_path, "must not contain control characters");
  }
}

}  // namespace grid::mas

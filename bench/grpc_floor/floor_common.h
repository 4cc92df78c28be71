// What both floors (grpc_floor.cc, h2_floor.cc) share: the answers, responses of the size a
// store sends built from the request alone (nothing is stored), and their start-up.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <cstdint>
#include <iostream>
#include <optional>
#include <string>

#include "etcd/rpc.pb.h"
#include "transport/url.h"

namespace grid::bench {

inline constexpr uint64_t kFloorClusterId = 0x1f100f1001;
inline constexpr uint64_t kFloorMemberId = 0x1f100f1002;
inline constexpr int64_t kFloorRaftTerm = 2;

inline void FillFloorHeader(etcdserverpb::ResponseHeader* h, int64_t revision) {
  h->set_cluster_id(kFloorClusterId);
  h->set_member_id(kFloorMemberId);
  h->set_revision(revision);
  h->set_raft_term(kFloorRaftTerm);
}

// The key asked for, with `value`, created at revision 1 and last modified at `revision`.
inline void FillFloorRange(const etcdserverpb::RangeRequest& req, int64_t revision,
                           const std::string& value, etcdserverpb::RangeResponse* resp) {
  FillFloorHeader(resp->mutable_header(), revision);
  mvccpb::KeyValue* kv = resp->add_kvs();
  kv->set_key(req.key());
  kv->set_value(value);
  kv->set_create_revision(1);
  kv->set_mod_revision(revision);
  kv->set_version(1);
  resp->set_count(1);
}

// The success branch "ran": one response of the right kind per operation.
inline void FillFloorTxn(const etcdserverpb::TxnRequest& req, int64_t revision,
                         etcdserverpb::TxnResponse* resp) {
  FillFloorHeader(resp->mutable_header(), revision);
  resp->set_succeeded(true);
  for (const etcdserverpb::RequestOp& op : req.success()) {
    etcdserverpb::ResponseOp* out = resp->add_responses();
    if (op.has_request_range()) {
      FillFloorHeader(out->mutable_response_range()->mutable_header(), revision);
    } else if (op.has_request_delete_range()) {
      FillFloorHeader(out->mutable_response_delete_range()->mutable_header(), revision);
    } else {
      FillFloorHeader(out->mutable_response_put()->mutable_header(), revision);
    }
  }
}

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts afterwards;
// returns them for sigwait.
inline sigset_t BlockStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

// The first URL of a comma-separated --listen-client-urls, parsed as gridkv parses its URLs.
// nullopt, after an error line naming `program` on stderr, unless it is a plain http URL.
inline std::optional<transport::PeerUrl> ParseFloorListenUrl(const char* program,
                                                             const std::string& listen) {
  Result<transport::PeerUrl> url = transport::ParsePeerUrl(listen.substr(0, listen.find(',')));
  if (!url.ok() || url->tls) {
    std::cerr << program << ": --listen-client-urls " << listen << ": "
              << (url.ok() ? "https is not served" : url.status().ToString()) << "\n";
    return std::nullopt;
  }
  return *url;
}

}  // namespace grid::bench

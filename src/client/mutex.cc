#include "client/mutex.h"

#include <cinttypes>
#include <cstdio>

#include "client/watch_queue.h"

namespace grid::client {

std::string LeaseKey(std::string_view prefix, int64_t lease_id) {
  char hex[24];
  // Go prints a negative int64 with %x as "-" followed by the magnitude.
  if (lease_id < 0) {
    std::snprintf(hex, sizeof(hex), "-%" PRIx64, static_cast<uint64_t>(0) - static_cast<uint64_t>(lease_id));
  } else {
    std::snprintf(hex, sizeof(hex), "%" PRIx64, static_cast<uint64_t>(lease_id));
  }
  return std::string(prefix) + hex;
}

Mutex::Mutex(Session* session, std::string_view prefix)
    : session_(session), prefix_(std::string(prefix) + "/") {}

Status Mutex::Lock(const Context& ctx) {
  Client* client = session_->client();
  key_ = LeaseKey(prefix_, session_->lease_id());
  PutOptions put;
  put.lease = session_->lease_id();
  auto txn = TxnBuilder()
                 .If(CompareCreateRevision(key_, etcdserverpb::Compare::EQUAL, 0))
                 .Then(OpPut(key_, "", put), OpGet(prefix_, GetOptions::FirstCreate()))
                 .Else(OpGet(key_), OpGet(prefix_, GetOptions::FirstCreate()));
  GRID_ASSIGN_OR_RETURN(auto resp, client->Txn(txn.request(), ctx));
  revision_ = resp.header().revision();
  if (!resp.succeeded()) {
    const auto& mine = resp.responses(0).response_range();
    if (mine.kvs_size() == 0) return Unavailable("lock key vanished during acquisition");
    revision_ = mine.kvs(0).create_revision();
  }
  const auto& owner = resp.responses(1).response_range();
  if (owner.kvs_size() == 0 || owner.kvs(0).create_revision() == revision_) {
    header_ = resp.header();
    return Status::Ok();
  }
  auto waited = WaitDeletes(client, prefix_, revision_ - 1, ctx);
  if (!waited.ok()) {
    (void)Unlock(Context());  // give up our place in the queue
    return waited.status();
  }
  header_ = *waited;
  return Status::Ok();
}

Status Mutex::Unlock(const Context& ctx) {
  GRID_RETURN_IF_ERROR(session_->client()->Delete(key_, {}, ctx).status());
  key_ = std::string(1, '\0');
  revision_ = -1;
  return Status::Ok();
}

etcdserverpb::Compare Mutex::IsOwner() const {
  return CompareCreateRevision(key_, etcdserverpb::Compare::EQUAL, revision_);
}

}  // namespace grid::client

#include "client/election.h"

#include "client/mutex.h"
#include "client/watch_queue.h"

namespace grid::client {

Election::Election(Session* session, std::string_view prefix)
    : session_(session), prefix_(std::string(prefix) + "/") {}

Election Election::Resume(Session* session, std::string_view prefix, std::string leader_key,
                          int64_t leader_revision) {
  Election e(session, prefix);
  e.leader_key_ = std::move(leader_key);
  e.leader_revision_ = leader_revision;
  e.leader_ = true;
  return e;
}

Status Election::Campaign(std::string_view value, const Context& ctx) {
  Client* client = session_->client();
  const std::string key = LeaseKey(prefix_, session_->lease_id());
  PutOptions put;
  put.lease = session_->lease_id();
  auto txn = TxnBuilder()
                 .If(CompareCreateRevision(key, etcdserverpb::Compare::EQUAL, 0))
                 .Then(OpPut(key, value, put))
                 .Else(OpGet(key));
  GRID_ASSIGN_OR_RETURN(auto resp, client->Txn(txn.request(), ctx));
  leader_key_ = key;
  leader_revision_ = resp.header().revision();
  leader_ = true;
  if (!resp.succeeded()) {
    const auto& range = resp.responses(0).response_range();
    if (range.kvs_size() == 0) return Unavailable("election key vanished during campaign");
    const auto& kv = range.kvs(0);
    leader_revision_ = kv.create_revision();
    if (kv.value() != value) {
      Status s = Proclaim(value, ctx);
      if (!s.ok()) {
        (void)Resign(ctx);
        return s;
      }
    }
  }
  auto waited = WaitDeletes(client, prefix_, leader_revision_ - 1, ctx);
  if (!waited.ok()) {
    if (ctx.Done()) {
      (void)Resign(Context());
    } else {
      leader_ = false;
    }
    return waited.status();
  }
  header_ = resp.header();
  return Status::Ok();
}

Status Election::Proclaim(std::string_view value, const Context& ctx) {
  if (!leader_) return FailedPrecondition(kElectionNotLeaderMessage);
  PutOptions put;
  put.lease = session_->lease_id();
  auto txn = TxnBuilder()
                 .If(CompareCreateRevision(leader_key_, etcdserverpb::Compare::EQUAL,
                                           leader_revision_))
                 .Then(OpPut(leader_key_, value, put));
  GRID_ASSIGN_OR_RETURN(auto resp, session_->client()->Txn(txn.request(), ctx));
  if (!resp.succeeded()) {
    leader_key_.clear();
    return FailedPrecondition(kElectionNotLeaderMessage);
  }
  header_ = resp.header();
  return Status::Ok();
}

Status Election::Resign(const Context& ctx) {
  if (!leader_) return Status::Ok();
  auto txn = TxnBuilder()
                 .If(CompareCreateRevision(leader_key_, etcdserverpb::Compare::EQUAL,
                                           leader_revision_))
                 .Then(OpDelete(leader_key_));
  auto resp = session_->client()->Txn(txn.request(), ctx);
  if (resp.ok()) header_ = resp->header();
  leader_key_.clear();
  leader_ = false;
  return resp.status();
}

Result<etcdserverpb::RangeResponse> Election::Leader(const Context& ctx) {
  GRID_ASSIGN_OR_RETURN(auto resp,
                        session_->client()->Get(prefix_, GetOptions::FirstCreate(), ctx));
  if (resp.kvs_size() == 0) return NotFound(kElectionNoLeaderMessage);
  return resp;
}

Status Election::Observe(const Context& ctx, const LeaderCallback& on_leader) {
  Client* client = session_->client();
  while (true) {
    GRID_ASSIGN_OR_RETURN(auto resp, client->Get(prefix_, GetOptions::FirstCreate(), ctx));
    etcdserverpb::ResponseHeader header;
    mvccpb::KeyValue kv;
    if (resp.kvs_size() == 0) {
      // No leader yet: wait for the first candidate to appear.
      WatchOptions options;
      options.prefix = true;
      options.start_revision = resp.header().revision();
      GRID_ASSIGN_OR_RETURN(auto queue, WatchQueue::Start(client, prefix_, options));
      bool found = false;
      while (!found) {
        GRID_ASSIGN_OR_RETURN(auto update, queue->Next(ctx));
        GRID_RETURN_IF_ERROR(update.status);
        for (const auto& ev : update.events) {
          if (ev.type() == mvccpb::Event::PUT) {
            header = resp.header();
            header.set_revision(ev.kv().mod_revision());
            kv = ev.kv();
            found = true;
            break;
          }
        }
      }
    } else {
      header = resp.header();
      kv = resp.kvs(0);
    }
    if (!on_leader(header, kv)) return Status::Ok();

    // Follow this leader until its key is deleted.
    WatchOptions options;
    options.start_revision = header.revision() + 1;
    GRID_ASSIGN_OR_RETURN(auto queue, WatchQueue::Start(client, kv.key(), options));
    bool deleted = false;
    while (!deleted) {
      GRID_ASSIGN_OR_RETURN(auto update, queue->Next(ctx));
      GRID_RETURN_IF_ERROR(update.status);
      for (const auto& ev : update.events) {
        if (ev.type() == mvccpb::Event::DELETE) {
          deleted = true;
          break;
        }
        header.set_revision(update.header_revision);
        if (!on_leader(header, ev.kv())) return Status::Ok();
      }
    }
  }
}

}  // namespace grid::client

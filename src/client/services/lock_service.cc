#include "client/services/lock_service.h"

#include "client/mutex.h"
#include "client/services/service_util.h"

namespace grid::client::services {

LockService::LockService(std::shared_ptr<grpc::Channel> channel, const ClientOptions& options)
    : owned_client_(Client::FromChannel(std::move(channel), options)),
      client_(owned_client_.get()) {}

LockService::LockService(Client* client) : client_(client) {}

grpc::Status LockService::Lock(grpc::ServerContext* context,
                               const v3lockpb::LockRequest* request,
                               v3lockpb::LockResponse* response) {
  const Context ctx = ServerCallContext(context);
  SessionOptions options;
  options.lease_id = request->lease();
  options.keep_alive = false;  // the caller keeps its own lease alive
  auto session = Session::Create(client_, options, ctx);
  if (!session.ok()) return ServiceError(session.status());
  Mutex mutex(session->get(), request->name());
  Status s = mutex.Lock(ctx);
  if (!s.ok()) return ServiceError(s);
  *response->mutable_header() = mutex.header();
  response->set_key(mutex.key());
  return grpc::Status::OK;
}

grpc::Status LockService::Unlock(grpc::ServerContext* context,
                                 const v3lockpb::UnlockRequest* request,
                                 v3lockpb::UnlockResponse* response) {
  auto resp = client_->Delete(request->key(), {}, ServerCallContext(context));
  if (!resp.ok()) return ServiceError(resp.status());
  *response->mutable_header() = resp->header();
  return grpc::Status::OK;
}

}  // namespace grid::client::services

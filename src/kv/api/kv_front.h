// etcdserverpb.KV's unary calls as an h2::MethodTable, for the client port's HTTP/2 server
// (src/h2): the same admission, log path and answers as KvService, without the gRPC
// library's cost per call. Everything else on the port (Watch, Lease, Maintenance, Cluster,
// Lock, Election) is relayed to the gRPC library's server.
//
// Handlers run on the HTTP/2 server's loop threads: serializable reads (and linearizable ones
// on a lone leader) are answered there; writes from the apply callback; reads that wait on a
// barrier there too, once it is passed (queued on the call's loop).
#pragma once

#include "h2/unary_server.h"
#include "kv/api/server_context.h"

namespace grid::kv {

// REQUIRES: `ctx` outlives the server the table is given to.
h2::MethodTable KvFrontMethods(const ServerContext* ctx);

}  // namespace grid::kv

// A gridkv member: opens (or creates) the data dir, replays the log into the store, and
// serves the etcd v3 gRPC API on the client URLs. The composition root: it owns every part
// and wires them; the parts know each other only through their interfaces.
//
//   data-dir/member/wal   write-ahead log (storage/wal)
//   data-dir/member/kv    the store's backend (storage/mvcc, RocksDB)
//   data-dir/member/snap  temporary checkpoints for snapshot streams
#pragma once

#include <grpcpp/server.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "kv/server/config.h"

namespace grid::kv {

class KvServer {
 public:
  // Opens the member's state and starts serving. Logs the ready lines etcd's tooling waits for
  // ("enabled capabilities for version", "published", "ready to serve client requests").
  static Result<std::unique_ptr<KvServer>> Start(const ServerConfig& config);
  ~KvServer();

  // Client URLs actually bound (a port 0 in a listen URL is resolved here).
  const std::vector<std::string>& client_urls() const;

  // Blocks until Shutdown() is called from another thread, a fatal error stops the member, or
  // the member applied its own removal from the cluster.
  void Wait();
  // Stops serving: refuses new requests, fails pending ones, flushes, closes. Idempotent.
  void Shutdown();

  // The member's parts (opaque; defined in kv_server.cc).
  struct Parts;

 private:
  explicit KvServer(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

// Creates a member data dir from a snapshot file (`gridkv snapshot restore`): the backend
// from the snapshot, a fresh log for a new single-member cluster named by `config`.
Status RestoreFromSnapshot(const std::string& snapshot_path, const ServerConfig& config);

}  // namespace grid::kv

// mvcc_crash_writer DIR: writes to the store in DIR and is killed (SIGKILL) before it closes it,
// for durability_test. The key "durable" (consistent index 10) is flushed; "lost" (index 11)
// is not. Exits 1 with a message when a step fails.
#include <csignal>
#include <cstdio>

#include "storage/mvcc/store.h"

namespace {

bool WriteIndexed(grid::mvcc::Store& store, const char* key, uint64_t index) {
  auto batch = store.BeginBatch();
  batch->BeginTxn().Put(key, "v", 0);
  batch->EndTxn();
  batch->SetConsistentIndex(index);
  return batch->Commit().ok();
}

int Fail(const char* what) {
  std::fprintf(stderr, "mvcc_crash_writer: %s\n", what);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return Fail("usage: mvcc_crash_writer DIR");
  grid::mvcc::Options options;
  options.dir = argv[1];
  auto store = grid::mvcc::Store::Open(options);
  if (!store.ok()) return Fail("open failed");
  if (!WriteIndexed(**store, "durable", 10)) return Fail("first write failed");
  if (!(*store)->Flush().ok()) return Fail("flush failed");
  if (!WriteIndexed(**store, "lost", 11)) return Fail("second write failed");
  if ((*store)->ConsistentIndex() != 11) return Fail("consistent index is not 11");
  std::raise(SIGKILL);
  return Fail("still alive after SIGKILL");
}

#include "storage/mvcc/store_handle.h"

#include <atomic>
#include <utility>

#include "common/check.h"

namespace grid::mvcc {

// One store and what to do once it is closed. Destroyed when the handle and every call using it
// have let go; the destructor closes the store first, then runs the action.
struct StoreHandle::Slot {
  explicit Slot(std::unique_ptr<Store> s) : store(std::move(s)) {}
  ~Slot() {
    store.reset();
    if (after_closed) after_closed();
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

  std::unique_ptr<Store> store;
  // Set once by Replace, after the slot stopped being current; read only by the destructor,
  // which the shared_ptr's last release orders after that write.
  std::function<void()> after_closed;
  // Batches from BeginBatch() still alive (Replace requires none).
  std::atomic<int> open_batches{0};
};

// Keeps the slot (so the store) alive while the batch lives, and counts open batches.
class StoreHandle::HandleBatch final : public Batch {
 public:
  HandleBatch(std::shared_ptr<Slot> slot, std::unique_ptr<Batch> inner)
      : slot_(std::move(slot)), inner_(std::move(inner)) {
    slot_->open_batches.fetch_add(1);
  }
  ~HandleBatch() override {
    inner_.reset();  // before the store can close
    slot_->open_batches.fetch_sub(1);
  }

  WriteTxn& BeginTxn() override { return inner_->BeginTxn(); }
  void EndTxn() override { inner_->EndTxn(); }
  void PutMeta(std::string_view table, std::string_view key, std::string_view value) override {
    inner_->PutMeta(table, key, value);
  }
  void DeleteMeta(std::string_view table, std::string_view key) override {
    inner_->DeleteMeta(table, key);
  }
  void SetConsistentIndex(uint64_t index) override { inner_->SetConsistentIndex(index); }
  Result<std::vector<mvccpb::Event>> Commit() override { return inner_->Commit(); }

 private:
  std::shared_ptr<Slot> slot_;  // declared first: destroyed after inner_
  std::unique_ptr<Batch> inner_;
};

StoreHandle::StoreHandle(std::unique_ptr<Store> initial) {
  GRID_CHECK(initial != nullptr) << "StoreHandle: null initial store";
  current_ = std::make_shared<Slot>(std::move(initial));
}

StoreHandle::~StoreHandle() = default;

void StoreHandle::Replace(std::unique_ptr<Store> next, std::function<void()> after_old_closed) {
  GRID_CHECK(next != nullptr) << "StoreHandle: Replace with a null store";
  auto slot = std::make_shared<Slot>(std::move(next));
  std::shared_ptr<Slot> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    GRID_CHECK_EQ(current_->open_batches.load(), 0) << "StoreHandle: Replace with a batch open";
    old = std::exchange(current_, std::move(slot));
    ++replacements_;
  }
  old->after_closed = std::move(after_old_closed);
  // Runs ~Slot here unless a call still holds the old store; then the last one runs it.
  old.reset();
}

std::shared_ptr<StoreHandle::Slot> StoreHandle::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

std::shared_ptr<const Store> StoreHandle::Pin() const {
  std::shared_ptr<Slot> slot = Current();
  const Store* store = slot->store.get();
  return std::shared_ptr<const Store>(std::move(slot), store);
}

uint64_t StoreHandle::replacements() const {
  std::lock_guard<std::mutex> lock(mu_);
  return replacements_;
}

Result<RangeResult> StoreHandle::Range(std::string_view key, std::string_view end,
                                       const RangeOptions& options) const {
  return Current()->store->Range(key, end, options);
}

int64_t StoreHandle::CurrentRevision() const { return Current()->store->CurrentRevision(); }

int64_t StoreHandle::CompactedRevision() const { return Current()->store->CompactedRevision(); }

uint64_t StoreHandle::ConsistentIndex() const { return Current()->store->ConsistentIndex(); }

Result<std::vector<mvccpb::Event>> StoreHandle::EventsInRange(std::string_view key,
                                                              std::string_view end,
                                                              int64_t from_revision,
                                                              int64_t to_revision,
                                                              bool with_prev_kv) const {
  return Current()->store->EventsInRange(key, end, from_revision, to_revision, with_prev_kv);
}

std::unique_ptr<Batch> StoreHandle::BeginBatch() {
  std::shared_ptr<Slot> slot = Current();
  std::unique_ptr<Batch> inner = slot->store->BeginBatch();
  return std::make_unique<HandleBatch>(std::move(slot), std::move(inner));
}

Status StoreHandle::Compact(int64_t revision) { return Current()->store->Compact(revision); }

Result<std::vector<std::pair<std::string, std::string>>> StoreHandle::ReadMeta(
    std::string_view table) const {
  return Current()->store->ReadMeta(table);
}

Result<uint32_t> StoreHandle::HashBackend() const { return Current()->store->HashBackend(); }

Result<HashResult> StoreHandle::HashKV(int64_t revision) const {
  return Current()->store->HashKV(revision);
}

Status StoreHandle::Defragment() { return Current()->store->Defragment(); }

Status StoreHandle::Flush() { return Current()->store->Flush(); }

int64_t StoreHandle::DbSizeBytes() const { return Current()->store->DbSizeBytes(); }

int64_t StoreHandle::DbSizeInUseBytes() const { return Current()->store->DbSizeInUseBytes(); }

Status StoreHandle::Checkpoint(const std::string& dir) const {
  return Current()->store->Checkpoint(dir);
}

Status StoreHandle::ExportRaw(const RawVisitor& visit) const {
  return Current()->store->ExportRaw(visit);
}

}  // namespace grid::mvcc

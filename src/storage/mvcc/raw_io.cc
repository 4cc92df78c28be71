// Raw export (RocksStore::ExportRaw) and import (RawImporter) of a store's backend.
#include <filesystem>

#include <rocksdb/write_batch.h>

#include "storage/mvcc/revision.h"
#include "storage/mvcc/store_impl.h"

namespace grid::mvcc {
namespace {

bool IsMetaName(std::string_view name) {
  return name == kMetaConsistentIndex || name == kMetaScheduledCompact ||
         name == kMetaFinishedCompact;
}

std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

}  // namespace

Status RocksStore::ExportRaw(const RawVisitor& visit) const {
  // One RocksDB snapshot covers every family, so the records are those of one instant.
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* s;
    ~Release() { db->ReleaseSnapshot(s); }
  } release{db_.get(), snapshot};
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  ro.fill_cache = false;  // a full scan would evict the working set

  const std::pair<rocksdb::ColumnFamilyHandle*, RawFamily> families[] = {
      {key_cf_, RawFamily::kKey}, {meta_cf_, RawFamily::kMeta}, {side_cf_, RawFamily::kSide}};
  for (const auto& [cf, family] : families) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      RawRecord record;
      record.family = family;
      record.key = View(it->key());
      record.value = View(it->value());
      if (family == RawFamily::kSide) {
        const auto table_bytes = static_cast<uint8_t>(record.key.empty() ? 0 : record.key[0]);
        if (table_bytes == 0 || record.key.size() < 1u + table_bytes) {
          return Corruption("mvcc: bad side table key");
        }
        record.table = record.key.substr(1, table_bytes);
        record.key.remove_prefix(1u + table_bytes);
      }
      GRID_RETURN_IF_ERROR(visit(record));
    }
    GRID_RETURN_IF_ERROR(FromRocks(it->status(), "mvcc: export"));
  }
  return Status::Ok();
}

class RawImporterImpl final : public RawImporter {
 public:
  static Result<std::unique_ptr<RawImporter>> Make(const Options& options) {
    std::unique_ptr<RocksStore> store(new RocksStore(options));
    GRID_RETURN_IF_ERROR(store->OpenDb());
    return std::unique_ptr<RawImporter>(new RawImporterImpl(std::move(store)));
  }
  explicit RawImporterImpl(std::unique_ptr<RocksStore> store) : store_(std::move(store)) {}

  Status Add(const RawRecord& record) override {
    GRID_CHECK(!finished_) << "mvcc: Add after Finish";
    rocksdb::ColumnFamilyHandle* cf = nullptr;
    switch (record.family) {
      case RawFamily::kKey: {
        Revision rev;
        bool tombstone = false;
        if (!ParseRevisionKey(record.key, &rev, &tombstone)) {
          return Corruption("mvcc: import: bad revision key of " +
                            std::to_string(record.key.size()) + " bytes");
        }
        mvccpb::KeyValue kv;
        if (!kv.ParseFromArray(record.value.data(), static_cast<int>(record.value.size())) ||
            kv.key().empty()) {
          return Corruption("mvcc: import: undecodable KeyValue at revision " +
                            std::to_string(rev.main) + "/" + std::to_string(rev.sub));
        }
        cf = store_->key_cf_;
        break;
      }
      case RawFamily::kMeta:
        if (!IsMetaName(record.key) || record.value.size() != 8) {
          return Corruption("mvcc: import: bad meta record " + std::string(record.key));
        }
        cf = store_->meta_cf_;
        break;
      case RawFamily::kSide:
        if (record.table.empty() || record.table.size() > 255) {
          return Corruption("mvcc: import: bad side table name");
        }
        side_key_ = SideKeyPrefix(record.table);
        side_key_.append(record.key);
        GRID_RETURN_IF_ERROR(FromRocks(batch_.Put(store_->side_cf_, side_key_,
                                                  rocksdb::Slice(record.value.data(),
                                                                 record.value.size())),
                                       "mvcc: import"));
        return MaybeWrite();
    }
    GRID_RETURN_IF_ERROR(FromRocks(
        batch_.Put(cf, rocksdb::Slice(record.key.data(), record.key.size()),
                   rocksdb::Slice(record.value.data(), record.value.size())),
        "mvcc: import"));
    return MaybeWrite();
  }

  Status Finish() override {
    GRID_CHECK(!finished_) << "mvcc: Finish twice";
    finished_ = true;
    GRID_RETURN_IF_ERROR(Write());
    GRID_RETURN_IF_ERROR(
        FromRocks(store_->db_->Flush(rocksdb::FlushOptions(), store_->handles_), "mvcc: flush"));
    store_.reset();  // closes the backend
    return Status::Ok();
  }

 private:
  Status MaybeWrite() { return batch_.GetDataSize() >= kBatchBytes ? Write() : Status::Ok(); }
  Status Write() {
    if (batch_.Count() == 0) return Status::Ok();
    GRID_RETURN_IF_ERROR(store_->WriteToBackend(&batch_, "mvcc: import"));
    batch_.Clear();
    return Status::Ok();
  }

  std::unique_ptr<RocksStore> store_;
  rocksdb::WriteBatch batch_;
  std::string side_key_;
  bool finished_ = false;
};

Result<std::unique_ptr<RawImporter>> RawImporter::Create(const Options& options) {
  if (options.dir.empty()) return InvalidArgument("mvcc: empty store directory");
  std::error_code ec;
  if (std::filesystem::exists(options.dir, ec)) {
    return FailedPrecondition("mvcc: import target " + options.dir + " already exists");
  }
  return RawImporterImpl::Make(options);
}

}  // namespace grid::mvcc

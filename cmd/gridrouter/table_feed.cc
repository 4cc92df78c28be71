#include "table_feed.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>

#include "client/client.h"
#include "router/table/table_builder.h"
#include "router/table/yaml_source.h"
#include "router/watch/table_watcher.h"

namespace grid::router::cmd {
namespace {

size_t BackendCount(const table::RouteTable& table) {
  size_t n = 0;
  for (const auto& [name, cell] : table.parts().cells) {
    for (size_t g = 0; g < cell->group_count(); ++g) n += cell->group(g).backends().size();
  }
  return n;
}

void DescribeTable(const TablePtr& table, nlohmann::ordered_json* j) {
  if (table == nullptr) {
    (*j)["revision"] = 0;
    return;
  }
  (*j)["revision"] = table->revision();
  (*j)["cells"] = table->cell_count();
  (*j)["tenants"] = table->tenant_count();
  (*j)["backends"] = BackendCount(*table);
}

std::string TimeString(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  return std::to_string(ms.count());
}

class FileFeed : public TableFeed {
 public:
  FileFeed(std::string path, std::string prefix, PublishTable publish)
      : path_(std::move(path)), prefix_(std::move(prefix)), publish_(std::move(publish)) {}

  Status Start() override {
    auto table = Load(1);
    if (!table.ok()) return Status(table.status().code(), path_ + ": " + table.status().message());
    Serve(*table);
    return Status::Ok();
  }

  void Reload() override {
    const int64_t revision = Revision();
    auto next = Load(revision + 1);
    if (!next.ok()) {
      spdlog::error("reload {} refused, keeping revision {}: {}", path_, revision,
                    next.status().message());
      return;
    }
    Serve(*next);
    spdlog::info("reloaded {}: revision {}, {} cells, {} tenants", path_, revision + 1,
                 (*next)->cell_count(), (*next)->tenant_count());
  }

  nlohmann::ordered_json RoutesJson(const TablePtr& serving) const override {
    nlohmann::ordered_json j;
    DescribeTable(serving, &j);
    j["source"] = path_;
    return j;
  }

  void Stop() override {}

 private:
  Result<TablePtr> Load(int64_t revision) const {
    GRID_ASSIGN_OR_RETURN(table::TableSource source, table::LoadYamlFile(path_, prefix_));
    return table::BuildTable(source, revision);
  }
  void Serve(TablePtr table) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      current_ = table;
    }
    publish_(table);
  }
  TablePtr Current() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  int64_t Revision() const {
    TablePtr t = Current();
    return t == nullptr ? 0 : t->revision();
  }

  const std::string path_;
  const std::string prefix_;
  const PublishTable publish_;
  mutable std::mutex mu_;
  TablePtr current_;  // guarded by mu_
};

class StoreFeed : public TableFeed {
 public:
  StoreFeed(StoreFeedOptions options, PublishTable publish)
      : options_(std::move(options)), publish_(std::move(publish)) {}

  Status Start() override {
    client::ClientOptions client_options;
    client_options.dial_timeout = std::chrono::milliseconds(0);  // start while the store is down
    client_options.call_timeout = options_.call_timeout;
    GRID_ASSIGN_OR_RETURN(std::unique_ptr<client::Client> client,
                          client::Client::Connect(options_.endpoints, client_options));
    watch::TableWatcherOptions w;
    w.prefix = options_.prefix;
    w.cache_path = options_.cache_path;
    w.callbacks.on_table = [this](const TablePtr& table, watch::TableOrigin origin) {
      spdlog::info("routes revision {} from the {}: {} cells, {} tenants", table->revision(),
                   watch::TableOriginName(origin), table->cell_count(), table->tenant_count());
      serving_revision_.store(table->revision(), std::memory_order_relaxed);
      publish_(table);
    };
    w.callbacks.on_refused = [this](int64_t revision, const Status& error) {
      spdlog::error("routes at store revision {} refused, keeping revision {}: {}", revision,
                    serving_revision_.load(std::memory_order_relaxed), error.message());
    };
    w.callbacks.on_connection = [](bool connected) {
      if (connected) {
        spdlog::info("store reachable");
      } else {
        spdlog::warn("store unreachable: serving the last table");
      }
    };
    GRID_ASSIGN_OR_RETURN(watcher_, watch::TableWatcher::Start(
                                        std::shared_ptr<client::Client>(std::move(client)), w));
    return Status::Ok();
  }

  void Reload() override { spdlog::info("SIGHUP ignored: the table follows the store"); }

  // The watcher's own table can be ahead of `serving` (it is swapped before the proxy's), so
  // the revision reported is the proxy's.
  nlohmann::ordered_json RoutesJson(const TablePtr& serving) const override {
    nlohmann::ordered_json j;
    DescribeTable(serving, &j);
    j["source"] = "store";
    j["prefix"] = options_.prefix;
    if (watcher_ == nullptr) return j;
    const watch::WatcherStatus s = watcher_->Status();
    j["origin"] = watch::TableOriginName(s.serving_origin);
    j["store_revision"] = s.store_revision;
    j["connected"] = s.connected;
    j["swaps"] = s.swaps;
    j["reloads"] = s.reloads;
    j["last_update_ms"] = TimeString(s.last_update);
    if (!s.store_error.ok()) j["store_error"] = s.store_error.message();
    if (!s.cache_error.ok()) j["cache_error"] = s.cache_error.message();
    if (s.refused) {
      j["refused"] = {{"revision", s.refused->revision}, {"error", s.refused->error.message()}};
    }
    if (s.last_refused) {
      j["last_refused"] = {{"revision", s.last_refused->revision},
                           {"error", s.last_refused->error.message()}};
    }
    return j;
  }

  void Stop() override {
    if (watcher_ != nullptr) watcher_->Stop();
  }

 private:
  const StoreFeedOptions options_;
  const PublishTable publish_;
  std::atomic<int64_t> serving_revision_{0};  // for log lines on the watcher thread
  std::unique_ptr<watch::TableWatcher> watcher_;  // set by Start(), before the admin starts
};

}  // namespace

std::unique_ptr<TableFeed> MakeFileFeed(std::string path, std::string prefix,
                                        PublishTable publish) {
  return std::make_unique<FileFeed>(std::move(path), std::move(prefix), std::move(publish));
}

std::unique_ptr<TableFeed> MakeStoreFeed(StoreFeedOptions options, PublishTable publish) {
  return std::make_unique<StoreFeed>(std::move(options), std::move(publish));
}

}  // namespace grid::router::cmd

#include "router/net/address_book.h"

#include <atomic>
#include <cstring>

namespace grid::router::net {

namespace {

std::atomic<uint64_t> next_generation{1};

}  // namespace

AddressBook::AddressBook() : generation_(next_generation.fetch_add(1, std::memory_order_relaxed)) {}

std::shared_ptr<const AddressBook> AddressBook::Build(const std::vector<std::string>& addresses,
                                                      const ResolveFn& resolve,
                                                      const AddressBook* previous) {
  std::shared_ptr<AddressBook> book(new AddressBook());
  for (const std::string& text : addresses) {
    if (book->entries_.count(text) != 0) continue;
    Entry entry{Status(Code::kInternal, "unset"), false};
    bool copied = false;
    if (previous != nullptr) {
      if (auto it = previous->entries_.find(text); it != previous->entries_.end()) {
        entry = it->second;
        copied = true;
      }
    }
    if (!copied) {
      Result<SocketAddress> numeric = ParseSocketAddress(text);
      entry.is_name = !numeric.ok();
      entry.address = numeric.ok() ? std::move(numeric) : resolve(text);
    }
    book->has_names_ = book->has_names_ || entry.is_name;
    book->entries_.emplace(text, std::move(entry));
  }
  return book;
}

std::shared_ptr<const AddressBook> AddressBook::Refreshed(const ResolveFn& resolve) const {
  if (!has_names_) return nullptr;
  std::shared_ptr<AddressBook> book(new AddressBook());
  book->has_names_ = true;
  bool changed = false;
  for (const auto& [text, entry] : entries_) {
    Entry fresh = entry;
    if (entry.is_name) {
      fresh.address = resolve(text);
      changed = changed || !SameResolution(fresh.address, entry.address);
    }
    book->entries_.emplace(text, std::move(fresh));
  }
  if (!changed) return nullptr;
  return book;
}

const Result<SocketAddress>* AddressBook::Find(std::string_view text) const {
  auto it = entries_.find(text);
  return it == entries_.end() ? nullptr : &it->second.address;
}

bool SameResolution(const Result<SocketAddress>& a, const Result<SocketAddress>& b) {
  if (a.ok() != b.ok()) return false;
  if (!a.ok()) return a.status().message() == b.status().message();
  const SocketAddress& x = a.value();
  const SocketAddress& y = b.value();
  return x.length == y.length && std::memcmp(&x.storage, &y.storage, x.length) == 0;
}

}  // namespace grid::router::net

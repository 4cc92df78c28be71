// Backend addresses resolved ahead of use, so no proxy loop ever waits on DNS.
//
// An AddressBook maps address texts ("10.0.0.7:8080", "cell-a.internal:8080") to what they
// resolved to when the book was built: numeric addresses are parsed, DNS names resolved once
// (blocking) by whoever builds the book, a thread that is not a proxy loop. A book is
// immutable; a newer one replaces it (new table, or a periodic re-resolution found a change).
//
// Thread-safety: a built book is read-only, so any thread may read it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "router/net/socket.h"

namespace grid::router::net {

// Resolves one "host:port" text. ResolveSocketAddress by default; tests substitute their own.
using ResolveFn = std::function<Result<SocketAddress>(std::string_view text)>;

class AddressBook {
 public:
  // Resolves each distinct text of `addresses` with `resolve` (blocking for DNS names).
  // Texts `previous` (may be null) holds are copied from it, not resolved again: a new table
  // costs DNS lookups only for names it adds; Refreshed() is what re-resolves names. The
  // size is bounded by the table's limits (cells x backends per cell).
  static std::shared_ptr<const AddressBook> Build(const std::vector<std::string>& addresses,
                                                  const ResolveFn& resolve,
                                                  const AddressBook* previous = nullptr);

  // The same texts resolved again; returns nullptr when every entry resolved as before
  // (same address, or the same error text), so the caller keeps the old book.
  std::shared_ptr<const AddressBook> Refreshed(const ResolveFn& resolve) const;

  // What `text` resolved to; nullptr when the book does not hold it.
  const Result<SocketAddress>* Find(std::string_view text) const;

  // Whether any entry is a DNS name (only those can change on a refresh).
  bool has_names() const { return has_names_; }
  size_t size() const { return entries_.size(); }
  // Distinct per book built in this process (1, 2, ...): a cheap "is this still the book I
  // saw" check for the loops.
  uint64_t generation() const { return generation_; }

 private:
  struct Entry {
    Result<SocketAddress> address;
    bool is_name = false;  // needed DNS
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };

  AddressBook();

  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
  bool has_names_ = false;
  uint64_t generation_ = 0;
};

// Whether two resolutions are the same address (bytes of the socket address), or both failed.
bool SameResolution(const Result<SocketAddress>& a, const Result<SocketAddress>& b);

}  // namespace grid::router::net
